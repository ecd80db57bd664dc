import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { Transform, type Readable } from 'node:stream';
import { isTreeHashAligned, treeHash, MIB } from '../../verify/tree-hash.js';
import { SimError, parseRange, sendEmpty, sendJson, type FaultErrors, type Route, type SimRequest, type SimService } from '../http.js';
import { TokenBucket } from '../token-bucket.js';
import type { SimWorld } from '../world.js';
import { BufferContent } from './archives.js';
import { GlacierStore, TIERS, type GlacierOptions, type Job, type Tier, type Vault } from './store.js';
import type { InventoryFormat } from './inventory.js';
import { parseInventoryRange } from './inventory-range.js';

export type { GlacierOptions } from './store.js';

type Handler = (req: SimRequest, res: ServerResponse, params: string[]) => Promise<void> | void;

/**
 * Amazon S3 Glacier's REST-JSON API: vaults, archive upload (single and multipart), inventory and archive
 * retrieval jobs with tiers, byte ranges, tree hashes, output windows and SNS notifications.
 */
export class GlacierService implements SimService {
  readonly name = 'glacier';
  readonly store: GlacierStore;
  /** The InitiateJob rate limit, when one is set; `refused` counts the requests it throttled */
  readonly initiateJobLimit?: TokenBucket;
  private readonly routes: { method: string; pattern: RegExp; operation: string; handler: Handler }[] = [];

  constructor(
    readonly world: SimWorld,
    options: GlacierOptions,
  ) {
    this.store = new GlacierStore(world, options);
    if (options.initiateJobRate) {
      const { perSecond, burst = Math.max(1, perSecond) } = options.initiateJobRate;
      this.initiateJobLimit = new TokenBucket(perSecond, burst);
    }
    const v = '/([^/]+)/vaults/([^/]+)';
    this.add('GET', '/([^/]+)/vaults', 'ListVaults', (q, r) => this.listVaults(q, r));
    this.add('PUT', v, 'CreateVault', (q, r, p) => this.createVault(q, r, p));
    this.add('GET', v, 'DescribeVault', (q, r, p) => sendJson(r, 200, this.vaultDocument(this.vault(q, p))));
    this.add('DELETE', v, 'DeleteVault', (q, r, p) => {
      this.store.deleteVault(q.region, p[1]!);
      sendEmpty(r, 204);
    });
    this.add('POST', `${v}/archives`, 'UploadArchive', (q, r, p) => this.uploadArchive(q, r, p));
    this.add('DELETE', `${v}/archives/([^/]+)`, 'DeleteArchive', (q, r, p) => {
      const vault = this.vault(q, p);
      if (!vault.archives.delete(p[1]!)) throw new SimError(404, "ResourceNotFoundException", `Archive not found: ${p[1]}`);
      sendEmpty(r, 204);
    });
    this.add('POST', `${v}/multipart-uploads`, 'InitiateMultipartUpload', (q, r, p) => this.initiateUpload(q, r, p));
    this.add('GET', `${v}/multipart-uploads`, 'ListMultipartUploads', (q, r, p) => this.listUploads(q, r, p));
    this.add('PUT', `${v}/multipart-uploads/([^/]+)`, 'UploadMultipartPart', (q, r, p) => this.uploadPart(q, r, p));
    this.add('GET', `${v}/multipart-uploads/([^/]+)`, 'ListParts', (q, r, p) => this.listParts(q, r, p));
    this.add('POST', `${v}/multipart-uploads/([^/]+)`, 'CompleteMultipartUpload', (q, r, p) => this.completeUpload(q, r, p));
    this.add('DELETE', `${v}/multipart-uploads/([^/]+)`, 'AbortMultipartUpload', (q, r, p) => {
      this.upload(this.vault(q, p), p[1]!);
      this.vault(q, p).uploads.delete(p[1]!);
      sendEmpty(r, 204);
    });
    this.add('POST', `${v}/jobs`, 'InitiateJob', (q, r, p) => this.initiateJob(q, r, p));
    this.add('GET', `${v}/jobs`, 'ListJobs', (q, r, p) => this.listJobs(q, r, p));
    this.add('GET', `${v}/jobs/([^/]+)`, 'DescribeJob', (q, r, p) => {
      const vault = this.vault(q, p);
      sendJson(r, 200, this.jobDocument(this.store.getJob(vault, p[1]!)));
    });
    this.add('GET', `${v}/jobs/([^/]+)/output`, 'GetJobOutput', (q, r, p) => this.getJobOutput(q, r, p));
    this.add('GET', `${v}/notification-configuration`, 'GetVaultNotifications', (q, r, p) => {
      const vault = this.vault(q, p);
      if (!vault.notification) throw new SimError(404, 'ResourceNotFoundException', `No notification configuration is set for vault: ${vault.arn}`);
      sendJson(r, 200, vault.notification);
    });
    this.add('PUT', `${v}/notification-configuration`, 'SetVaultNotifications', async (q, r, p) => {
      const vault = this.vault(q, p);
      const config = JSON.parse((await q.body()).toString() || '{}') as { SNSTopic?: string; Events?: string[] };
      if (!config.SNSTopic) throw new SimError(400, 'InvalidParameterValueException', 'SNSTopic is required');
      vault.notification = { SNSTopic: config.SNSTopic, Events: config.Events ?? [] };
      sendEmpty(r, 204);
    });
    this.add('DELETE', `${v}/notification-configuration`, 'DeleteVaultNotifications', (q, r, p) => {
      delete this.vault(q, p).notification;
      sendEmpty(r, 204);
    });
    this.add('GET', '/([^/]+)/policies/data-retrieval', 'GetDataRetrievalPolicy', (_q, r) =>
      sendJson(r, 200, { Policy: this.store.policy }),
    );
    this.add('PUT', '/([^/]+)/policies/data-retrieval', 'SetDataRetrievalPolicy', async (q, r) => {
      const body = JSON.parse((await q.body()).toString() || '{}') as { Policy?: GlacierStore['policy'] };
      if (!body.Policy?.Rules?.length) throw new SimError(400, 'InvalidParameterValueException', 'Policy.Rules is required');
      this.store.policy = body.Policy;
      sendEmpty(r, 204);
    });
  }

  private add(method: string, path: string, operation: string, handler: Handler) {
    this.routes.push({ method, pattern: new RegExp(`^${path}/?$`), operation, handler });
  }

  route(req: SimRequest): Route {
    for (const r of this.routes) {
      if (r.method !== req.method) continue;
      const m = r.pattern.exec(req.rawPath);
      if (!m) continue;
      const params = m.slice(1).map((s) => decodeURIComponent(s));
      if (params[0] !== '-' && params[0] !== this.world.accountId) {
        throw new SimError(403, 'AccessDeniedException', `Access denied for account ${params[0]}`);
      }
      return { operation: r.operation, handle: (q, res) => r.handler(q, res, params.slice(1)) };
    }
    throw new SimError(400, 'InvalidParameterValueException', `No Glacier operation for ${req.method} ${req.rawPath}`);
  }

  sendError(res: ServerResponse, err: SimError): void {
    const type = err.status >= 500 ? 'Server' : 'Client';
    sendJson(res, err.status, { code: err.code, message: err.message, type }, err.headers);
  }

  readonly faultErrors: FaultErrors = {
    throttle: () => throttlingError(),
    '500': () => new SimError(500, 'ServiceUnavailableException', 'Internal failure, please retry'),
    '503': () => new SimError(503, 'ServiceUnavailableException', 'Service unavailable, please retry'),
    auth: () => new SimError(403, 'ExpiredTokenException', 'The security token included in the request is expired'),
  };

  private vault(req: SimRequest, params: string[]): Vault {
    return this.store.getVault(req.region, params[0]!);
  }

  /** What DescribeVault and ListVaults say: the counts are those of the last inventory, null before the first. */
  private vaultDocument(vault: Vault) {
    const { inventory } = vault;
    return {
      VaultARN: vault.arn,
      VaultName: vault.name,
      CreationDate: vault.creationDate,
      LastInventoryDate: inventory?.date ?? null,
      NumberOfArchives: inventory?.archives ?? null,
      SizeInBytes: inventory?.bytes ?? null,
    };
  }

  private createVault(req: SimRequest, res: ServerResponse, params: string[]) {
    const vault = this.store.createVault(req.region, params[0]!);
    sendEmpty(res, 201, { location: `/${this.world.accountId}/vaults/${encodeURIComponent(vault.name)}` });
  }

  private listVaults(req: SimRequest, res: ServerResponse) {
    const all = this.store.listVaults(req.region).map((v) => this.vaultDocument(v));
    const page = paginate(all, req.query, (v) => v.VaultARN, 10);
    sendJson(res, 200, { VaultList: page.items, Marker: page.marker });
  }

  private async uploadArchive(req: SimRequest, res: ServerResponse, params: string[]) {
    const vault = this.vault(req, params);
    const data = await req.body();
    checkTreeHash(req, data);
    const archive = this.store.addArchive(vault, archiveDescription(req), new BufferContent(data));
    sendEmpty(res, 201, archiveCreatedHeaders(vault, archive.id, archive.content.treeHash()));
  }

  private initiateUpload(req: SimRequest, res: ServerResponse, params: string[]) {
    const vault = this.vault(req, params);
    const partSize = Number(req.headers['x-amz-part-size']);
    if (!isPowerOfTwoMiB(partSize) || partSize > 4096 * MIB) {
      throw new SimError(400, 'InvalidParameterValueException', `Invalid part size: ${req.headers['x-amz-part-size']}`);
    }
    const id = randomBytes(69).toString('base64url');
    vault.uploads.set(id, {
      id,
      description: archiveDescription(req),
      partSize,
      creationDate: this.world.clock.now().toISOString(),
      parts: new Map(),
    });
    sendEmpty(res, 201, {
      location: `/${this.world.accountId}/vaults/${encodeURIComponent(vault.name)}/multipart-uploads/${id}`,
      'x-amz-multipart-upload-id': id,
    });
  }

  private upload(vault: Vault, id: string) {
    const upload = vault.uploads.get(id);
    if (!upload) throw new SimError(404, 'ResourceNotFoundException', `Multipart upload not found: ${id}`);
    return upload;
  }

  private async uploadPart(req: SimRequest, res: ServerResponse, params: string[]) {
    const upload = this.upload(this.vault(req, params), params[1]!);
    const data = await req.body();
    const m = /^bytes (\d+)-(\d+)\/\*$/.exec(String(req.headers['content-range'] ?? ''));
    if (!m) throw new SimError(400, 'InvalidParameterValueException', `Invalid Content-Range: ${req.headers['content-range']}`);
    const start = Number(m[1]);
    const end = Number(m[2]);
    if (start % upload.partSize !== 0 || end - start + 1 !== data.length || data.length > upload.partSize) {
      throw new SimError(400, 'InvalidParameterValueException', `Content-Range ${m[0]} does not fit part size ${upload.partSize}`);
    }
    const hash = checkTreeHash(req, data);
    upload.parts.set(start / upload.partSize, { data, treeHash: hash });
    sendEmpty(res, 204, { 'x-amz-sha256-tree-hash': hash });
  }

  private completeUpload(req: SimRequest, res: ServerResponse, params: string[]) {
    const vault = this.vault(req, params);
    const upload = this.upload(vault, params[1]!);
    const size = Number(req.headers['x-amz-archive-size']);
    const indexes = [...upload.parts.keys()].sort((a, b) => a - b);
    const data = Buffer.concat(indexes.map((i) => upload.parts.get(i)!.data));
    const contiguous = indexes.every((p, i) => p === i) && indexes.slice(0, -1).every((i) => upload.parts.get(i)!.data.length === upload.partSize);
    if (!contiguous || data.length !== size) {
      throw new SimError(400, 'InvalidParameterValueException', `Archive size ${size} does not match the uploaded parts (${data.length} bytes)`);
    }
    const hash = checkTreeHash(req, data);
    const archive = this.store.addArchive(vault, upload.description, new BufferContent(data));
    vault.uploads.delete(upload.id);
    sendEmpty(res, 201, archiveCreatedHeaders(vault, archive.id, hash));
  }

  private listUploads(req: SimRequest, res: ServerResponse, params: string[]) {
    const vault = this.vault(req, params);
    const all = [...vault.uploads.values()].map((u) => ({
      MultipartUploadId: u.id,
      VaultARN: vault.arn,
      ArchiveDescription: u.description,
      PartSizeInBytes: u.partSize,
      CreationDate: u.creationDate,
    }));
    const page = paginate(all, req.query, (u) => u.MultipartUploadId, 50);
    sendJson(res, 200, { UploadsList: page.items, Marker: page.marker });
  }

  private listParts(req: SimRequest, res: ServerResponse, params: string[]) {
    const vault = this.vault(req, params);
    const upload = this.upload(vault, params[1]!);
    const all = [...upload.parts.entries()]
      .sort(([a], [b]) => a - b)
      .map(([i, p]) => ({
        RangeInBytes: `${i * upload.partSize}-${i * upload.partSize + p.data.length - 1}`,
        SHA256TreeHash: p.treeHash,
      }));
    const page = paginate(all, req.query, (p) => p.RangeInBytes, 50);
    sendJson(res, 200, {
      MultipartUploadId: upload.id,
      VaultARN: vault.arn,
      ArchiveDescription: upload.description,
      PartSizeInBytes: upload.partSize,
      CreationDate: upload.creationDate,
      Parts: page.items,
      Marker: page.marker,
    });
  }

  private async initiateJob(req: SimRequest, res: ServerResponse, params: string[]) {
    if (this.initiateJobLimit && !this.initiateJobLimit.take()) throw throttlingError();
    const vault = this.vault(req, params);
    const body = JSON.parse((await req.body()).toString() || '{}') as Record<string, unknown>;
    const type = body.Type;
    const tier = (body.Tier ?? 'Standard') as Tier;
    if (!TIERS.includes(tier)) throw new SimError(400, 'InvalidParameterValueException', `Invalid tier: ${String(tier)}`);
    const job: Job = {
      id: vault.jobs.newId(),
      vault,
      action: 'InventoryRetrieval',
      description: typeof body.Description === 'string' ? body.Description : undefined,
      tier,
      snsTopic: typeof body.SNSTopic === 'string' ? body.SNSTopic : undefined,
      creationDate: this.world.clock.now().toISOString(),
      status: 'InProgress',
      expiresEarly: false,
    };
    if (type === 'inventory-retrieval') {
      const format = (body.Format ?? 'JSON') as InventoryFormat;
      if (format !== 'JSON' && format !== 'CSV') throw new SimError(400, 'InvalidParameterValueException', `Invalid format: ${String(format)}`);
      job.inventoryFormat = format;
      this.store.lastInventory(vault); // refused before the vault's first inventory
      job.inventoryRange = parseInventoryRange(body.InventoryRetrievalParameters);
    } else if (type === 'archive-retrieval') {
      const archive = vault.archives.get(String(body.ArchiveId));
      if (!archive) throw new SimError(404, 'ResourceNotFoundException', `Archive not found: ${String(body.ArchiveId)}`);
      job.action = 'ArchiveRetrieval';
      job.archive = archive;
      job.range = retrievalRange(body.RetrievalByteRange, archive.content.size);
      this.checkTierLimits(req, tier, job.range.end - job.range.start + 1);
      if (this.takeFault(req, 'expire')) job.expiresEarly = true;
    } else {
      throw new SimError(400, 'InvalidParameterValueException', `Invalid job type: ${String(type)}`);
    }
    if (this.takeFault(req, 'fail')) job.failure = 'Retrieval of the job output failed (simulated failure); initiate a new job';
    this.store.startJob(job, (j) => this.notify(j));
    sendEmpty(res, 202, {
      location: `/${this.world.accountId}/vaults/${encodeURIComponent(vault.name)}/jobs/${job.id}`,
      'x-amz-job-id': job.id,
    });
  }

  /**
   * What only some tiers meet: a data retrieval policy applies to Standard retrievals only (developer guide, Data
   * Retrieval Policies), and InsufficientCapacityException to Expedited ones only (API reference, Error Responses).
   */
  private checkTierLimits(req: SimRequest, tier: Tier, bytes: number): void {
    if (tier === 'Expedited' && this.takeFault(req, 'capacity')) {
      throw new SimError(400, 'InsufficientCapacityException', 'There is insufficient capacity to process this expedited request. Try again later.');
    }
    if (tier !== 'Standard') return;
    if (this.takeFault(req, 'policy')) {
      throw new SimError(400, 'PolicyEnforcedException', 'InitiateJob request denied by current data retrieval policy.');
    }
    this.store.checkRetrievalPolicy(bytes);
  }

  /** Whether a fault rolled for this InitiateJob takes effect (counted when it does). */
  private takeFault(req: SimRequest, kind: 'expire' | 'fail' | 'policy' | 'capacity'): boolean {
    if (!req.faults.has(kind)) return false;
    this.world.faults.count('glacier', 'InitiateJob', kind);
    return true;
  }

  /** Publishes the DescribeJob document to the job's topic and the vault's, as Glacier does on completion. */
  private notify(job: Job) {
    const event = job.action === 'ArchiveRetrieval' ? 'ArchiveRetrievalCompleted' : 'InventoryRetrievalCompleted';
    const topics = new Set<string>();
    if (job.snsTopic) topics.add(job.snsTopic);
    if (job.vault.notification?.Events.includes(event)) topics.add(job.vault.notification.SNSTopic);
    if (topics.size === 0) return;
    const faults = this.world.faults.roll('glacier', 'JobNotification');
    if (faults.has('drop')) {
      this.world.faults.count('glacier', 'JobNotification', 'drop');
      return;
    }
    const copies = faults.has('duplicate') ? 2 : 1;
    if (copies === 2) this.world.faults.count('glacier', 'JobNotification', 'duplicate');
    const message = JSON.stringify(this.jobDocument(job));
    for (const topic of topics) {
      for (let i = 0; i < copies; i++) this.world.sns.publish(topic, message, 'Notification From Glacier');
    }
  }

  private jobDocument(job: Job) {
    const done = job.status !== 'InProgress';
    const archive = job.archive;
    let rangeHash: string | null = null;
    if (archive && done && job.range) {
      const { start, end } = job.range;
      const size = archive.content.size;
      if (size === 0 || (start === 0 && end === size - 1)) rangeHash = archive.content.treeHash();
      else if (isTreeHashAligned(start, end, size)) rangeHash = archive.content.rangeTreeHash(start, end);
    }
    return {
      JobId: job.id,
      JobDescription: job.description ?? null,
      Action: job.action,
      ArchiveId: archive?.id ?? null,
      VaultARN: job.vault.arn,
      CreationDate: job.creationDate,
      Completed: done,
      StatusCode: job.status,
      StatusMessage: done ? (job.failure ?? job.status) : null,
      ArchiveSizeInBytes: archive?.content.size ?? null,
      InventorySizeInBytes: job.inventory?.size ?? null,
      SNSTopic: job.snsTopic ?? null,
      CompletionDate: job.completionDate ?? null,
      SHA256TreeHash: rangeHash,
      ArchiveSHA256TreeHash: archive?.content.treeHash() ?? null,
      RetrievalByteRange: job.range && archive!.content.size > 0 ? `${job.range.start}-${job.range.end}` : null,
      Tier: job.tier,
      InventoryRetrievalParameters: job.inventoryFormat ? this.inventoryParameters(job) : null,
    };
  }

  /** As given, except that a completed job's Marker is where the next range inventory would continue (null: nothing left). */
  private inventoryParameters(job: Job) {
    const marker = job.status === 'Succeeded' ? (job.nextMarker ?? null) : job.inventoryRange!.Marker;
    return { Format: job.inventoryFormat, ...job.inventoryRange, Marker: marker };
  }

  /** Walks the vault's jobs from the marker, so a page costs its own length, not the whole list's. */
  private listJobs(req: SimRequest, res: ServerResponse, params: string[]) {
    const vault = this.vault(req, params);
    const completed = req.query.get('completed');
    const status = req.query.get('statuscode');
    if (completed !== null && completed !== 'true' && completed !== 'false') {
      throw new SimError(400, 'InvalidParameterValueException', `Invalid completed value: ${completed} (true or false)`);
    }
    if (status !== null && !JOB_STATUSES.includes(status)) {
      throw new SimError(400, 'InvalidParameterValueException', `Invalid statuscode: ${status} (one of ${JOB_STATUSES.join(', ')})`);
    }
    const limit = pageLimit(req.query, MAX_JOBS_PER_PAGE, MAX_JOBS_PER_PAGE);
    const marker = req.query.get('marker') ?? undefined;
    if (marker !== undefined && !vault.jobs.isMarker(marker)) throw new SimError(400, 'InvalidParameterValueException', `Invalid marker: ${marker}`);
    const page: Job[] = [];
    let next: string | null = null;
    for (const j of vault.jobs.values(marker)) {
      if (this.store.isExpired(j)) continue;
      if (completed !== null && String(j.status !== 'InProgress') !== completed) continue;
      if (status !== null && j.status !== status) continue;
      if (page.length === limit) {
        next = j.id;
        break;
      }
      page.push(j);
    }
    sendJson(res, 200, { JobList: page.map((j) => this.jobDocument(j)), Marker: next });
  }

  private getJobOutput(req: SimRequest, res: ServerResponse, params: string[]) {
    const vault = this.vault(req, params);
    const job = this.store.getJob(vault, params[1]!);
    if (job.status !== 'Succeeded') {
      throw new SimError(400, 'InvalidParameterValueException', `The job is not currently available for download: ${job.id}`);
    }
    const outputSize = job.inventory ? job.inventory.size : job.range!.end - job.range!.start + 1;
    const range = outputSize > 0 ? parseRange(req.headers.range, outputSize) : undefined;
    const start = range?.start ?? 0;
    const end = range?.end ?? outputSize - 1;
    const headers: Record<string, string> = {
      'content-length': String(end - start + 1),
      'accept-ranges': 'bytes',
    };
    if (range) headers['content-range'] = `bytes ${start}-${end}/${outputSize}`;
    let body: Readable;
    if (job.inventory) {
      headers['content-type'] = job.inventory.format === 'CSV' ? 'text/csv' : 'application/json';
      body = job.inventory.read(start, end);
    } else {
      const archive = job.archive!;
      const absStart = job.range!.start + start;
      const absEnd = job.range!.start + end;
      headers['content-type'] = 'application/octet-stream';
      headers['x-amz-archive-description'] = archive.description;
      if (archive.content.size === 0) headers['x-amz-sha256-tree-hash'] = archive.content.treeHash();
      else if (isTreeHashAligned(absStart, absEnd, archive.content.size)) {
        headers['x-amz-sha256-tree-hash'] = archive.content.rangeTreeHash(absStart, absEnd);
      }
      body = archive.content.read(absStart, absEnd);
    }
    res.writeHead(range ? 206 : 200, headers);
    this.streamWithFaults(req, body, res, end - start + 1);
  }

  /** Streams an output body, flipping a byte ('corrupt') or cutting the connection halfway ('reset'). */
  private streamWithFaults(req: SimRequest, body: Readable, res: ServerResponse, length: number) {
    const cutAt = req.faults.has('reset') && length > 0 ? Math.floor(length / 2) : -1;
    const flipAt = req.faults.has('corrupt') && length > 0 ? Math.floor(length / 3) : -1;
    // A body that fails midway (a simulator bug) cuts the connection, as a server failing mid-response would.
    body.once('error', (err) => {
      this.world.log.error({ err }, 'job output failed mid-body');
      res.destroy();
    });
    if (cutAt >= 0) this.world.faults.count('glacier', 'GetJobOutput', 'reset');
    if (flipAt >= 0) this.world.faults.count('glacier', 'GetJobOutput', 'corrupt');
    if (cutAt < 0 && flipAt < 0) {
      body.pipe(res);
      return;
    }
    let offset = 0;
    const faulty = new Transform({
      transform(chunk: Buffer, _enc, done) {
        let out = chunk;
        if (flipAt >= offset && flipAt < offset + chunk.length) {
          out = Buffer.from(chunk);
          out[flipAt - offset] ^= 0xff;
        }
        if (cutAt >= 0 && offset + chunk.length > cutAt) {
          this.push(out.subarray(0, cutAt - offset));
          offset += chunk.length;
          // Let the partial body reach the socket before the connection is destroyed.
          setImmediate(() => res.destroy());
          body.unpipe(faulty);
          return done();
        }
        offset += chunk.length;
        done(null, out);
      },
    });
    body.pipe(faulty).pipe(res);
  }
}

function archiveDescription(req: SimRequest): string {
  const raw = req.headers['x-amz-archive-description'];
  const description = Array.isArray(raw) ? raw.join(',') : (raw ?? '');
  if (description.length > 1024 || /[^\x20-\x7e]/.test(description)) {
    throw new SimError(400, 'InvalidParameterValueException', 'Invalid archive description: at most 1024 printable ASCII characters');
  }
  return description;
}

function archiveCreatedHeaders(vault: Vault, archiveId: string, hash: string): Record<string, string> {
  return {
    location: `/${vault.arn.split(':')[4]}/vaults/${encodeURIComponent(vault.name)}/archives/${archiveId}`,
    'x-amz-archive-id': archiveId,
    'x-amz-sha256-tree-hash': hash,
  };
}

/** Glacier requires the tree hash of uploaded bytes and rejects a mismatch. Returns the computed hash. */
function checkTreeHash(req: SimRequest, data: Buffer): string {
  const claimed = req.headers['x-amz-sha256-tree-hash'];
  const actual = treeHash(data).toString('hex');
  if (typeof claimed !== 'string') {
    throw new SimError(400, 'MissingParameterValueException', 'Required header x-amz-sha256-tree-hash is missing');
  }
  if (claimed.toLowerCase() !== actual) {
    throw new SimError(400, 'InvalidParameterValueException', `Checksum mismatch: expected ${claimed} but calculated ${actual}`);
  }
  return actual;
}

function isPowerOfTwoMiB(n: number): boolean {
  return Number.isInteger(n) && n >= MIB && n % MIB === 0 && ((n / MIB) & (n / MIB - 1)) === 0;
}

/**
 * Validates `RetrievalByteRange` "start-end": start a multiple of 1 MiB, end+1 a multiple of 1 MiB or the
 * last byte of the archive. Absent means the whole archive.
 */
function retrievalRange(value: unknown, size: number): { start: number; end: number } {
  if (value === undefined || value === null) return { start: 0, end: size - 1 };
  const m = /^(\d+)-(\d+)$/.exec(String(value));
  const start = Number(m?.[1]);
  const end = Number(m?.[2]);
  const ok = m && start <= end && end < size && start % MIB === 0 && ((end + 1) % MIB === 0 || end === size - 1);
  if (!ok) {
    throw new SimError(400, 'InvalidParameterValueException', `Invalid RetrievalByteRange: ${String(value)} (archive size ${size})`);
  }
  return { start, end };
}

/** Marker pagination as Glacier does it: `marker` is the key of the first item of the next page. */
function paginate<T>(all: T[], query: URLSearchParams, keyOf: (t: T) => string, defaultLimit: number) {
  const limit = pageLimit(query, defaultLimit);
  const marker = query.get('marker');
  let from = 0;
  if (marker !== null) {
    from = all.findIndex((t) => keyOf(t) === marker);
    if (from < 0) throw new SimError(400, 'InvalidParameterValueException', `Invalid marker: ${marker}`);
  }
  const items = all.slice(from, from + limit);
  const next = all[from + limit];
  return { items, marker: next === undefined ? null : keyOf(next) };
}

/** The job statuses ListJobs filters by (API reference, List Jobs: `statuscode`) */
const JOB_STATUSES: readonly string[] = ['InProgress', 'Succeeded', 'Failed'];

/** ListJobs takes `limit` from 1 to 50, and lists 50 without one (Glacier API reference, List Jobs). */
const MAX_JOBS_PER_PAGE = 50;

/** The `limit` query parameter: `defaultLimit` when absent; an integer from 1 to `max` (if any) otherwise. */
function pageLimit(query: URLSearchParams, defaultLimit: number, max = Infinity): number {
  const text = query.get('limit');
  const limit = Number(text ?? defaultLimit);
  if (!Number.isInteger(limit) || limit < 1 || limit > max) throw new SimError(400, 'InvalidParameterValueException', `Invalid limit: ${text}`);
  return limit;
}

function throttlingError(): SimError {
  return new SimError(400, 'ThrottlingException', 'Rate exceeded');
}

/**
 * The chaos run: copies a generated vault through the simulator with every kind of fault switched on, kills the
 * tool with SIGKILL at random moments, runs `resume` until it reports done, then checks independently that every
 * archive is in S3 exactly once, byte for byte, and that nothing was left open or behind.
 */
import { existsSync } from 'node:fs';
import { HeadObjectCommand, paginateListObjectsV2 } from '@aws-sdk/client-s3';
import { seededRandom } from '../../src/sim/random.js';
import { TransferState } from '../../src/state/db.js';
import { resumeArgs, spawnCli, type CliResult } from '../helpers/cli.js';
import { mixedArchives, startCopyWorld } from '../helpers/copy-world.js';

export interface ChaosOptions {
  seed: number;
  archives: number;
  /** Most kills before the run is left to finish */
  kills: number;
  /** Longest wait before a kill, ms (the actual wait is drawn from the seed) */
  maxRunMs: number;
  /** Multiplies every fault probability (a short run needs more to meet every kind) */
  faultRate?: number;
  log?: (line: string) => void;
}

export interface ChaosFigures {
  seed: number;
  kills: number;
  runs: number;
  faults: number;
  faultsByKind: Record<string, number>;
  archives: number;
  verified: number;
  lost: number;
  duplicated: number;
  corrupt: number;
  leaked: number;
  extra: number;
  integrity: string;
  lastExit: number | null;
}

/** Every fault kind the simulator has, at rates that make a few hundred archives meet all of them. */
export function chaosFaults(seed: number, rate = 1): string {
  const rules = [
    'glacier.GetJobOutput:corrupt=0.03',
    'glacier.GetJobOutput:reset=0.03',
    'glacier.GetJobOutput:throttle=0.02',
    'glacier.GetJobOutput:500=0.02',
    'glacier.InitiateJob:throttle=0.03',
    'glacier.InitiateJob:policy=0.02',
    'glacier.InitiateJob:expire=0.05',
    'glacier.JobNotification:drop=0.2',
    'glacier.JobNotification:duplicate=0.2',
    'glacier.DescribeJob:503=0.05',
    'glacier.ListJobs:throttle=0.05',
    's3.UploadPart:503=0.02',
    's3.UploadPart:throttle=0.02',
    's3.UploadPart:reset=0.01',
    's3.PutObject:500=0.02',
    's3.PutObject:503=0.02',
    's3.PutObject:throttle=0.02',
    // Answers lost after the request was carried out: a job started, an object written, an upload completed.
    'glacier.InitiateJob:lose=0.02',
    's3.PutObject:lose=0.02',
    's3.CompleteMultipartUpload:lose=0.03',
    's3.UploadPart:lose=0.01',
    // Jobs that fail, and conditional writes that race another.
    'glacier.InitiateJob:fail=0.02',
    's3.PutObject:conflict=0.01',
    's3.CompleteMultipartUpload:conflict=0.02',
    's3.CreateMultipartUpload:503=0.03',
    's3.CompleteMultipartUpload:500=0.03',
    'sqs.ReceiveMessage:500=0.05',
    'sns.CreateTopic:throttle=0.1',
  ];
  const scaled = rules.map((r) => r.replace(/=([0-9.]+)$/, (_, p: string) => `=${Math.min(1, Number(p) * rate).toFixed(4)}`));
  // And each kind at least once early on, whatever the timing of the kills makes of the probabilities.
  const certain = [
    'glacier.GetJobOutput:corrupt@2',
    'glacier.GetJobOutput:reset@4',
    'glacier.InitiateJob:throttle@2',
    'glacier.InitiateJob:expire@3',
    'glacier.InitiateJob:lose@5',
    'glacier.JobNotification:drop@2',
    'glacier.JobNotification:duplicate@3',
    's3.PutObject:500@2',
    's3.PutObject:503@3',
    's3.PutObject:lose@4',
    'glacier.InitiateJob:fail@4',
    's3.PutObject:conflict@5',
  ];
  return [...scaled, ...certain, `seed=${seed}`].join(';');
}

export function chaosLine(f: ChaosFigures): string {
  return (
    `chaos: seed ${f.seed}, ${f.kills} kills, ${f.faults} faults, ${f.verified}/${f.archives} archives verified, ` +
    `${f.lost} lost, ${f.duplicated} duplicated, ${f.corrupt} corrupt, ${f.leaked} leaked`
  );
}

export async function runChaos(options: ChaosOptions): Promise<ChaosFigures> {
  const log = options.log ?? (() => undefined);
  const random = seededRandom(`chaos:${options.seed}`);
  const world = await startCopyWorld({
    vaults: [{ name: 'chaos', seed: options.seed, archives: mixedArchives(options.archives, options.seed) }],
    buckets: ['chaos-bucket'],
    faults: chaosFaults(options.seed, options.faultRate),
  });
  try {
    const state = world.path('chaos.db');
    let kills = 0;
    let runs = 0;
    let last: CliResult | undefined;
    for (;;) {
      // As a user would: `start` until it has left a state file, then `resume`.
      const args = existsSync(state) ? resumeArgs(state) : world.start({ vault: 'chaos', bucket: 'chaos-bucket', state, extra: ['--max-jobs', '40'] });
      runs++;
      const child = spawnCli(args, { timeoutMs: 300_000 });
      if (kills < options.kills) {
        const waitMs = Math.floor(random() * options.maxRunMs);
        const outcome = await Promise.race([child.done.then(() => 'ended' as const), new Promise<'kill'>((r) => setTimeout(() => r('kill'), waitMs))]);
        if (outcome === 'kill') {
          last = await child.kill();
          if (last.killed) {
            kills++;
            log(`chaos: run ${runs} killed after ${waitMs} ms`);
            continue;
          }
        }
      }
      last = await child.done;
      log(`chaos: run ${runs} exited ${last.code}${last.code !== 0 ? `: ${last.stderr.trim().split('\n').pop() ?? ''} ${last.summary.replace(/\n/g, ' | ')}` : ''}`);
      // A run that ends with archives still waiting (or failed for transient reasons) is resumed, as a user would.
      if (last.code === 0 || runs > options.kills + 20) break;
    }
    const audit = await world.audit({ statePath: state, vault: 'chaos', bucket: 'chaos-bucket' });
    const archiveIds = new Map<string, number>();
    for await (const page of paginateListObjectsV2({ client: world.harness.clients.s3 }, { Bucket: 'chaos-bucket' })) {
      for (const object of page.Contents ?? []) {
        const head = await world.harness.clients.s3.send(new HeadObjectCommand({ Bucket: 'chaos-bucket', Key: object.Key! }));
        const id = head.Metadata?.['glacier-archive-id'] ?? `(none) ${object.Key}`;
        archiveIds.set(id, (archiveIds.get(id) ?? 0) + 1);
      }
    }
    const readonly = TransferState.open(state, { readonly: true });
    const integrity = readonly.integrityCheck();
    readonly.close();
    const faultsByKind: Record<string, number> = {};
    for (const [key, n] of world.harness.sim.world.faults.injected) {
      const kind = key.slice(key.lastIndexOf(':') + 1);
      faultsByKind[kind] = (faultsByKind[kind] ?? 0) + n;
    }
    return {
      seed: options.seed,
      kills,
      runs,
      faults: world.harness.sim.world.faults.total(),
      faultsByKind,
      archives: audit.archives,
      verified: audit.verified,
      lost: audit.missing.length,
      duplicated: [...archiveIds.values()].filter((n) => n > 1).length,
      corrupt: audit.corrupt.length,
      leaked: audit.openUploads + audit.leftoverTopics.length + audit.leftoverQueues.length,
      extra: audit.extra.length,
      integrity,
      lastExit: last?.code ?? null,
    };
  } finally {
    await world.stop();
  }
}

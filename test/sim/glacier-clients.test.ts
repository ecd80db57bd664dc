import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimHarness, type SimHarness } from '../helpers/sim.js';
import { aws, boto3, hasAwsCli, hasBoto3, reportMissing } from '../helpers/external.js';
import { loadVectors, vectorContent } from '../helpers/vectors.js';

const vectors = loadVectors();
const SIZE = 8400953; // the vectors' largest input: 8 MiB and a bit
const expected = vectors.tree_hash.find((v) => v.size === SIZE)!;

interface Job {
  JobId: string;
  Completed: boolean;
  SHA256TreeHash?: string;
}

describe('simulated Glacier with independent clients', () => {
  let h: SimHarness;
  let dir: string;
  beforeAll(async () => {
    reportMissing();
    h = await startSimHarness({ timeScale: 1000, glacier: { jobDelaySeconds: { Standard: 5, Bulk: 5, Expedited: 1, Inventory: 5 } } });
    dir = mkdtempSync(join(tmpdir(), 'glacier-clients-'));
    writeFileSync(join(dir, 'archive.bin'), vectorContent(SIZE));
  });
  afterAll(() => h.stop());

  it.skipIf(!hasAwsCli)('serves the AWS CLI: upload-archive with its tree hash, jobs, ranged output', async () => {
    await aws(h.sim.url, ['glacier', 'create-vault', '--account-id', '-', '--vault-name', 'cli']);
    const up = (await aws(h.sim.url, [
      'glacier', 'upload-archive', '--account-id', '-', '--vault-name', 'cli', '--archive-description', 'from the cli', '--body', join(dir, 'archive.bin'),
    ])) as { archiveId: string; checksum: string };
    expect(up.checksum).toBe(expected.sha256_tree_hash);
    const started = (await aws(h.sim.url, [
      'glacier', 'initiate-job', '--account-id', '-', '--vault-name', 'cli', '--job-parameters', JSON.stringify({ Type: 'archive-retrieval', ArchiveId: up.archiveId, Tier: 'Bulk' }),
    ])) as { jobId: string };
    let job: Job;
    do job = (await aws(h.sim.url, ['glacier', 'describe-job', '--account-id', '-', '--vault-name', 'cli', '--job-id', started.jobId])) as Job;
    while (!job.Completed);
    expect(job.SHA256TreeHash).toBe(expected.sha256_tree_hash);
    const range = vectors.range_tree_hash.find((r) => r.range_start === 4 * 1024 * 1024 && r.range_end_exclusive === 8 * 1024 * 1024)!;
    const out = (await aws(h.sim.url, [
      'glacier', 'get-job-output', '--account-id', '-', '--vault-name', 'cli', '--job-id', started.jobId,
      '--range', `bytes=${range.range_start}-${range.range_end_exclusive - 1}`, join(dir, 'range.bin'),
    ])) as { checksum: string; status: number };
    expect(out.status).toBe(206);
    expect(out.checksum).toBe(range.sha256_tree_hash);
    expect(readFileSync(join(dir, 'range.bin')).equals(vectorContent(SIZE).subarray(range.range_start, range.range_end_exclusive))).toBe(true);
    const listed = (await aws(h.sim.url, ['glacier', 'list-jobs', '--account-id', '-', '--vault-name', 'cli'])) as { JobList: Job[] };
    expect(listed.JobList.map((j) => j.JobId)).toContain(started.jobId);
  });

  it.skipIf(!hasBoto3)('serves boto3: multipart archive upload checked by tree hash, then an inventory', async () => {
    const script = `
import boto3, json, os, time
from botocore.utils import calculate_tree_hash
g = boto3.client('glacier', endpoint_url=os.environ['ENDPOINT'])
g.create_vault(vaultName='py')
data = open(${JSON.stringify(join(dir, 'archive.bin'))}, 'rb').read()
part = 4 * 1024 * 1024
up = g.initiate_multipart_upload(vaultName='py', archiveDescription='from boto3', partSize=str(part))
for start in range(0, len(data), part):
    chunk = data[start:start + part]
    g.upload_multipart_part(vaultName='py', uploadId=up['uploadId'], range='bytes %d-%d/*' % (start, start + len(chunk) - 1), body=chunk)
import io
done = g.complete_multipart_upload(vaultName='py', uploadId=up['uploadId'], archiveSize=str(len(data)), checksum=calculate_tree_hash(io.BytesIO(data)))
try:
    g.upload_archive(vaultName='py', body=b'abc', checksum='00' * 32)
    bad = 'accepted'
except g.exceptions.InvalidParameterValueException:
    bad = 'rejected'
print(json.dumps({'checksum': done['checksum'], 'bad': bad}))
`;
    const result = JSON.parse(await boto3(h.sim.url, script)) as { checksum: string; bad: string };
    expect(result.checksum).toBe(expected.sha256_tree_hash);
    expect(result.bad).toBe('rejected');
    // Inventories list the vault as of Glacier's daily inventory: let the next one come now.
    h.sim.world.glacier.store.takeInventory(h.sim.world.glacier.store.getVault('us-east-1', 'py'));
    const inventory = await boto3(
      h.sim.url,
      `
import boto3, os, time
g = boto3.client('glacier', endpoint_url=os.environ['ENDPOINT'])
job = g.initiate_job(vaultName='py', jobParameters={'Type': 'inventory-retrieval', 'Format': 'CSV'})
while not g.describe_job(vaultName='py', jobId=job['jobId'])['Completed']:
    time.sleep(0.01)
print(g.get_job_output(vaultName='py', jobId=job['jobId'])['body'].read().decode())
`,
    );
    const lines = inventory.trim().split('\r\n');
    expect(lines[0]).toBe('ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash');
    expect(lines[1]).toContain(`,from boto3,`);
    expect(lines[1]).toContain(`,${SIZE},${expected.sha256_tree_hash}`);
  });
});

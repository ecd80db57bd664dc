import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GeneratedArchiveSpec } from '../../src/sim/glacier/generate.js';
import { S3_WRITE_CLASS } from '../../src/state/accounting.js';
import { describeRun, eventsOf, runCli } from '../helpers/cli.js';
import { MIB, expectCompleteCopy, startCopyWorld, type CopyWorld } from '../helpers/copy-world.js';

// Multipart archives (parts of 8 MiB ranges) and streamed ones, so that both kinds of stream go to the workers.
const ARCHIVES: GeneratedArchiveSpec[] = [17 * MIB + 3, 3 * MIB, 25 * MIB, 8 * MIB, 12 * MIB + 1, 70_000].map((size, i) => ({ size, description: `w/${i}.bin` }));

describe('the data plane on worker threads', () => {
  let w: CopyWorld;
  beforeAll(async () => {
    w = await startCopyWorld({ vaults: [{ name: 'threaded', seed: 'threaded', archives: ARCHIVES }], buckets: ['threaded'] });
  });
  afterAll(() => w?.stop());

  it('copies on several workers, refetching corrupted ranges and retrying failed parts, and counts every request they send', async () => {
    w.harness.sim.world.faults.configure('glacier.GetJobOutput:corrupt@2+5;s3.UploadPart:503@1+4');
    const state = w.path('threaded.db');
    w.recorder.phase = 'threaded';
    const run = await runCli(w.start({ vault: 'threaded', bucket: 'threaded', state, extra: ['--workers', '3', '--part-size', '8MiB', '--inventory', w.writeInventory('threaded', 'JSON')] }));
    w.harness.sim.world.faults.configure('');
    expect(run.code, describeRun(run)).toBe(0);
    expectCompleteCopy(await w.audit({ statePath: state, vault: 'threaded', bucket: 'threaded' }), ARCHIVES.length);
    // The errors crossed from the workers with their kind intact: a bad range is retried as a tree-hash mismatch.
    const reasons = eventsOf(run, 'part-retry').map((e) => String(e.reason));
    const [hashes, others] = [reasons.filter((r) => /tree hash/.test(r)), reasons.filter((r) => !/tree hash/.test(r))];
    // Four faults, on whichever calls come 1st, 2nd… across three workers: two may land on the same attempt of one
    // part (its range corrupt and its upload refused), which is then retried once for one of the two reasons.
    expect(hashes.length).toBeGreaterThanOrEqual(1);
    expect(others.length).toBeGreaterThanOrEqual(1);
    expect(hashes.length + others.length).toBeLessThanOrEqual(4);
    for (const r of others) expect(r).toMatch(/ServiceUnavailable|503/);
    // Requests sent by the workers are billed in the summary like the main thread's.
    const seen = w.recorder.requests.filter((r) => r.phase === 'threaded' && r.service === 's3' && S3_WRITE_CLASS.has(r.operation)).length;
    expect(run.summary).toContain(`requests: ${seen} S3 write requests`);
  });
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { createAwsClients } from '../aws/clients.js';
import { DEFAULT_PART_SIZE } from '../plan/chunks.js';
import { MIB } from '../verify/tree-hash.js';
import { startSimulator } from '../sim/server.js';
import { auditCopy } from '../sim/audit.js';
import { generateArchiveList } from '../sim/glacier/generate.js';
import { TransferState } from '../state/db.js';
import { formatBytes, formatDuration } from '../ui/format.js';
import { runTransfer } from './run-transfer.js';
import { EXIT, parsePositiveInt } from './usage.js';

/** Simulated seconds per real second: Glacier's hours pass in seconds. */
const TIME_SCALE = 1800;

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('copy a generated vault into a bucket on the embedded simulator, then check every object independently')
    .option('--archives <n>', 'archives in the generated vault', parsePositiveInt('--archives'), 300)
    .option('--seed <seed>', 'seed of the generated vault', 'demo')
    .option('--concurrency <n>', 'parts copied at once', parsePositiveInt('--concurrency'), 8)
    .action(async (opts: { archives: number; seed: string; concurrency: number }) => {
      // The demo talks only to its own simulator, which accepts any credentials.
      process.env.AWS_ACCESS_KEY_ID ??= 'glacier-copy-demo';
      process.env.AWS_SECRET_ACCESS_KEY ??= 'glacier-copy-demo';
      const archives = generateArchiveList({
        count: opts.archives,
        seed: opts.seed,
        sizes: [
          { min: 0, max: 0, weight: 1 },
          { min: 1, max: 64 * 1024, weight: 4 },
          { min: 64 * 1024 + 1, max: 8 * MIB, weight: 4 },
          { min: 8 * MIB + 1, max: 40 * MIB, weight: 2 },
        ],
      });
      const sim = await startSimulator({
        timeScale: TIME_SCALE,
        s3ReadArchived: true,
        glacier: { vaults: [{ name: 'demo-vault', seed: opts.seed, archives }] },
      });
      const dir = mkdtempSync(join(tmpdir(), 'glacier-copy-demo-'));
      const clients = createAwsClients({ region: 'us-east-1', endpoint: sim.url });
      const started = Date.now();
      try {
        await clients.s3.send(new CreateBucketCommand({ Bucket: 'demo-bucket' }));
        const total = archives.reduce((n, a) => n + a.size, 0);
        process.stdout.write(
          `demo: simulator at ${sim.url}; vault "demo-vault" holds ${archives.length} archives, ${formatBytes(total)}; ` +
            `Glacier time runs ${TIME_SCALE}x faster (a Bulk retrieval takes ${(5 * 3600) / TIME_SCALE}–${(12 * 3600) / TIME_SCALE}s)\n`,
        );
        const statePath = join(dir, 'demo.state.db');
        const state = TransferState.create(statePath, {
          transferId: randomBytes(6).toString('hex'),
          vault: 'demo-vault',
          bucket: 'demo-bucket',
          prefix: 'from-glacier/',
          storageClass: 'DEEP_ARCHIVE',
          tier: 'Bulk',
          region: 'us-east-1',
          endpoint: sim.url,
          partSize: DEFAULT_PART_SIZE,
        });
        const code = await runTransfer(state, {
          engine: { concurrency: opts.concurrency, pollIntervalMs: 5000, outputWindowMs: (24 * 3600_000) / TIME_SCALE, receiveWaitSeconds: 1 },
          progress: process.stderr.isTTY ? 'bars' : 'lines',
        });
        const copied = Date.now() - started;
        const keys = TransferState.open(statePath, { readonly: true });
        const keyOf = (id: string) => keys.archive(id)?.key ?? undefined;
        const audit = await auditCopy(sim, clients, { vault: 'demo-vault', bucket: 'demo-bucket', prefix: 'from-glacier/', keyOf });
        keys.close();
        const clean = audit.missing.length + audit.corrupt.length + audit.extra.length + audit.openUploads + audit.leftoverTopics.length + audit.leftoverQueues.length === 0;
        process.stdout.write(
          `demo: independent check: ${audit.verified}/${audit.archives} archives byte-identical in S3 (${formatBytes(audit.bytes)}), ` +
            `${audit.missing.length} missing, ${audit.corrupt.length} corrupt, ${audit.extra.length} extra objects, ` +
            `${audit.openUploads} open uploads, ${audit.leftoverTopics.length + audit.leftoverQueues.length} leftover topics/queues; ` +
            `copy took ${formatDuration(copied)}\n`,
        );
        process.exitCode = code === EXIT.ok && clean && audit.verified === audit.archives ? EXIT.ok : EXIT.failed;
      } finally {
        clients.destroy();
        await sim.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    });
}

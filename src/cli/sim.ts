import { InvalidArgumentError, type Command } from 'commander';
import { pino } from 'pino';
import { startSimulator } from '../sim/server.js';
import type { GeneratedVaultSpec } from '../sim/glacier/generate.js';
import type { JobDelay } from '../sim/glacier/job-delay.js';
import { parseByteSize, parsePositiveInt, parsePositiveNumber } from './usage.js';

interface SimCliOptions {
  port: number;
  dataDir?: string;
  timeScale: number;
  faults?: string;
  hashOnly?: boolean;
  readArchived?: boolean;
  generatedVault: GeneratedVaultSpec[];
  logLevel: string;
  jobDelay?: JobDelay;
  latency: number;
  seed: string;
  initiateRate?: number;
  initiateBurst?: number;
  kmsKeys?: string[];
}

/**
 * `NAME:COUNT[:SEED[:SIZE]]` → a lazy generated vault of COUNT archives in every description format, of mixed
 * sizes or all of SIZE (e.g. 256MiB, for benchmarks); millions of archives cost no memory.
 */
function parseGeneratedVault(value: string, previous: GeneratedVaultSpec[] = []): GeneratedVaultSpec[] {
  const m = /^([A-Za-z0-9_.-]+):(\d+)(?::([^:]+))?(?::([^:]+))?$/.exec(value);
  if (!m) throw new InvalidArgumentError(`expects NAME:COUNT[:SEED[:SIZE]], got "${value}"`);
  const [, name, count, seed = name!, size] = m;
  const sizes = size === undefined ? undefined : [{ min: parseByteSize(size), max: parseByteSize(size), weight: 1 }];
  return [...previous, { name: name!, seed, count: Number(count), sizes }];
}

/** `600` (always 600 simulated seconds) or `300-720` (each job's delay drawn from that range). */
function parseJobDelay(value: string): JobDelay {
  const m = /^(\d+(?:\.\d+)?)(?:-(\d+(?:\.\d+)?))?$/.exec(value.trim());
  const [min, max] = [Number(m?.[1]), Number(m?.[2] ?? m?.[1])];
  if (!m || !(min <= max)) throw new InvalidArgumentError(`--job-delay expects seconds (600) or a range (300-720), got "${value}"`);
  return m[2] === undefined ? min : { min, max };
}

function parseLatency(value: string): number {
  const ms = Number(value);
  if (!(ms >= 0) || !Number.isFinite(ms)) throw new InvalidArgumentError(`--latency must be 0 or more milliseconds, got "${value}"`);
  return ms;
}

export function registerSimCommand(program: Command): void {
  program
    .command('sim')
    .description('run the local AWS simulator (Glacier, S3, SNS, SQS) on 127.0.0.1')
    .option('--port <port>', 'port to listen on (0 picks a free one)', (v) => (v === '0' ? 0 : parsePositiveInt('--port')(v)), 4566)
    .option('--data-dir <dir>', 'keep S3 object bodies on disk here (default: in memory)')
    .option('--time-scale <x>', 'simulated seconds per real second (3600 turns hours into seconds)', parsePositiveNumber('--time-scale'), 1)
    .option('--faults <spec>', 'fault rules, e.g. "glacier.GetJobOutput:corrupt=0.05;s3.UploadPart:503@2+5;seed=7"')
    .option('--hash-only', 'keep only sizes and checksums of S3 objects, not their bytes; ETags are opaque (as for SSE-KMS objects), not MD5s')
    .option('--read-archived', 'let GetObject read GLACIER/DEEP_ARCHIVE objects (for checking copies)')
    .option('--generated-vault <name:count[:seed[:size]]>', 'create a generated vault (repeatable; millions of archives are fine)', parseGeneratedVault, [])
    .option(
      '--job-delay <seconds|min-max>',
      "simulated seconds every retrieval job takes (600), or a range each job's delay is drawn from (300-720), instead of AWS's documented range per tier",
      parseJobDelay,
    )
    .option('--latency <ms>', 'average delay before every request is handled, jittered 0.5x-1.5x (0: none)', parseLatency, 0)
    .option('--initiate-rate <n>', 'Glacier InitiateJob requests allowed per second; more get ThrottlingException (default: unlimited)', parsePositiveNumber('--initiate-rate'))
    .option('--initiate-burst <n>', 'InitiateJob requests allowed at once after a pause (default: the rate)', parsePositiveInt('--initiate-burst'))
    .option('--kms-keys <keys>', 'the KMS keys that exist, comma-separated as writes name them (default: any well-formed key id, ARN or alias)', (v) => v.split(',').map((k) => k.trim()).filter(Boolean))
    .option('--seed <seed>', 'seed of latency jitter and job completion times', '1')
    .option('--log-level <level>', 'log level (debug logs one line per request)', 'info')
    .action(async (opts: SimCliOptions) => {
      const logger = pino({ level: opts.logLevel }, pino.destination(2));
      const delay = opts.jobDelay;
      const sim = await startSimulator({
        port: opts.port,
        dataDir: opts.dataDir,
        timeScale: opts.timeScale,
        faults: opts.faults,
        hashOnly: opts.hashOnly,
        s3ReadArchived: opts.readArchived,
        kmsKeys: opts.kmsKeys,
        latencyMs: opts.latency,
        seed: opts.seed,
        logger,
        glacier: {
          vaults: opts.generatedVault,
          jobDelaySeconds: delay === undefined ? undefined : { Bulk: delay, Standard: delay, Expedited: delay, Inventory: delay },
          initiateJobRate: opts.initiateRate === undefined ? undefined : { perSecond: opts.initiateRate, burst: opts.initiateBurst },
        },
      });
      process.stdout.write(`glacier-copy simulator listening on ${sim.url}\n`);
      const stop = () => void sim.stop().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}

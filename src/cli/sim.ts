import { InvalidArgumentError, type Command } from 'commander';
import { pino } from 'pino';
import { startSimulator } from '../sim/server.js';
import { generateArchiveList, type GeneratedVaultSpec } from '../sim/glacier/generate.js';
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
  jobDelay?: number;
}

/**
 * `NAME:COUNT[:SEED[:SIZE]]` → a generated vault of COUNT archives in every description format, of mixed sizes
 * or all of SIZE (e.g. 256MiB, for benchmarks).
 */
function parseGeneratedVault(value: string, previous: GeneratedVaultSpec[] = []): GeneratedVaultSpec[] {
  const m = /^([A-Za-z0-9_.-]+):(\d+)(?::([^:]+))?(?::([^:]+))?$/.exec(value);
  if (!m) throw new InvalidArgumentError(`expects NAME:COUNT[:SEED[:SIZE]], got "${value}"`);
  const [, name, count, seed = name!, size] = m;
  const sizes = size === undefined ? undefined : [{ min: parseByteSize(size), max: parseByteSize(size), weight: 1 }];
  return [...previous, { name: name!, seed, archives: generateArchiveList({ count: Number(count), seed, sizes }) }];
}

export function registerSimCommand(program: Command): void {
  program
    .command('sim')
    .description('run the local AWS simulator (Glacier, S3, SNS, SQS) on 127.0.0.1')
    .option('--port <port>', 'port to listen on (0 picks a free one)', (v) => (v === '0' ? 0 : parsePositiveInt('--port')(v)), 4566)
    .option('--data-dir <dir>', 'keep S3 object bodies on disk here (default: in memory)')
    .option('--time-scale <x>', 'simulated seconds per real second (3600 turns hours into seconds)', parsePositiveNumber('--time-scale'), 1)
    .option('--faults <spec>', 'fault rules, e.g. "glacier.GetJobOutput:corrupt=0.05;s3.UploadPart:503@2+5;seed=7"')
    .option('--hash-only', 'keep only sizes and checksums of S3 objects, not their bytes')
    .option('--read-archived', 'let GetObject read GLACIER/DEEP_ARCHIVE objects (for checking copies)')
    .option('--generated-vault <name:count[:seed[:size]]>', 'create a generated vault (repeatable)', parseGeneratedVault, [])
    .option('--job-delay <seconds>', 'simulated seconds every retrieval job takes, instead of AWS\'s typical hours per tier', parsePositiveNumber('--job-delay'))
    .option('--log-level <level>', 'log level (debug logs one line per request)', 'info')
    .action(async (opts: SimCliOptions) => {
      const logger = pino({ level: opts.logLevel }, pino.destination(2));
      const sim = await startSimulator({
        port: opts.port,
        dataDir: opts.dataDir,
        timeScale: opts.timeScale,
        faults: opts.faults,
        hashOnly: opts.hashOnly,
        s3ReadArchived: opts.readArchived,
        logger,
        glacier: {
          vaults: opts.generatedVault,
          jobDelaySeconds: opts.jobDelay === undefined ? undefined : { Bulk: opts.jobDelay, Standard: opts.jobDelay, Expedited: opts.jobDelay, Inventory: opts.jobDelay },
        },
      });
      process.stdout.write(`glacier-copy simulator listening on ${sim.url}\n`);
      const stop = () => void sim.stop().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}

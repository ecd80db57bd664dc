import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { DEFAULT_PART_SIZE, isValidPartSize } from '../plan/chunks.js';
import { resolveConnection } from '../aws/connection.js';
import { TransferState } from '../state/db.js';
import { addConnectionOptions, connectionOptionsFrom, type ConnectionCliOptions } from './connection-options.js';
import { addEngineOptions, engineOptionsFrom, viewOptionsFrom, type EngineCliOptions } from './engine-options.js';
import { confirmPlan, runPlan, showPlan } from './plan.js';
import { runTransfer } from './run-transfer.js';
import { defaultLogFile } from '../ui/log.js';
import { EXIT, UsageError, parseSizeOption } from './usage.js';

export const STORAGE_CLASSES = ['STANDARD', 'STANDARD_IA', 'ONEZONE_IA', 'INTELLIGENT_TIERING', 'GLACIER_IR', 'GLACIER', 'DEEP_ARCHIVE'];
export const TIERS = ['Bulk', 'Standard', 'Expedited'];
export const DEFAULT_STATE_FILE = 'glacier-copy.state.db';

export interface TransferCliOptions extends EngineCliOptions, ConnectionCliOptions {
  vault: string;
  bucket: string;
  prefix: string;
  storageClass: string;
  tier: string;
  inventory?: string;
  allowPartialInventory?: boolean;
  namingOverrides?: string;
  partSize: number;
  expectedBucketOwner?: string;
  sse?: string;
  sseKmsKeyId?: string;
  state: string;
  /** Price table for the plan's cost */
  prices?: string;
  /** Plan only: retrieve nothing */
  dryRun?: boolean;
  /** Do not ask before spending */
  yes?: boolean;
}

function checkChoice(name: string, value: string, choices: string[]): string {
  const match = choices.find((c) => c.toLowerCase() === value.toLowerCase());
  if (!match) throw new UsageError(`invalid ${name} "${value}": one of ${choices.join(', ')}`);
  return match;
}

/** A bucket given as a URL (`s3://bucket/prefix`, as the AWS CLI writes them) names the bucket and prefix to use. */
function checkBucket(bucket: string): void {
  const url = /^[a-z][a-z0-9+.-]*:\/\/([^/]*)\/?(.*)$/i.exec(bucket);
  if (!url) return;
  const prefix = url[2] ? ` (${url[2].replace(/\/?$/, '/')})` : '';
  throw new UsageError(`--bucket ${bucket}: give the bare bucket name (${url[1]}), and a key prefix with --prefix${prefix}`);
}

/** The options of a new transfer, shared by `start` and `plan`. */
export function addTransferOptions(command: Command): Command {
  command
    .requiredOption('--vault <name>', 'Glacier vault to copy')
    .requiredOption('--bucket <name>', 'S3 bucket to copy into')
    .option('--prefix <prefix>', 'key prefix in the bucket', '')
    .option('--storage-class <class>', `S3 storage class (${STORAGE_CLASSES.join(', ')})`, 'DEEP_ARCHIVE')
    .option('--tier <tier>', 'Glacier retrieval tier (Bulk, Standard, Expedited)', 'Bulk')
    .option('--inventory <file>', 'use this inventory (JSON or CSV, as Glacier writes it) instead of requesting one')
    .option('--allow-partial-inventory', 'copy from an --inventory file that lists fewer archives than the vault held at its last inventory')
    .option('--naming-overrides <file>', 'CSV of archive_id,key pairs that override the names decoded from descriptions')
    .addOption(
      new Option('--part-size <size>', 'S3 part size, a power-of-two MiB from 8MiB to 4GiB; archives up to it are written with one PutObject')
        .argParser(parseSizeOption('--part-size', 'MiB'))
        .default(DEFAULT_PART_SIZE, '512MiB'),
    )
    .option('--expected-bucket-owner <account>', 'refuse a bucket owned by another account')
    .option('--sse <algorithm>', 'server-side encryption of the objects: AES256 or aws:kms')
    .option('--sse-kms-key-id <key>', 'KMS key for --sse aws:kms (default: the account\'s aws/s3 key)')
    .option('--prices <file>', 'price table for the cost of the plan (default: docs/prices.json, dated)')
    .option('--state <file>', 'state file of this transfer', DEFAULT_STATE_FILE);
  return addEngineOptions(addConnectionOptions(command, false));
}

export function registerStartCommand(program: Command): void {
  const command = program.command('start').description('copy every archive of a Glacier vault into an S3 bucket');
  addTransferOptions(command)
    .option('--dry-run', 'stop before the first retrieval and print the plan: cost and duration (as `plan`)')
    .option('--yes', 'do not ask before spending (asked only on a terminal)')
    .action((opts: TransferCliOptions) => startTransfer(opts));
}

/** Checks what the user asked for, creates the transfer's state, and runs it (or its plan). */
export async function startTransfer(opts: TransferCliOptions): Promise<void> {
  checkBucket(opts.bucket);
  const storageClass = checkChoice('storage class', opts.storageClass, STORAGE_CLASSES);
  const tier = checkChoice('tier', opts.tier, TIERS);
  if (!isValidPartSize(opts.partSize)) throw new UsageError(`invalid --part-size: a power-of-two MiB from 8MiB to 4GiB`);
  for (const [flag, file] of [['--inventory', opts.inventory], ['--naming-overrides', opts.namingOverrides]] as const) {
    if (file !== undefined && !existsSync(file)) throw new UsageError(`${flag} file not found: ${file}`);
  }
  if (opts.expectedBucketOwner !== undefined && !/^\d{12}$/.test(opts.expectedBucketOwner)) {
    throw new UsageError(`--expected-bucket-owner must be a 12-digit account id`);
  }
  const sse = opts.sse === undefined ? undefined : (checkChoice('--sse', opts.sse, ['AES256', 'aws:kms']) as 'AES256' | 'aws:kms');
  if (opts.sseKmsKeyId !== undefined && sse !== 'aws:kms') throw new UsageError('--sse-kms-key-id needs --sse aws:kms');
  const prefix = opts.prefix.replace(/^\/+/, '');
  // Resolved once, here, and recorded: later commands run in other shells, with other environments.
  const connection = await resolveConnection(connectionOptionsFrom(opts));
  const state = TransferState.create(opts.state, {
    transferId: randomBytes(6).toString('hex'),
    vault: opts.vault,
    bucket: opts.bucket,
    prefix: prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`,
    storageClass,
    tier,
    region: connection.region,
    endpoint: connection.endpoint,
    profile: connection.profile,
    partSize: opts.partSize,
    expectedBucketOwner: opts.expectedBucketOwner,
    sse,
    sseKmsKeyId: opts.sseKmsKeyId,
    namingOverrides: opts.namingOverrides,
    inventoryFile: opts.inventory,
    allowPartialInventory: opts.allowPartialInventory,
  });
  try {
    process.exitCode = await runStarted(state, opts);
  } catch (e) {
    // A start refused before it did anything (unknown vault, bad inventory file, no credentials) leaves no
    // state behind to trip over: running `start` again is the fix.
    const after = TransferState.open(opts.state, { readonly: true });
    const untouched = after.isUntouched();
    after.close();
    if (untouched) {
      for (const suffix of ['', '-wal', '-shm', '.lock']) rmSync(`${opts.state}${suffix}`, { force: true });
      if (opts.logFile === undefined) rmSync(defaultLogFile(opts.state), { force: true });
    }
    throw e;
  }
}

/**
 * A new transfer: its plan only (--dry-run), or its plan shown and confirmed before anything is spent (on a
 * terminal, without --yes), then the copy.
 */
async function runStarted(state: TransferState, opts: TransferCliOptions): Promise<number> {
  if (opts.dryRun) return runPlan(state, opts, showPlan(opts));
  const interactive = process.stdin.isTTY && process.stderr.isTTY && !opts.yes && !opts.json && !opts.quiet;
  if (interactive) {
    const answer = { yes: false };
    const code = await runPlan(state, opts, confirmPlan(opts, answer));
    if (code !== EXIT.ok || !answer.yes) return code;
    state = TransferState.open(opts.state);
  }
  return runTransfer(state, { engine: engineOptionsFrom(opts), ...viewOptionsFrom(opts) });
}

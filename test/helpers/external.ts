import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { TEST_ENV } from './sim.js';

const run = promisify(execFile);

function available(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: 'ignore', timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
}

/** Independent AWS clients the simulator must satisfy; tests skip, saying why, where one is missing. */
export const hasAwsCli = available('aws', ['--version']);
export const hasBoto3 = available('python3', ['-c', 'import boto3']);

export function reportMissing(): void {
  if (!hasAwsCli) console.warn('skipping AWS CLI tests: `aws` is not on PATH (Debian package awscli)');
  if (!hasBoto3) console.warn('skipping boto3 tests: python3 cannot import boto3 (Debian package python3-boto3)');
}

const env = { ...process.env, ...TEST_ENV, AWS_DEFAULT_REGION: TEST_ENV.AWS_REGION, AWS_PAGER: '' };

/** Runs the AWS CLI against the simulator; returns parsed JSON output (or raw text). */
export async function aws(endpoint: string, args: string[]): Promise<unknown> {
  const { stdout } = await run('aws', ['--endpoint-url', endpoint, '--output', 'json', ...args], { env, maxBuffer: 64 * 1024 * 1024 });
  try {
    return JSON.parse(stdout) as unknown;
  } catch {
    return stdout;
  }
}

/** Runs a boto3 script with ENDPOINT set; returns its stdout. */
export async function boto3(endpoint: string, script: string): Promise<string> {
  const { stdout } = await run('python3', ['-c', script], { env: { ...env, ENDPOINT: endpoint }, maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

import { Command, CommanderError } from 'commander';
import { registerCheckCommand } from './check.js';
import { registerCleanupCommand } from './cleanup.js';
import { registerDemoCommand } from './demo.js';
import { registerPlanCommand } from './plan.js';
import { registerReportCommand } from './report.js';
import { registerResumeCommand } from './resume.js';
import { registerSimCommand } from './sim.js';
import { registerStartCommand } from './start.js';
import { registerStatusCommand } from './status.js';
import { StateError } from '../state/db.js';
import { StateLockedError } from '../state/lock.js';
import { EXIT, UsageError } from './usage.js';
import { VERSION } from '../version.js';
import { ConfigError, isStateStorageError } from '../aws/errors.js';


export function buildProgram(): Command {
  const program = new Command('glacier-copy')
    .description('Copy every archive of an Amazon S3 Glacier vault into an S3 bucket, verified and resumable.')
    .version(VERSION)
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(str.split('\n')[0]!.trimEnd() + '\n') });
  registerPlanCommand(program);
  registerStartCommand(program);
  registerResumeCommand(program);
  registerStatusCommand(program);
  registerCleanupCommand(program);
  registerReportCommand(program);
  registerCheckCommand(program);
  registerSimCommand(program);
  registerDemoCommand(program);
  for (const c of program.commands) c.exitOverride();
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return process.exitCode === undefined ? EXIT.ok : Number(process.exitCode);
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end in a CommanderError with exit code 0.
      return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (e instanceof UsageError || e instanceof ConfigError || e instanceof StateError || e instanceof StateLockedError) {
      process.stderr.write(`glacier-copy: ${e.message}\n`);
      return EXIT.usage;
    }
    if (isStateStorageError(e)) {
      process.stderr.write(`glacier-copy: cannot write the state file: ${(e as Error).message}; free space (or fix the file's disk), then run \`glacier-copy resume\`\n`);
      return EXIT.failed;
    }
    process.stderr.write(`glacier-copy: ${(e as Error).message.split('\n')[0]}\n`);
    return EXIT.failed;
  }
}

const code = await main(process.argv);
if (code !== EXIT.ok) process.exit(code);

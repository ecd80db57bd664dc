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
import { jsonFromOutput, wantsJson } from './output-options.js';
import { writeJsonLine } from '../ui/progress.js';
import { VERSION } from '../version.js';
import { ConfigError, isStateStorageError } from '../aws/errors.js';


function oneLine(text: string): string {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join(' ');
}

export function buildProgram(): Command {
  const program = new Command('glacier-copy')
    .description('Copy every archive of an Amazon S3 Glacier vault into an S3 bucket, verified and resumable.')
    .version(VERSION)
    .showSuggestionAfterError()
    .exitOverride()
    // One line: the suggestion commander puts on a line of its own ("(Did you mean start?)") joins the error.
    .configureOutput({ outputError: (str, write) => write(`${oneLine(str)}\n`) })
    .hook('preAction', jsonFromOutput);
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

/** An error as its one line for people and its exit code; undefined for --help and --version (exit 0). */
function describeFailure(e: unknown): { message: string; exitCode: number } | undefined {
  if (e instanceof CommanderError) {
    // --help and --version end in a CommanderError with exit code 0; commander has printed the others.
    return e.exitCode === 0 ? undefined : { message: oneLine(e.message), exitCode: EXIT.usage };
  }
  if (e instanceof UsageError || e instanceof ConfigError || e instanceof StateError || e instanceof StateLockedError) {
    return { message: e.message, exitCode: EXIT.usage };
  }
  if (isStateStorageError(e)) {
    return { message: `cannot write the state file: ${(e as Error).message}; free space (or fix the file's disk), then run \`glacier-copy resume\``, exitCode: EXIT.failed };
  }
  return { message: (e as Error).message.split('\n')[0]!, exitCode: EXIT.failed };
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return process.exitCode === undefined ? EXIT.ok : Number(process.exitCode);
  } catch (e) {
    const failure = describeFailure(e);
    if (!failure) return EXIT.ok;
    if (!(e instanceof CommanderError)) process.stderr.write(`glacier-copy: ${failure.message}\n`);
    // With --json, stdout ends with the error as an event: a reader of stdout alone learns how the run ended.
    if (wantsJson(argv)) writeJsonLine({ type: 'error', ...failure });
    return failure.exitCode;
  }
}

const code = await main(process.argv);
if (code !== EXIT.ok) process.exit(code);

import { Option, type Command } from 'commander';

/**
 * `--json`, and `--output json` as the AWS CLI spells it (`--output text` is the default). The two are made one
 * by `jsonFromOutput`, before any command runs.
 */
export function addJsonOption(command: Command, description: string): Command {
  return command
    .option('--json', description)
    .addOption(new Option('--output <format>', 'json (as --json) or text').choices(['json', 'text']));
}

/** A preAction hook: `--output json` sets `json`, so that commands read one option. */
export function jsonFromOutput(_program: Command, command: Command): void {
  if (command.opts().output === 'json') command.setOptionValue('json', true);
}

/**
 * Whether a command line asks for JSON: read from the arguments themselves, so that an error found while they
 * are parsed is reported as JSON too.
 */
export function wantsJson(argv: readonly string[]): boolean {
  return argv.some((a, i) => a === '--json' || a === '--output=json' || (a === '--output' && argv[i + 1] === 'json'));
}

import { InvalidArgumentError } from 'commander';

/** Exit codes (design §5): 0 done, 1 failed, 2 bad usage; 130 interrupted (Ctrl-C). */
export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

/** An error in what the user asked for: reported in one line, exit 2. */
export class UsageError extends Error {}

export function parsePositiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer, got "${value}"`);
    return n;
  };
}

export function parsePositiveNumber(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a positive number, got "${value}"`);
    return n;
  };
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kib: 1024, m: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gib: 1024 ** 3, t: 1024 ** 4, tib: 1024 ** 4 };

/** "8MiB", "16m", "1GiB", "1048576" → bytes (binary units: Glacier's sizes are MiB-based). */
export function parseByteSize(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(value.trim());
  const unit = UNITS[(m?.[2] ?? '').toLowerCase()];
  if (!m || unit === undefined) throw new InvalidArgumentError(`not a size: "${value}" (use e.g. 16MiB, 1GiB)`);
  return Math.round(Number(m[1]) * unit);
}

/**
 * Below this, a plain number is a forgotten unit, not bytes: the values people mean in MiB or GiB (10, 512, 2048)
 * all are, while byte counts anyone writes out (819200 bytes a second) are above it.
 */
const MIN_PLAIN_BYTES = 64 * 1024;

/** A size option: a plain number is bytes, from MIN_PLAIN_BYTES up; below, the message suggests `unit`. */
export function parseSizeOption(flag: string, unit: 'MiB' | 'GiB') {
  return (value: string): number => {
    const bytes = parseByteSize(value);
    if (/^\d+(?:\.\d+)?$/.test(value.trim()) && bytes < MIN_PLAIN_BYTES) {
      throw new UsageError(`${flag} ${value}: a size needs a unit (did you mean ${value.trim()}${unit}?)`);
    }
    // Every size the tool takes is a limit or a rate: zero would stop the copy, never finishing.
    if (bytes === 0) throw new UsageError(`${flag} ${value}: must be more than zero`);
    return bytes;
  };
}

/** "500ms", "2s", "15m", "1h" → milliseconds. */
export function parseDuration(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError(`not a duration: "${value}" (use e.g. 500ms, 30s, 15m, 1h)`);
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Number(m[1]) * factor;
}

/** A repeating interval (`--watch`, `--progress-interval`): at least a second, or the screen fills with lines. */
export function parseInterval(flag: string) {
  return (value: string): number => {
    const ms = parseDuration(value);
    if (ms < 1000) throw new UsageError(`${flag} ${value}: an interval must be at least 1s`);
    return ms;
  };
}

import type { Figure } from './scale.js';

/**
 * A run replaces every figure of the parts it measured, in their place, and keeps those of the parts it skipped
 * (BENCH_SCALE, BENCH_10M): a figure renamed or dropped since does not linger.
 */
export function mergeParts(earlier: Figure[], measured: Figure[]): Figure[] {
  const parts = new Set(measured.map((f) => f.part));
  const merged: Figure[] = [];
  const placed = new Set<string | undefined>();
  const place = (part: string | undefined) => {
    if (placed.has(part)) return;
    placed.add(part);
    merged.push(...measured.filter((f) => f.part === part));
  };
  for (const f of earlier) {
    if (parts.has(f.part)) place(f.part);
    else merged.push(f);
  }
  for (const part of parts) place(part);
  return merged;
}

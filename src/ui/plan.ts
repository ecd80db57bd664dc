import type { PlanReport } from '../plan/plan-report.js';
import { formatBytes, formatDuration } from './format.js';

const count = (n: number) => n.toLocaleString('en-US');
const money = (n: number) => `$${n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
const HOUR = 3_600_000;
/** Examples stay on one line: long descriptions and keys are cut in the middle. */
const shorten = (text: string, max = 72) => (text.length <= max ? text : `${text.slice(0, max / 2 - 1)}…${text.slice(-(max / 2))}`);

/** "5h–12h" plus the copy: the whole expected duration, as a range. */
function durationRange(p: PlanReport): string {
  const { waitHours, copyHours } = p.duration;
  return `${formatDuration((waitHours.min + copyHours) * HOUR)}–${formatDuration((waitHours.max + copyHours) * HOUR)}`;
}

/** The plan in one line: what `start` shows before it asks to go ahead. */
export function renderPlanLine(p: PlanReport): string {
  const what = `${count(p.toCopy.archives)} archives, ${formatBytes(p.toCopy.bytes)} to copy`;
  const cost = p.cost ? `${money(p.cost.copyTotal)} (then ${money(p.cost.monthlyTotal)}/month at ${p.storageClass})` : 'cost unknown (no prices for the region)';
  return `${what}: ${cost}, about ${durationRange(p)}`;
}

export function renderPlan(p: PlanReport): string {
  const lines: string[] = [];
  lines.push(`vault ${p.vault} → s3://${p.bucket}/${p.prefix} at ${p.storageClass}, ${p.tier} retrievals, ${p.region}`);
  lines.push(`inventory: ${count(p.inventory.archives)} archives, ${formatBytes(p.inventory.bytes)}`);
  if (p.alreadyInS3.archives > 0) lines.push(`  already in S3 (verified copies, not retrieved again): ${count(p.alreadyInS3.archives)} archives, ${formatBytes(p.alreadyInS3.bytes)}`);
  if (p.uncopyable.archives > 0) lines.push(`  cannot be copied (larger than S3 allows): ${count(p.uncopyable.archives)} archives`);
  lines.push(`to copy: ${count(p.toCopy.archives)} archives, ${formatBytes(p.toCopy.bytes)}; ${count(p.toCopy.putRequests)} S3 PUT-class requests`);
  lines.push('sizes:');
  p.toCopy.histogram.forEach((h, i) => {
    if (h.archives > 0) lines.push(`  ${p.sizeClasses[i]!.padEnd(10)} ${count(h.archives).padStart(12)} archives ${formatBytes(h.bytes).padStart(11)}`);
  });
  const n = p.naming;
  lines.push(
    `naming: ${count(n.sources.description)} from descriptions, ${count(n.sources.fallback)} fallback keys, ${count(n.sources.override)} overrides; ` +
      `${count(n.collisions)} renamed (same key wanted by several); ${count(n.problems)} descriptions not readable in their format`,
  );
  for (const [kind, examples] of Object.entries(n.examples)) {
    for (const e of examples) lines.push(`  ${kind}: ${JSON.stringify(shorten(e.description))} → ${shorten(e.key)}${e.note ? ` (${shorten(e.note)})` : ''}`);
  }
  if (p.cost) {
    const c = p.cost;
    lines.push(`cost (${c.currency}, prices of ${c.pricesAsOf} for ${c.region}; check them, or pass --prices FILE):`);
    for (const l of [...c.copy, ...c.monthly]) {
      lines.push(`  ${l.item.padEnd(44)} ${l.quantity.toLocaleString('en-US', { maximumFractionDigits: 2 }).padStart(14)} ${l.unit.padEnd(15)} × $${l.unitPrice} = ${money(l.cost)}`);
    }
    lines.push(`  to copy, once: ${money(c.copyTotal)} (+ ${money(c.transferOutsideAws)} data transfer when run outside AWS; nothing from EC2 in ${c.region})`);
    lines.push(
      `  storage each month: ${money(c.monthlyTotal)}` + (c.minimumDays > 0 ? `; ${p.storageClass} bills at least ${c.minimumDays} days: ${money(c.minimumStorage)}` : ''),
    );
  } else lines.push(`cost: ${p.noCost}`);
  const d = p.duration;
  lines.push(
    `duration: about ${durationRange(p)}: the first ${p.tier} retrievals take ${formatDuration(d.waitHours.min * HOUR)}–${formatDuration(d.waitHours.max * HOUR)}, ` +
      `then the copy at ${formatBytes(d.bytesPerSecond)}/s or ${count(d.archivesPerSecond)} archives/s (whichever is slower) takes ${formatDuration(d.copyHours * HOUR)}`,
  );
  return lines.join('\n');
}

export type Tier = 'Expedited' | 'Standard' | 'Bulk';
export type JobKind = Tier | 'Inventory';

/** Simulated seconds from InitiateJob to completion: always the same, or drawn uniformly from a range. */
export type JobDelay = number | { min: number; max: number };

/**
 * AWS's documented completion times: Expedited 1–5 minutes, Standard 3–5 hours, Bulk 5–12 hours. Inventory
 * jobs are documented only as "about four hours": 3–5 hours here.
 */
export const AWS_JOB_DELAYS: Record<JobKind, JobDelay> = {
  Expedited: { min: 60, max: 5 * 60 },
  Standard: { min: 3 * 3600, max: 5 * 3600 },
  Bulk: { min: 5 * 3600, max: 12 * 3600 },
  Inventory: { min: 3 * 3600, max: 5 * 3600 },
};

/** One job's delay in simulated seconds, drawn with `random` when the delay is a range. */
export function drawJobDelay(delay: JobDelay, random: () => number): number {
  return typeof delay === 'number' ? delay : delay.min + random() * (delay.max - delay.min);
}

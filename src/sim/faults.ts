import { seededRandom } from './random.js';

/**
 * Faults the simulator can inject. The server handles the ones that replace a whole response; the services
 * handle the ones that change what they do (a corrupted body, a lost notification, an early expiry).
 */
export const FAULT_KINDS = [
  'throttle', // the service's throttling error (Glacier/SNS ThrottlingException, S3 SlowDown, SQS RequestThrottled)
  '500', // internal error
  '503', // service unavailable
  'reset', // connection destroyed: before the response, or mid-body for streamed responses
  'corrupt', // GetJobOutput / GetObject: one byte of the body flipped
  'drop', // a Glacier job notification is not published
  'duplicate', // a Glacier job notification is published twice
  'expire', // InitiateJob: the job's output expires soon after it completes
  'policy', // InitiateJob of a Standard retrieval: PolicyEnforcedException (a data retrieval policy limits Standard only)
  'capacity', // InitiateJob of an Expedited retrieval: InsufficientCapacityException (Bulk and Standard never get it)
  'fail', // InitiateJob: the job completes with StatusCode Failed and a StatusMessage
  'conflict', // a conditional PutObject/CompleteMultipartUpload: 409 ConditionalRequestConflict (a racing write)
  'auth', // the service's expired-credentials error (ExpiredToken): credentials that ran out mid-run
  'lose', // the request is carried out, but its answer is lost: the connection drops instead
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Faults that replace the whole response, decided before the request reaches a service. */
export const RESPONSE_FAULTS: ReadonlySet<FaultKind> = new Set(['throttle', '500', '503', 'auth', 'conflict']);

interface FaultRule {
  service: string; // 'glacier' | 's3' | 'sns' | 'sqs' | '*'
  operation: string; // API operation name or '*'
  kind: FaultKind;
  probability?: number;
  /** 1-based call numbers (per rule) at which the fault fires */
  calls?: Set<number>;
  seen: number;
}

/**
 * Parses a fault spec: rules separated by `;`, each `service.Operation:kind=probability` or
 * `service.Operation:kind@n+m+…` (fires on the n-th, m-th … matching call), `*` as a wildcard, and an
 * optional `seed=N` rule. Example: `glacier.GetJobOutput:corrupt=0.05;s3.UploadPart:503@2+5;seed=7`.
 */
export function parseFaultSpec(spec: string): { rules: FaultRule[]; seed: number } {
  const rules: FaultRule[] = [];
  let seed = 1;
  for (const raw of spec.split(';').map((s) => s.trim()).filter(Boolean)) {
    const seedMatch = /^seed=(\d+)$/.exec(raw);
    if (seedMatch) {
      seed = Number(seedMatch[1]);
      continue;
    }
    const m = /^([a-z0-9*]+)\.([A-Za-z0-9*]+):([a-z0-9]+)(?:=([0-9.]+)|@([0-9+]+))$/.exec(raw);
    if (!m) throw new Error(`bad fault rule "${raw}": expected service.Operation:kind=probability or :kind@n+m`);
    const [, service, operation, kind, probability, calls] = m;
    if (!(FAULT_KINDS as readonly string[]).includes(kind!)) {
      throw new Error(`bad fault rule "${raw}": unknown kind "${kind}" (one of ${FAULT_KINDS.join(', ')})`);
    }
    const p = probability === undefined ? undefined : Number(probability);
    if (p !== undefined && !(p >= 0 && p <= 1)) throw new Error(`bad fault rule "${raw}": probability not in [0,1]`);
    rules.push({
      service: service!,
      operation: operation!,
      kind: kind as FaultKind,
      probability: p,
      calls: calls === undefined ? undefined : new Set(calls.split('+').map(Number)),
      seen: 0,
    });
  }
  return { rules, seed };
}

/** Decides, per request, which faults fire, and counts what it injected. */
export class FaultInjector {
  private rules: FaultRule[] = [];
  private random: () => number = seededRandom(1);
  readonly injected = new Map<string, number>();

  constructor(spec = '') {
    this.configure(spec);
  }

  /** Replaces all rules (tests switch faults on and off between phases). */
  configure(spec: string): void {
    const { rules, seed } = parseFaultSpec(spec);
    this.rules = rules;
    this.random = seededRandom(seed);
  }

  /**
   * The faults that fire for this call; every matching rule counts the call. A call that a rule names by number
   * gets that rule's faults alone: a scripted fault is never masked by a random one on the same call.
   */
  roll(service: string, operation: string): Set<FaultKind> {
    const scripted = new Set<FaultKind>();
    const random = new Set<FaultKind>();
    for (const rule of this.rules) {
      if (rule.service !== '*' && rule.service !== service) continue;
      if (rule.operation !== '*' && rule.operation !== operation) continue;
      rule.seen++;
      if (rule.calls ? rule.calls.has(rule.seen) : this.random() < (rule.probability ?? 0)) (rule.calls ? scripted : random).add(rule.kind);
    }
    return scripted.size > 0 ? scripted : random;
  }

  /** Records that a fault really took effect (a service may decline one that does not apply). */
  count(service: string, operation: string, kind: FaultKind): void {
    const key = `${service}.${operation}:${kind}`;
    this.injected.set(key, (this.injected.get(key) ?? 0) + 1);
  }

  total(): number {
    let n = 0;
    for (const v of this.injected.values()) n += v;
    return n;
  }
}

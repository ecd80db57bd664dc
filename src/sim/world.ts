import type { Logger } from 'pino';
import { SimClock } from './clock.js';
import { FaultInjector } from './faults.js';
import { Latency } from './latency.js';
import { GlacierService, type GlacierOptions } from './glacier/service.js';
import { S3Service } from './s3/service.js';
import { SnsService } from './sns/service.js';
import { SqsService } from './sqs/service.js';

export interface WorldOptions {
  timeScale?: number;
  faults?: string;
  /** Average milliseconds every request waits before it is handled (jittered 0.5×–1.5×); 0 (default) for none */
  latencyMs?: number;
  /** Seed of the simulator's own randomness: latency jitter, job completion times (default 1) */
  seed?: string | number;
  /** Where S3 object bodies and uploaded Glacier archives are kept; in memory when absent */
  dataDir?: string;
  /** S3 keeps only the size and checksums of object bodies, not the bytes, and its ETags are opaque (large benchmarks) */
  hashOnly?: boolean;
  /**
   * Simulator-only escape: GetObject reads GLACIER/DEEP_ARCHIVE objects (AWS answers InvalidObjectState),
   * so that tests and the demo can check the bytes of what they copied.
   */
  s3ReadArchived?: boolean;
  /** KMS keys that exist (ids, key or alias ARNs, `alias/…` names); absent: any well-formed key reference does */
  kmsKeys?: string[];
  glacier?: GlacierOptions;
}

/** Everything the simulated services share: one clock, one fault injector, one account, and each other. */
export class SimWorld {
  readonly accountId = '123456789012';
  readonly seed: string | number;
  readonly clock: SimClock;
  readonly faults: FaultInjector;
  readonly latency: Latency;
  readonly glacier: GlacierService;
  readonly s3: S3Service;
  readonly sns: SnsService;
  readonly sqs: SqsService;
  private readonly stopping = new AbortController();

  constructor(
    readonly options: WorldOptions,
    readonly log: Logger,
  ) {
    this.seed = options.seed ?? 1;
    this.clock = new SimClock(options.timeScale ?? 1);
    this.faults = new FaultInjector(options.faults ?? '');
    this.latency = new Latency(options.latencyMs ?? 0, this.seed);
    this.sqs = new SqsService(this);
    this.sns = new SnsService(this);
    this.s3 = new S3Service(this);
    this.glacier = new GlacierService(this, options.glacier ?? {});
  }

  /** Operations glacier-copy itself called (by its User-Agent), e.g. `glacier:InitiateJob`: checked against the IAM policy. */
  readonly toolCalls = new Map<string, number>();

  recordToolCall(service: string, operation: string): void {
    const key = `${service}:${operation}`;
    this.toolCalls.set(key, (this.toolCalls.get(key) ?? 0) + 1);
  }

  services() {
    return [this.glacier, this.s3, this.sns, this.sqs];
  }

  /** Aborts when the simulator stops: background work (measuring an inventory) ends with it. */
  get stopSignal(): AbortSignal {
    return this.stopping.signal;
  }

  stop(): void {
    this.clock.stop();
    this.stopping.abort();
  }
}

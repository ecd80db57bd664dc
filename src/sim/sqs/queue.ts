import { randomUUID } from 'node:crypto';
import type { SimClock } from '../clock.js';
import { md5Hex, type MessageAttributes } from './message.js';

export interface StoredMessage {
  id: string;
  body: string;
  md5OfBody: string;
  attributes: MessageAttributes;
  senderId: string;
  /** simulated epoch ms */
  sentAt: number;
  /** simulated epoch ms before which the message cannot be received (delay, or the visibility timeout once received) */
  visibleAt: number;
  receiveCount: number;
  firstReceivedAt?: number;
  /** identifies the latest receive; a receipt handle from an earlier receive no longer acts on the message */
  receiptNonce?: string;
  deadLetterSourceArn?: string;
}

/** What a receipt handle refers to in this queue. */
export type Receipt =
  | { kind: 'invalid' } // not a handle of this queue
  | { kind: 'gone' } // the message was deleted, purged or expired
  | { kind: 'stale' } // the message was received again since
  | { kind: 'current'; message: StoredMessage };

export const DEFAULT_ATTRIBUTES: Readonly<Record<string, string>> = {
  DelaySeconds: '0',
  MaximumMessageSize: '262144',
  MessageRetentionPeriod: '345600',
  ReceiveMessageWaitTimeSeconds: '0',
  VisibilityTimeout: '30',
  SqsManagedSseEnabled: 'true',
};

type IntAttribute =
  | 'DelaySeconds'
  | 'MaximumMessageSize'
  | 'MessageRetentionPeriod'
  | 'ReceiveMessageWaitTimeSeconds'
  | 'VisibilityTimeout';

/** Where a queue sends messages received too often (its RedrivePolicy). */
export interface Redrive {
  deadLetterQueue: Queue;
  maxReceiveCount: number;
}

/** A standard SQS queue: messages, their visibility on the simulated clock, and receivers waiting for them. */
export class Queue {
  readonly messages = new Map<string, StoredMessage>();
  /** attributes set explicitly; the rest come from DEFAULT_ATTRIBUTES */
  readonly attributes = new Map<string, string>();
  readonly tags = new Map<string, string>();
  readonly createdAt: number;
  lastModifiedAt: number;
  lastPurgedAt?: number;
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly name: string,
    readonly region: string,
    readonly accountId: string,
    private readonly clock: SimClock,
  ) {
    this.createdAt = this.lastModifiedAt = clock.nowMs();
  }

  get arn(): string {
    return `arn:aws:sqs:${this.region}:${this.accountId}:${this.name}`;
  }

  attribute(name: string): string | undefined {
    return this.attributes.get(name) ?? DEFAULT_ATTRIBUTES[name];
  }

  intAttribute(name: IntAttribute): number {
    return Number(this.attribute(name));
  }

  send(
    body: string,
    attributes: MessageAttributes,
    senderId: string,
    delaySeconds = this.intAttribute('DelaySeconds'),
  ): StoredMessage {
    const now = this.clock.nowMs();
    const message: StoredMessage = {
      id: randomUUID(),
      body,
      md5OfBody: md5Hex(body),
      attributes,
      senderId,
      sentAt: now,
      visibleAt: now + delaySeconds * 1000,
      receiveCount: 0,
    };
    this.enqueue(message);
    return message;
  }

  /**
   * Takes up to `max` receivable messages, hiding each for the visibility timeout and giving it a new receipt.
   * A message already received `maxReceiveCount` times goes to the dead-letter queue instead.
   */
  receive(max: number, visibilityTimeout: number, redrive: Redrive | undefined): StoredMessage[] {
    this.dropExpired();
    const now = this.clock.nowMs();
    const received: StoredMessage[] = [];
    for (const message of this.messages.values()) {
      if (received.length >= max) break;
      if (message.visibleAt > now) continue;
      if (redrive && message.receiveCount >= redrive.maxReceiveCount) {
        this.messages.delete(message.id);
        redrive.deadLetterQueue.enqueue({
          ...message,
          visibleAt: now,
          receiveCount: 0,
          firstReceivedAt: undefined,
          receiptNonce: undefined,
          deadLetterSourceArn: this.arn,
        });
        continue;
      }
      message.receiveCount++;
      message.firstReceivedAt ??= now;
      message.visibleAt = now + visibilityTimeout * 1000;
      message.receiptNonce = randomUUID();
      received.push(message);
    }
    return received;
  }

  receiptHandle(message: StoredMessage): string {
    return Buffer.from(`${this.arn} ${message.id} ${message.receiptNonce}`).toString('base64');
  }

  resolveReceipt(handle: string): Receipt {
    const [arn, messageId, nonce, extra] = Buffer.from(handle, 'base64').toString('utf8').split(' ');
    if (arn !== this.arn || !messageId || !nonce || extra !== undefined) return { kind: 'invalid' };
    const message = this.messages.get(messageId);
    if (!message) return { kind: 'gone' };
    return message.receiptNonce === nonce ? { kind: 'current', message } : { kind: 'stale' };
  }

  delete(message: StoredMessage): void {
    this.messages.delete(message.id);
  }

  /**
   * Ends or extends the visibility timeout of a message still in flight; once its timeout has run out the call
   * changes nothing (AWS answers it with success).
   */
  changeVisibility(message: StoredMessage, visibilityTimeout: number): void {
    const now = this.clock.nowMs();
    if (message.visibleAt <= now) return;
    message.visibleAt = now + visibilityTimeout * 1000;
    this.notify();
  }

  purge(): void {
    this.messages.clear();
    this.lastPurgedAt = this.clock.nowMs();
  }

  counts(): { visible: number; inFlight: number; delayed: number } {
    this.dropExpired();
    const now = this.clock.nowMs();
    const counts = { visible: 0, inFlight: 0, delayed: 0 };
    for (const m of this.messages.values()) {
      if (m.visibleAt <= now) counts.visible++;
      else if (m.receiveCount > 0) counts.inFlight++;
      else counts.delayed++;
    }
    return counts;
  }

  /** Simulated ms until the next hidden message becomes receivable, or undefined if none is hidden. */
  msUntilNextVisible(): number | undefined {
    const now = this.clock.nowMs();
    let next: number | undefined;
    for (const m of this.messages.values()) {
      if (m.visibleAt > now && (next === undefined || m.visibleAt < next)) next = m.visibleAt;
    }
    return next === undefined ? undefined : next - now;
  }

  /** Resolves on the next change that may make a message receivable, after `wallMs`, or when `signal` aborts. */
  changed(wallMs: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, wallMs);
      timer.unref();
      this.waiters.add(done);
      signal.addEventListener('abort', done, { once: true });
      if (signal.aborted) done();
    });
  }

  /** Wakes every waiting receiver (a message arrived, became visible, or the queue was deleted). */
  notify(): void {
    for (const wake of [...this.waiters]) wake();
  }

  private enqueue(message: StoredMessage): void {
    this.messages.set(message.id, message);
    this.notify();
  }

  private dropExpired(): void {
    const oldest = this.clock.nowMs() - this.intAttribute('MessageRetentionPeriod') * 1000;
    for (const m of this.messages.values()) if (m.sentAt <= oldest) this.messages.delete(m.id);
  }
}

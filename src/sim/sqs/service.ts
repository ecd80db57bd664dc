import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { SimError, sendJson, type FaultErrors, type Route, type SimRequest, type SimService } from '../http.js';
import type { SimWorld } from '../world.js';
import { queryErrorCode, sqsError } from './errors.js';
import {
  messageAttributes,
  objectList,
  optionalInt,
  optionalString,
  parseJsonInput,
  requiredInt,
  requiredString,
  stringList,
  stringMap,
  type JsonInput,
} from './input.js';
import { hasOnlyAllowedCharacters, md5OfMessageAttributes, messageSize, type MessageAttributes } from './message.js';
import { parsePolicy, policyAllows } from './policy.js';
import { DEFAULT_ATTRIBUTES, Queue, type Receipt, type Redrive, type StoredMessage } from './queue.js';

const JSON_CONTENT_TYPE = 'application/x-amz-json-1.0';
const TARGET_PREFIX = 'AmazonSQS.';
const QUEUE_NAME = /^[A-Za-z0-9_-]{1,80}$/;
const BATCH_ENTRY_ID = /^[A-Za-z0-9_-]{1,80}$/;
const MAX_BATCH_ENTRIES = 10;
const MAX_BATCH_BYTES = 1024 * 1024;
const MAX_TAGS = 50;
/** The principal id SQS reports as SenderId for messages that SNS delivered. */
const SNS_SENDER_ID = 'AIDAIT2UOQQY3AUEKVGXU';
/** AWS refuses to recreate a queue name, and to purge a queue again, for 60 s. */
const QUEUE_COOLDOWN_MS = 60_000;

const integerIn = (min: number, max: number) => (value: string) =>
  /^\d+$/.test(value) && Number(value) >= min && Number(value) <= max ? undefined : `must be an integer from ${min} to ${max}`;
const parses = (parse: (value: string) => unknown) => (value: string) => {
  try {
    parse(value);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
};

/** Attributes a client may set, each with a check that returns what is wrong with a value. */
const SETTABLE_ATTRIBUTES: Record<string, (value: string) => string | undefined> = {
  DelaySeconds: integerIn(0, 900),
  MaximumMessageSize: integerIn(1024, 1024 * 1024),
  MessageRetentionPeriod: integerIn(60, 1_209_600),
  ReceiveMessageWaitTimeSeconds: integerIn(0, 20),
  VisibilityTimeout: integerIn(0, 43_200),
  Policy: parses(parsePolicy),
  RedrivePolicy: parses(parseRedrivePolicy),
  RedriveAllowPolicy: parses(JSON.parse),
  KmsMasterKeyId: () => undefined,
  KmsDataKeyReusePeriodSeconds: integerIn(60, 86_400),
  SqsManagedSseEnabled: (value) => (value === 'true' || value === 'false' ? undefined : 'must be true or false'),
};
/** Setting one of these to the empty string removes it. */
const REMOVABLE_ATTRIBUTES = new Set(['Policy', 'RedrivePolicy', 'RedriveAllowPolicy', 'KmsMasterKeyId']);
const FIFO_ATTRIBUTES = new Set(['FifoQueue', 'ContentBasedDeduplication', 'DeduplicationScope', 'FifoThroughputLimit']);
const COMPUTED_ATTRIBUTES = [
  'QueueArn',
  'ApproximateNumberOfMessages',
  'ApproximateNumberOfMessagesNotVisible',
  'ApproximateNumberOfMessagesDelayed',
  'CreatedTimestamp',
  'LastModifiedTimestamp',
];
const READABLE_ATTRIBUTES = new Set(['All', ...COMPUTED_ATTRIBUTES, ...Object.keys(SETTABLE_ATTRIBUTES), ...FIFO_ATTRIBUTES]);

/** One decoded JSON-protocol call. */
interface Call {
  input: JsonInput;
  region: string;
  /** Host header, so that queue URLs lead back to this endpoint however the client reached it */
  host: string;
  /** access key id of the caller, reported as SenderId */
  callerId: string;
  /** aborts when the client goes away (ends long polls) */
  signal: AbortSignal;
}

/** SQS in the AWS JSON 1.0 protocol (X-Amz-Target: AmazonSQS.Operation), standard queues only. */
export class SqsService implements SimService {
  readonly name = 'sqs';
  /** by `${region}/${name}` */
  private readonly queues = new Map<string, Queue>();
  private readonly deletedAt = new Map<string, number>();
  private readonly operations: Record<string, (call: Call) => unknown> = {
    CreateQueue: (c) => this.createQueue(c),
    GetQueueUrl: (c) => this.getQueueUrl(c),
    ListQueues: (c) => this.listQueues(c),
    DeleteQueue: (c) => this.deleteQueue(c),
    GetQueueAttributes: (c) => this.getQueueAttributes(c),
    SetQueueAttributes: (c) => this.setQueueAttributes(c),
    PurgeQueue: (c) => this.purgeQueue(c),
    SendMessage: (c) => this.send(this.queueFor(c), c.input, c.callerId),
    SendMessageBatch: (c) => this.sendBatch(c),
    ReceiveMessage: (c) => this.receiveMessage(c),
    DeleteMessage: (c) => this.deleteEntry(this.queueFor(c), c.input),
    DeleteMessageBatch: (c) => this.batch(c, (queue, entry) => this.deleteEntry(queue, entry)),
    ChangeMessageVisibility: (c) => this.changeVisibilityEntry(this.queueFor(c), c.input),
    ChangeMessageVisibilityBatch: (c) => this.batch(c, (queue, entry) => this.changeVisibilityEntry(queue, entry)),
    TagQueue: (c) => this.tagQueue(c),
    UntagQueue: (c) => this.untagQueue(c),
    ListQueueTags: (c) => this.listQueueTags(c),
  };

  constructor(readonly world: SimWorld) {}

  route(req: SimRequest): Route {
    const target = String(req.headers['x-amz-target'] ?? '');
    if (!target.startsWith(TARGET_PREFIX)) {
      throw sqsError('InvalidAction', 'This endpoint speaks the SQS AWS JSON protocol: POST / with X-Amz-Target: AmazonSQS.<Operation>');
    }
    const operation = target.slice(TARGET_PREFIX.length);
    const run = this.operations[operation];
    if (!run) throw sqsError('InvalidAction', `The action ${operation} is not valid for this endpoint.`);
    return {
      operation,
      handle: async (req, res) => {
        const abort = new AbortController();
        res.once('close', () => abort.abort());
        const output = await run({
          input: parseJsonInput(await req.body()),
          region: req.region,
          host: req.headers.host ?? '127.0.0.1',
          callerId: /Credential=([^/\s,]+)\//.exec(req.headers.authorization ?? '')?.[1] ?? 'anonymous',
          signal: abort.signal,
        });
        if (abort.signal.aborted) return;
        sendJson(res, 200, output ?? {}, { 'content-type': JSON_CONTENT_TYPE, 'x-amzn-requestid': randomUUID() });
      },
    };
  }

  sendError(res: ServerResponse, err: SimError): void {
    sendJson(
      res,
      err.status,
      { __type: `com.amazonaws.sqs#${err.code}`, message: err.message },
      {
        'content-type': JSON_CONTENT_TYPE,
        'x-amzn-requestid': randomUUID(),
        'x-amzn-query-error': `${queryErrorCode(err.code)};${err.status >= 500 ? 'Receiver' : 'Sender'}`,
        ...err.headers,
      },
    );
  }

  readonly faultErrors: FaultErrors = {
    throttle: () => sqsError('RequestThrottled', 'Request is throttled.'),
    '500': () => sqsError('InternalError', 'We encountered an internal error. Please try again.'),
    '503': () => sqsError('ServiceUnavailable', 'The request has failed due to a temporary failure of the server.'),
    auth: () => sqsError('ExpiredToken', 'The security token included in the request is expired'),
  };

  /**
   * Delivery from an SNS topic. Like AWS, it is subject to the queue policy: without a statement allowing
   * sqs:SendMessage to SNS from this topic, the message is dropped without telling the publisher.
   */
  deliver(queueArn: string, body: string, sourceTopicArn: string, attributes: MessageAttributes = {}): void {
    const queue = this.queueByArn(queueArn);
    const policy = queue?.attribute('Policy');
    const allowed =
      queue !== undefined &&
      policy !== undefined &&
      policyAllows(parsePolicy(policy), {
        principal: { Service: 'sns.amazonaws.com' },
        action: 'sqs:SendMessage',
        resource: queue.arn,
        context: { 'aws:sourcearn': sourceTopicArn, 'aws:sourceaccount': this.world.accountId },
      });
    if (!allowed) {
      const reason = queue ? 'the queue policy does not allow it' : 'no such queue';
      this.world.log.info({ queueArn, sourceTopicArn }, `SNS delivery dropped: ${reason}`);
      return;
    }
    queue.send(body, attributes, SNS_SENDER_ID);
  }

  private createQueue(c: Call) {
    const name = requiredString(c.input, 'QueueName');
    if (name.endsWith('.fifo')) throw fifoUnsupported();
    if (!QUEUE_NAME.test(name)) {
      throw sqsError('InvalidParameterValue', 'Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length');
    }
    const attributes = stringMap(c.input, 'Attributes');
    this.checkAttributes(attributes, c.region);
    const key = queueKey(c.region, name);
    const existing = this.queues.get(key);
    if (existing) {
      for (const [attribute, value] of Object.entries(attributes)) {
        if (existing.attribute(attribute) !== value) {
          throw sqsError('QueueNameExists', `A queue already exists with the same name and a different value for attribute ${attribute}`);
        }
      }
      return { QueueUrl: this.queueUrl(existing, c.host) };
    }
    const deletedAt = this.deletedAt.get(key);
    if (deletedAt !== undefined && this.world.clock.nowMs() - deletedAt < QUEUE_COOLDOWN_MS) {
      throw sqsError('QueueDeletedRecently', 'You must wait 60 seconds after deleting a queue before you can create another with the same name.');
    }
    const queue = new Queue(name, c.region, this.world.accountId, this.world.clock);
    this.applyAttributes(queue, attributes);
    this.addTags(queue, stringMap(c.input, 'tags'));
    this.queues.set(key, queue);
    return { QueueUrl: this.queueUrl(queue, c.host) };
  }

  private getQueueUrl(c: Call) {
    const name = requiredString(c.input, 'QueueName');
    const owner = optionalString(c.input, 'QueueOwnerAWSAccountId') ?? this.world.accountId;
    const queue = owner === this.world.accountId ? this.queues.get(queueKey(c.region, name)) : undefined;
    if (!queue) throw queueDoesNotExist();
    return { QueueUrl: this.queueUrl(queue, c.host) };
  }

  private listQueues(c: Call) {
    const prefix = optionalString(c.input, 'QueueNamePrefix') ?? '';
    const maxResults = optionalInt(c.input, 'MaxResults', 1, 1000);
    const token = optionalString(c.input, 'NextToken');
    const start = token === undefined ? 0 : Number(token);
    if (!Number.isInteger(start) || start < 0) throw sqsError('InvalidParameterValue', 'Invalid NextToken value.');
    const matching = [...this.queues.values()]
      .filter((q) => q.region === c.region && q.name.startsWith(prefix))
      .sort((a, b) => a.name.localeCompare(b.name));
    const page = matching.slice(start, start + (maxResults ?? 1000));
    const end = start + page.length;
    return {
      QueueUrls: page.length > 0 ? page.map((q) => this.queueUrl(q, c.host)) : undefined,
      // AWS pages only when the caller asks for pages with MaxResults.
      NextToken: maxResults !== undefined && end < matching.length ? String(end) : undefined,
    };
  }

  private deleteQueue(c: Call) {
    const queue = this.queueFor(c);
    const key = queueKey(queue.region, queue.name);
    this.queues.delete(key);
    this.deletedAt.set(key, this.world.clock.nowMs());
    queue.notify(); // pending long polls end empty
    return {};
  }

  private getQueueAttributes(c: Call) {
    const queue = this.queueFor(c);
    const names = stringList(c.input, 'AttributeNames');
    for (const name of names) {
      if (!READABLE_ATTRIBUTES.has(name)) throw sqsError('InvalidAttributeName', `Unknown Attribute ${name}.`);
    }
    const counts = queue.counts();
    const all: Record<string, string> = {
      QueueArn: queue.arn,
      ApproximateNumberOfMessages: String(counts.visible),
      ApproximateNumberOfMessagesNotVisible: String(counts.inFlight),
      ApproximateNumberOfMessagesDelayed: String(counts.delayed),
      CreatedTimestamp: String(Math.floor(queue.createdAt / 1000)),
      LastModifiedTimestamp: String(Math.floor(queue.lastModifiedAt / 1000)),
      ...DEFAULT_ATTRIBUTES,
      ...Object.fromEntries(queue.attributes),
    };
    const wanted = names.includes('All') ? Object.keys(all) : names.filter((n) => n in all);
    return wanted.length > 0 ? { Attributes: Object.fromEntries(wanted.map((n) => [n, all[n]])) } : {};
  }

  private setQueueAttributes(c: Call) {
    const queue = this.queueFor(c);
    const attributes = stringMap(c.input, 'Attributes');
    this.checkAttributes(attributes, c.region);
    this.applyAttributes(queue, attributes);
    return {};
  }

  private purgeQueue(c: Call) {
    const queue = this.queueFor(c);
    if (queue.lastPurgedAt !== undefined && this.world.clock.nowMs() - queue.lastPurgedAt < QUEUE_COOLDOWN_MS) {
      throw sqsError('PurgeQueueInProgress', `Only one PurgeQueue operation on ${queue.name} is allowed every 60 seconds.`);
    }
    queue.purge();
    return {};
  }

  private send(queue: Queue, input: JsonInput, senderId: string) {
    const body = requiredString(input, 'MessageBody');
    const delaySeconds = optionalInt(input, 'DelaySeconds', 0, 900);
    const attributes = messageAttributes(input);
    if (!hasOnlyAllowedCharacters(body)) {
      throw sqsError(
        'InvalidMessageContents',
        'Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF',
      );
    }
    const maxSize = queue.intAttribute('MaximumMessageSize');
    if (messageSize(body, attributes) > maxSize) {
      throw sqsError('InvalidParameterValue', `One or more parameters are invalid. Reason: Message must be shorter than ${maxSize} bytes.`);
    }
    const message = queue.send(body, attributes, senderId, delaySeconds);
    return {
      MessageId: message.id,
      MD5OfMessageBody: message.md5OfBody,
      MD5OfMessageAttributes: md5OfMessageAttributes(attributes),
    };
  }

  private sendBatch(c: Call) {
    let total = 0;
    for (const entry of objectList(c.input, 'Entries')) {
      if (typeof entry.MessageBody === 'string') total += Buffer.byteLength(entry.MessageBody);
    }
    if (total > MAX_BATCH_BYTES) {
      throw sqsError('BatchRequestTooLong', `Batch requests cannot be longer than ${MAX_BATCH_BYTES} bytes. You have sent ${total} bytes.`);
    }
    return this.batch(c, (queue, entry) => this.send(queue, entry, c.callerId));
  }

  private async receiveMessage(c: Call) {
    const queue = this.queueFor(c);
    const max = optionalInt(c.input, 'MaxNumberOfMessages', 1, 10) ?? 1;
    const visibilityTimeout = optionalInt(c.input, 'VisibilityTimeout', 0, 43_200) ?? queue.intAttribute('VisibilityTimeout');
    const waitSeconds = optionalInt(c.input, 'WaitTimeSeconds', 0, 20) ?? queue.intAttribute('ReceiveMessageWaitTimeSeconds');
    const systemNames = new Set([
      ...stringList(c.input, 'AttributeNames'), // deprecated spelling of MessageSystemAttributeNames
      ...stringList(c.input, 'MessageSystemAttributeNames'),
    ]);
    const attributeNames = stringList(c.input, 'MessageAttributeNames');
    // A long poll lasts WaitTimeSeconds of wall time, as the client's socket expects, while visibility timeouts run on
    // the simulated clock; the poll wakes when a message arrives or a hidden one becomes visible.
    const deadline = Date.now() + waitSeconds * 1000;
    for (;;) {
      // A client that went away receives nothing, so that no message stays hidden on its account.
      if (c.signal.aborted || !this.isLive(queue)) return {};
      const messages = queue.receive(max, visibilityTimeout, this.redriveOf(queue));
      if (messages.length > 0) {
        return { Messages: messages.map((m) => this.describeReceived(queue, m, systemNames, attributeNames)) };
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) return {};
      const untilVisible = queue.msUntilNextVisible();
      const wallMs =
        untilVisible === undefined ? remaining : Math.min(remaining, Math.ceil(untilVisible / this.world.clock.scale));
      await queue.changed(wallMs, c.signal);
    }
  }

  private describeReceived(queue: Queue, m: StoredMessage, systemNames: Set<string>, attributeNames: string[]) {
    const system: Record<string, string | undefined> = {
      SenderId: m.senderId,
      SentTimestamp: String(m.sentAt),
      ApproximateReceiveCount: String(m.receiveCount),
      ApproximateFirstReceiveTimestamp: String(m.firstReceivedAt),
      DeadLetterQueueSourceArn: m.deadLetterSourceArn,
    };
    const attributes = Object.entries(system).filter(
      ([name, value]) => value !== undefined && (systemNames.has('All') || systemNames.has(name)),
    );
    const messageAttributes = selectMessageAttributes(m.attributes, attributeNames);
    return {
      MessageId: m.id,
      ReceiptHandle: queue.receiptHandle(m),
      MD5OfBody: m.md5OfBody,
      Body: m.body,
      Attributes: attributes.length > 0 ? Object.fromEntries(attributes) : undefined,
      MessageAttributes: Object.keys(messageAttributes).length > 0 ? toJsonAttributes(messageAttributes) : undefined,
      MD5OfMessageAttributes: md5OfMessageAttributes(messageAttributes),
    };
  }

  private deleteEntry(queue: Queue, input: JsonInput) {
    const receipt = this.receipt(queue, requiredString(input, 'ReceiptHandle'));
    // A handle from an earlier receive succeeds without deleting: AWS wants the latest one.
    if (receipt.kind === 'current') queue.delete(receipt.message);
    return {};
  }

  private changeVisibilityEntry(queue: Queue, input: JsonInput) {
    const handle = requiredString(input, 'ReceiptHandle');
    const visibilityTimeout = requiredInt(input, 'VisibilityTimeout', 0, 43_200);
    const receipt = this.receipt(queue, handle);
    if (receipt.kind !== 'current') {
      throw sqsError(
        'InvalidParameterValue',
        `Value ${handle} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.`,
      );
    }
    queue.changeVisibility(receipt.message, visibilityTimeout);
    return {};
  }

  /** Runs `act` per entry of a *Batch call; an entry's error becomes its Failed result. */
  private batch(c: Call, act: (queue: Queue, entry: JsonInput) => Record<string, unknown>) {
    const queue = this.queueFor(c);
    const entries = objectList(c.input, 'Entries');
    if (entries.length === 0) throw sqsError('EmptyBatchRequest', 'There should be at least one entry in the request.');
    if (entries.length > MAX_BATCH_ENTRIES) {
      throw sqsError('TooManyEntriesInBatchRequest', `Maximum number of entries per request are ${MAX_BATCH_ENTRIES}. You have sent ${entries.length}.`);
    }
    const seen = new Set<string>();
    for (const { Id: id } of entries) {
      if (typeof id !== 'string' || !BATCH_ENTRY_ID.test(id)) {
        throw sqsError('InvalidBatchEntryId', 'A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.');
      }
      if (seen.has(id)) throw sqsError('BatchEntryIdsNotDistinct', `Id ${id} repeated.`);
      seen.add(id);
    }
    const Successful: Record<string, unknown>[] = [];
    const Failed: Record<string, unknown>[] = [];
    for (const entry of entries) {
      try {
        Successful.push({ Id: entry.Id, ...act(queue, entry) });
      } catch (e) {
        if (!(e instanceof SimError)) throw e;
        Failed.push({ Id: entry.Id, SenderFault: e.status < 500, Code: queryErrorCode(e.code), Message: e.message });
      }
    }
    return { Successful, Failed };
  }

  private tagQueue(c: Call) {
    this.addTags(this.queueFor(c), stringMap(c.input, 'Tags'));
    return {};
  }

  private untagQueue(c: Call) {
    const queue = this.queueFor(c);
    for (const key of stringList(c.input, 'TagKeys')) queue.tags.delete(key);
    return {};
  }

  private listQueueTags(c: Call) {
    const queue = this.queueFor(c);
    return queue.tags.size > 0 ? { Tags: Object.fromEntries(queue.tags) } : {};
  }

  private addTags(queue: Queue, tags: Record<string, string>): void {
    const keys = new Set([...queue.tags.keys(), ...Object.keys(tags)]);
    if (keys.size > MAX_TAGS) throw sqsError('InvalidParameterValue', `Too many tags added for queue ${queue.name}.`);
    for (const [key, value] of Object.entries(tags)) queue.tags.set(key, value);
  }

  private checkAttributes(attributes: Record<string, string>, region: string): void {
    for (const [name, value] of Object.entries(attributes)) {
      if (FIFO_ATTRIBUTES.has(name)) throw fifoUnsupported();
      const check = SETTABLE_ATTRIBUTES[name];
      if (!check) throw sqsError('InvalidAttributeName', `Unknown Attribute ${name}.`);
      if (value === '' && REMOVABLE_ATTRIBUTES.has(name)) continue;
      const problem = check(value) ?? (name === 'RedrivePolicy' ? this.deadLetterTargetProblem(value, region) : undefined);
      if (problem) throw sqsError('InvalidAttributeValue', `Invalid value for the parameter ${name}. Reason: ${problem}`);
    }
  }

  private deadLetterTargetProblem(redrivePolicy: string, region: string): string | undefined {
    const target = this.queueByArn(parseRedrivePolicy(redrivePolicy).deadLetterTargetArn);
    if (!target) return 'Dead letter target does not exist.';
    return target.region === region ? undefined : 'Dead letter target must be in the same region.';
  }

  private applyAttributes(queue: Queue, attributes: Record<string, string>): void {
    for (const [name, value] of Object.entries(attributes)) {
      if (value === '' && REMOVABLE_ATTRIBUTES.has(name)) queue.attributes.delete(name);
      else queue.attributes.set(name, value);
    }
    queue.lastModifiedAt = this.world.clock.nowMs();
  }

  private redriveOf(queue: Queue): Redrive | undefined {
    const policy = queue.attribute('RedrivePolicy');
    if (policy === undefined) return undefined;
    const { deadLetterTargetArn, maxReceiveCount } = parseRedrivePolicy(policy);
    const deadLetterQueue = this.queueByArn(deadLetterTargetArn);
    return deadLetterQueue && { deadLetterQueue, maxReceiveCount };
  }

  private receipt(queue: Queue, handle: string): Exclude<Receipt, { kind: 'invalid' }> {
    const receipt = queue.resolveReceipt(handle);
    if (receipt.kind === 'invalid') {
      throw sqsError('ReceiptHandleIsInvalid', `The input receipt handle "${handle}" is not a valid receipt handle.`);
    }
    return receipt;
  }

  /** The queue a call's QueueUrl names, in the caller's region (the URL itself carries no region). */
  private queueFor(c: Call): Queue {
    const url = requiredString(c.input, 'QueueUrl');
    const invalidAddress = () => sqsError('InvalidAddress', `The address ${url} is not valid for this endpoint.`);
    let segments: string[];
    try {
      segments = new URL(url).pathname.split('/').slice(1).map(decodeURIComponent);
    } catch {
      throw invalidAddress();
    }
    const [account, name] = segments;
    if (segments.length !== 2 || !account || !name) throw invalidAddress();
    const queue = account === this.world.accountId ? this.queues.get(queueKey(c.region, name)) : undefined;
    if (!queue) throw queueDoesNotExist();
    return queue;
  }

  private queueByArn(arn: string): Queue | undefined {
    const [prefix, partition, service, region, account, name] = arn.split(':');
    if (prefix !== 'arn' || partition !== 'aws' || service !== 'sqs' || account !== this.world.accountId) return undefined;
    return region && name ? this.queues.get(queueKey(region, name)) : undefined;
  }

  private isLive(queue: Queue): boolean {
    return this.queues.get(queueKey(queue.region, queue.name)) === queue;
  }

  private queueUrl(queue: Queue, host: string): string {
    return `http://${host}/${queue.accountId}/${queue.name}`;
  }
}

function queueKey(region: string, name: string): string {
  return `${region}/${name}`;
}

function queueDoesNotExist() {
  return sqsError('QueueDoesNotExist', 'The specified queue does not exist.');
}

function fifoUnsupported() {
  return sqsError('InvalidParameterValue', 'FIFO queues are not simulated: use a standard queue.');
}

function parseRedrivePolicy(text: string): { deadLetterTargetArn: string; maxReceiveCount: number } {
  const policy = JSON.parse(text) as { deadLetterTargetArn?: unknown; maxReceiveCount?: unknown };
  const maxReceiveCount = Number(policy.maxReceiveCount);
  if (typeof policy.deadLetterTargetArn !== 'string') throw new Error('deadLetterTargetArn is missing');
  if (!Number.isInteger(maxReceiveCount) || maxReceiveCount < 1 || maxReceiveCount > 1000) {
    throw new Error('maxReceiveCount must be an integer from 1 to 1000');
  }
  return { deadLetterTargetArn: policy.deadLetterTargetArn, maxReceiveCount };
}

/** MessageAttributeNames: `All` or `.*` for every attribute, `prefix.*` for a prefix, otherwise exact names. */
function selectMessageAttributes(attributes: MessageAttributes, names: string[]): MessageAttributes {
  const wanted = (name: string) =>
    names.some((n) => n === 'All' || n === '.*' || n === name || (n.endsWith('.*') && name.startsWith(n.slice(0, -1))));
  return Object.fromEntries(Object.entries(attributes).filter(([name]) => wanted(name)));
}

function toJsonAttributes(attributes: MessageAttributes) {
  return Object.fromEntries(
    Object.entries(attributes).map(([name, v]) => [
      name,
      { DataType: v.DataType, StringValue: v.StringValue, BinaryValue: v.BinaryValue?.toString('base64') },
    ]),
  );
}

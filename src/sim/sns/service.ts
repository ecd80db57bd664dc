import { createHash, randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { SimError, type FaultErrors, type Route, type SimRequest, type SimService } from '../http.js';
import { messageSize, type MessageAttributes } from '../sqs/message.js';
import type { SimWorld } from '../world.js';
import { entryMap, entryXml, indexedGroups, readQueryParameters, sendQueryError, sendQueryResult } from './query.js';

const TOPIC_NAME = /^[A-Za-z0-9_-]{1,256}$/;
const SQS_QUEUE_ARN = /^arn:aws:sqs:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,80}$/;
const PAGE_SIZE = 100;
const MAX_TAGS = 50;
const MAX_MESSAGE_BYTES = 256 * 1024;
const MAX_MESSAGE_ATTRIBUTES = 10;
const DEFAULT_EFFECTIVE_DELIVERY_POLICY = JSON.stringify({
  http: {
    defaultHealthyRetryPolicy: {
      minDelayTarget: 20,
      maxDelayTarget: 20,
      numRetries: 3,
      numMaxDelayRetries: 0,
      numNoDelayRetries: 0,
      numMinDelayRetries: 0,
      backoffFunction: 'linear',
    },
    disableSubscriptionOverrides: false,
    defaultRequestPolicy: { headerContentType: 'text/plain; charset=UTF-8' },
  },
});

const anyValue = () => true;
const isJson = (value: string) => {
  try {
    JSON.parse(value);
    return true;
  } catch {
    return false;
  }
};
const FEEDBACK_ATTRIBUTES = ['Application', 'HTTP', 'Lambda', 'SQS', 'Firehose'].flatMap((p) => [
  `${p}SuccessFeedbackRoleArn`,
  `${p}SuccessFeedbackSampleRate`,
  `${p}FailureFeedbackRoleArn`,
]);
/** Topic attributes a client may set, each with a validity check. */
const TOPIC_ATTRIBUTES: Record<string, (value: string) => boolean> = {
  DisplayName: (v) => v.length <= 100,
  Policy: isJson,
  DeliveryPolicy: isJson,
  DataProtectionPolicy: isJson,
  KmsMasterKeyId: anyValue,
  SignatureVersion: (v) => v === '1' || v === '2',
  TracingConfig: (v) => v === 'PassThrough' || v === 'Active',
  ...Object.fromEntries(FEEDBACK_ATTRIBUTES.map((name) => [name, anyValue])),
};
const FIFO_TOPIC_ATTRIBUTES = new Set(['FifoTopic', 'ContentBasedDeduplication', 'ArchivePolicy', 'FifoThroughputScope']);

interface Subscription {
  arn: string;
  topicArn: string;
  /** the queue ARN (the simulator delivers only to SQS) */
  endpoint: string;
  rawMessageDelivery: boolean;
}

interface Topic {
  arn: string;
  name: string;
  region: string;
  attributes: Map<string, string>;
  tags: Map<string, string>;
  /** by subscription ARN */
  subscriptions: Map<string, Subscription>;
}

type Action = (params: URLSearchParams, region: string) => Record<string, unknown> | undefined;

/** SNS in the AWS Query protocol, with topics that deliver to SQS queues. */
export class SnsService implements SimService {
  readonly name = 'sns';
  /** by topic ARN */
  private readonly topics = new Map<string, Topic>();
  private readonly actions: Record<string, Action> = {
    CreateTopic: (p, region) => this.createTopic(p, region),
    DeleteTopic: (p, region) => this.deleteTopic(p, region),
    ListTopics: (p, region) => this.listTopics(p, region),
    GetTopicAttributes: (p, region) => this.getTopicAttributes(p, region),
    SetTopicAttributes: (p, region) => this.setTopicAttributes(p, region),
    Subscribe: (p, region) => this.subscribe(p, region),
    Unsubscribe: (p) => this.unsubscribe(p),
    ListSubscriptions: (p, region) => this.listSubscriptions(p, region),
    ListSubscriptionsByTopic: (p, region) => this.listSubscriptionsByTopic(p, region),
    GetSubscriptionAttributes: (p) => this.getSubscriptionAttributes(p),
    SetSubscriptionAttributes: (p) => this.setSubscriptionAttributes(p),
    TagResource: (p, region) => this.tagResource(p, region),
    UntagResource: (p, region) => this.untagResource(p, region),
    ListTagsForResource: (p, region) => this.listTagsForResource(p, region),
    Publish: (p, region) => this.publishAction(p, region),
  };

  constructor(readonly world: SimWorld) {}

  /** The Query protocol names the action in the form body, so routing reads the (small) body first. */
  async route(req: SimRequest): Promise<Route> {
    const params = await readQueryParameters(req);
    const action = params.get('Action') ?? '';
    const run = this.actions[action];
    if (!run) throw new SimError(400, 'InvalidAction', `The action ${action} is not valid for this web service.`);
    return { operation: action, handle: (req, res) => sendQueryResult(res, action, run(params, req.region)) };
  }

  sendError(res: ServerResponse, err: SimError): void {
    sendQueryError(res, err);
  }

  readonly faultErrors: FaultErrors = {
    throttle: () => new SimError(400, 'Throttling', 'Rate exceeded'),
    '500': () => new SimError(500, 'InternalError', 'Internal service error'),
    '503': () => new SimError(503, 'ServiceUnavailable', 'Service is unavailable'),
    auth: () => new SimError(403, 'ExpiredToken', 'The security token included in the request is expired'),
  };

  /**
   * Publishes to a topic and delivers to its SQS subscriptions at once; returns the MessageId. Glacier's job
   * notifications come here directly: for a topic that does not exist (any more) the message is lost, as AWS
   * loses a notification it cannot publish, and the result is undefined.
   */
  publish(topicArn: string, message: string, subject?: string, attributes: MessageAttributes = {}): string | undefined {
    const topic = this.topics.get(topicArn);
    if (!topic) {
      this.world.log.info({ topicArn }, 'notification lost: no such topic');
      return undefined;
    }
    return this.fanOut(topic, message, subject, attributes);
  }

  /** Delivers one published message to every subscription of the topic; returns its MessageId. */
  private fanOut(topic: Topic, message: string, subject: string | undefined, attributes: MessageAttributes): string {
    const messageId = randomUUID();
    const timestamp = this.world.clock.now().toISOString();
    for (const subscription of topic.subscriptions.values()) {
      const body = subscription.rawMessageDelivery
        ? message
        : JSON.stringify(this.envelope(topic, subscription, { messageId, message, subject, timestamp, attributes }));
      this.world.sqs.deliver(subscription.endpoint, body, topic.arn, subscription.rawMessageDelivery ? attributes : {});
    }
    return messageId;
  }

  /**
   * The JSON document SNS delivers without RawMessageDelivery. Signature has the right form but cannot be verified:
   * SNS signs with a key whose certificate only AWS serves.
   */
  private envelope(
    topic: Topic,
    subscription: Subscription,
    n: { messageId: string; message: string; subject: string | undefined; timestamp: string; attributes: MessageAttributes },
  ) {
    const signatureVersion = topic.attributes.get('SignatureVersion') ?? '1';
    const signed = ['Message', n.message, 'MessageId', n.messageId, ...(n.subject === undefined ? [] : ['Subject', n.subject])]
      .concat(['Timestamp', n.timestamp, 'TopicArn', topic.arn, 'Type', 'Notification'])
      .map((line) => `${line}\n`)
      .join('');
    const snsHost = `https://sns.${topic.region}.amazonaws.com`;
    const attributeNames = Object.keys(n.attributes);
    return {
      Type: 'Notification',
      MessageId: n.messageId,
      TopicArn: topic.arn,
      Subject: n.subject,
      Message: n.message,
      Timestamp: n.timestamp,
      SignatureVersion: signatureVersion,
      Signature: createHash(signatureVersion === '2' ? 'sha256' : 'sha1').update(signed).digest('base64'),
      SigningCertURL: `${snsHost}/SimpleNotificationService-simulator.pem`,
      UnsubscribeURL: `${snsHost}/?Action=Unsubscribe&SubscriptionArn=${subscription.arn}`,
      MessageAttributes:
        attributeNames.length === 0
          ? undefined
          : Object.fromEntries(
              Object.entries(n.attributes).map(([name, v]) => [
                name,
                { Type: v.DataType, Value: v.StringValue ?? v.BinaryValue?.toString('base64') },
              ]),
            ),
    };
  }

  private createTopic(p: URLSearchParams, region: string) {
    const name = required(p, 'Name');
    const attributes = entryMap(p, 'Attributes');
    if (name.endsWith('.fifo')) throw fifoUnsupported();
    if (!TOPIC_NAME.test(name)) throw invalidParameter('Topic Name');
    checkTopicAttributes(attributes);
    const tags = tagList(p);
    const arn = `arn:aws:sns:${region}:${this.world.accountId}:${name}`;
    const existing = this.topics.get(arn);
    if (existing) {
      if ([...attributes].some(([key, value]) => existing.attributes.get(key) !== value)) {
        throw invalidParameter('Attributes Reason: Topic already exists with different attributes');
      }
      const sameTags = tags.size === existing.tags.size && [...tags].every(([key, value]) => existing.tags.get(key) === value);
      if (tags.size > 0 && !sameTags) throw invalidParameter('Tags Reason: Topic already exists with different tags');
      return { TopicArn: arn };
    }
    if (tags.size > MAX_TAGS) throw tagLimitExceeded();
    this.topics.set(arn, { arn, name, region, attributes, tags, subscriptions: new Map() });
    return { TopicArn: arn };
  }

  /** Deleting a topic that does not exist succeeds, as in AWS. */
  private deleteTopic(p: URLSearchParams, region: string) {
    const arn = topicArnParameter(p, 'TopicArn', region);
    this.topics.delete(arn);
    return undefined;
  }

  private listTopics(p: URLSearchParams, region: string) {
    const topics = [...this.topics.values()].filter((t) => t.region === region).sort((a, b) => a.name.localeCompare(b.name));
    const { page, nextToken } = paginate(topics, p.get('NextToken'));
    return { Topics: { member: page.map((t) => ({ TopicArn: t.arn })) }, NextToken: nextToken };
  }

  private getTopicAttributes(p: URLSearchParams, region: string) {
    const topic = this.topic(p, region);
    const attributes = new Map([
      ['TopicArn', topic.arn],
      ['Owner', this.world.accountId],
      ['Policy', JSON.stringify(defaultTopicPolicy(topic.arn, this.world.accountId))],
      ['DisplayName', ''],
      ['SubscriptionsConfirmed', String(topic.subscriptions.size)],
      ['SubscriptionsPending', '0'],
      ['SubscriptionsDeleted', '0'],
      ['EffectiveDeliveryPolicy', DEFAULT_EFFECTIVE_DELIVERY_POLICY],
      ...topic.attributes,
    ]);
    return { Attributes: entryXml(attributes) };
  }

  private setTopicAttributes(p: URLSearchParams, region: string) {
    const topic = this.topic(p, region);
    const name = required(p, 'AttributeName');
    const value = p.get('AttributeValue') ?? '';
    checkTopicAttributes(new Map([[name, value]]));
    topic.attributes.set(name, value);
    return undefined;
  }

  private subscribe(p: URLSearchParams, region: string) {
    const topic = this.topic(p, region);
    const protocol = required(p, 'Protocol');
    const endpoint = p.get('Endpoint') ?? '';
    if (protocol !== 'sqs') throw invalidParameter(`Protocol Reason: the simulator delivers only to sqs, not ${protocol}`);
    if (!SQS_QUEUE_ARN.test(endpoint)) throw invalidParameter('SQS endpoint ARN');
    const attributes = entryMap(p, 'Attributes');
    const rawMessageDelivery = subscriptionAttributes(attributes) ?? false;
    const existing = [...topic.subscriptions.values()].find((s) => s.endpoint === endpoint);
    if (existing) {
      if (attributes.has('RawMessageDelivery') && existing.rawMessageDelivery !== rawMessageDelivery) {
        throw invalidParameter('Attributes Reason: Subscription already exists with different attributes');
      }
      return { SubscriptionArn: existing.arn };
    }
    // SQS subscriptions in the same account are confirmed at once, so the real ARN comes back immediately.
    const subscription: Subscription = { arn: `${topic.arn}:${randomUUID()}`, topicArn: topic.arn, endpoint, rawMessageDelivery };
    topic.subscriptions.set(subscription.arn, subscription);
    return { SubscriptionArn: subscription.arn };
  }

  /** Unsubscribing twice succeeds: AWS answers an unknown subscription with success. */
  private unsubscribe(p: URLSearchParams) {
    const arn = required(p, 'SubscriptionArn');
    this.topics.get(topicOfSubscription(arn))?.subscriptions.delete(arn);
    return undefined;
  }

  private listSubscriptions(p: URLSearchParams, region: string) {
    const subscriptions = [...this.topics.values()]
      .filter((t) => t.region === region)
      .flatMap((t) => [...t.subscriptions.values()]);
    return this.subscriptionList(subscriptions, p.get('NextToken'));
  }

  private listSubscriptionsByTopic(p: URLSearchParams, region: string) {
    return this.subscriptionList([...this.topic(p, region).subscriptions.values()], p.get('NextToken'));
  }

  private subscriptionList(subscriptions: Subscription[], token: string | null) {
    const { page, nextToken } = paginate(subscriptions, token);
    const member = page.map((s) => ({
      SubscriptionArn: s.arn,
      Owner: this.world.accountId,
      Protocol: 'sqs',
      Endpoint: s.endpoint,
      TopicArn: s.topicArn,
    }));
    return { Subscriptions: { member }, NextToken: nextToken };
  }

  private getSubscriptionAttributes(p: URLSearchParams) {
    const s = this.subscription(p);
    const attributes = new Map([
      ['SubscriptionArn', s.arn],
      ['TopicArn', s.topicArn],
      ['Owner', this.world.accountId],
      ['Protocol', 'sqs'],
      ['Endpoint', s.endpoint],
      ['ConfirmationWasAuthenticated', 'true'],
      ['PendingConfirmation', 'false'],
      ['RawMessageDelivery', String(s.rawMessageDelivery)],
      ['SubscriptionPrincipal', `arn:aws:iam::${this.world.accountId}:root`],
    ]);
    return { Attributes: entryXml(attributes) };
  }

  private setSubscriptionAttributes(p: URLSearchParams) {
    const s = this.subscription(p);
    const rawMessageDelivery = subscriptionAttributes(new Map([[required(p, 'AttributeName'), p.get('AttributeValue') ?? '']]));
    if (rawMessageDelivery !== undefined) s.rawMessageDelivery = rawMessageDelivery;
    return undefined;
  }

  private tagResource(p: URLSearchParams, region: string) {
    const topic = this.taggedTopic(p, region);
    const tags = tagList(p);
    if (new Set([...topic.tags.keys(), ...tags.keys()]).size > MAX_TAGS) throw tagLimitExceeded();
    for (const [key, value] of tags) topic.tags.set(key, value);
    return {};
  }

  private untagResource(p: URLSearchParams, region: string) {
    const topic = this.taggedTopic(p, region);
    for (const [name, key] of p) if (name.startsWith('TagKeys.member.')) topic.tags.delete(key);
    return {};
  }

  private listTagsForResource(p: URLSearchParams, region: string) {
    const topic = this.taggedTopic(p, region);
    return { Tags: { member: [...topic.tags].map(([Key, Value]) => ({ Key, Value })) } };
  }

  private publishAction(p: URLSearchParams, region: string) {
    if (p.get('PhoneNumber')) throw invalidParameter('PhoneNumber Reason: the simulator publishes only to topics');
    const arnParameter = p.has('TopicArn') ? 'TopicArn' : 'TargetArn';
    if (!p.get(arnParameter)) throw invalidParameter('TopicArn or TargetArn Reason: no value for required parameter');
    const topic = this.topic(p, region, arnParameter);
    const rawMessage = p.get('Message') ?? '';
    if (rawMessage === '') throw invalidParameter('Empty message');
    const message = p.get('MessageStructure') === 'json' ? sqsMessageOf(rawMessage) : rawMessage;
    const subject = p.get('Subject') ?? undefined;
    // Subjects are ASCII, start with a letter, digit or punctuation, have no line breaks, and are under 100 characters.
    if (subject !== undefined && !/^[!-~][ -~]{0,98}$/.test(subject)) throw invalidParameter('Subject');
    const attributes = publishedAttributes(p);
    if (messageSize(rawMessage, attributes) > MAX_MESSAGE_BYTES) {
      throw invalidParameter('Message too long');
    }
    return { MessageId: this.fanOut(topic, message, subject, attributes) };
  }

  /** The topic a call names (TopicArn, or another ARN parameter), looked up in the caller's region. */
  private topic(p: URLSearchParams, region: string, parameter = 'TopicArn'): Topic {
    const topic = this.topics.get(topicArnParameter(p, parameter, region));
    if (!topic) throw topicNotFound();
    return topic;
  }

  private taggedTopic(p: URLSearchParams, region: string): Topic {
    const topic = this.topics.get(required(p, 'ResourceArn'));
    if (!topic || topic.region !== region) throw new SimError(404, 'ResourceNotFound', 'Resource does not exist');
    return topic;
  }

  private subscription(p: URLSearchParams): Subscription {
    const arn = required(p, 'SubscriptionArn');
    const subscription = this.topics.get(topicOfSubscription(arn))?.subscriptions.get(arn);
    if (!subscription) throw new SimError(404, 'NotFound', 'Subscription does not exist');
    return subscription;
  }
}

/** A required parameter; AWS's request validation words a missing one like this. */
function required(p: URLSearchParams, name: string): string {
  const value = p.get(name);
  if (value === null || value === '') {
    const member = name[0]!.toLowerCase() + name.slice(1);
    throw new SimError(400, 'ValidationError', `1 validation error detected: Value null at '${member}' failed to satisfy constraint: Member must not be null`);
  }
  return value;
}

/** A topic ARN parameter, well formed and in the caller's region. */
function topicArnParameter(p: URLSearchParams, name: string, region: string): string {
  const arn = required(p, name);
  const parts = arn.split(':');
  if (parts.length !== 6 || parts[0] !== 'arn' || parts[2] !== 'sns' || !TOPIC_NAME.test(parts[5]!)) throw invalidParameter(name);
  if (parts[3] !== region) throw topicNotFound();
  return arn;
}

function topicOfSubscription(subscriptionArn: string): string {
  return subscriptionArn.split(':').slice(0, 6).join(':');
}

function checkTopicAttributes(attributes: Map<string, string>): void {
  for (const [name, value] of attributes) {
    if (FIFO_TOPIC_ATTRIBUTES.has(name)) throw fifoUnsupported();
    const valid = TOPIC_ATTRIBUTES[name];
    if (!valid) throw invalidParameter('AttributeName');
    if (!valid(value)) throw invalidParameter(`Attributes Reason: ${name}: Invalid value [${value}]`);
  }
}

/** Checks subscription attributes and returns RawMessageDelivery, the one that matters for SQS, if given. */
function subscriptionAttributes(attributes: Map<string, string>): boolean | undefined {
  for (const [name, value] of attributes) {
    if (name !== 'RawMessageDelivery') throw invalidParameter(`Attributes Reason: ${name} is not supported by the simulator`);
    if (value !== 'true' && value !== 'false') throw invalidParameter(`Attributes Reason: RawMessageDelivery: Invalid value [${value}]. Must be true or false.`);
  }
  const raw = attributes.get('RawMessageDelivery');
  return raw === undefined ? undefined : raw === 'true';
}

function tagList(p: URLSearchParams): Map<string, string> {
  const tags = new Map<string, string>();
  for (const { Key: key, Value: value } of indexedGroups(p, 'Tags.member')) {
    if (!key || key.length > 128 || (value ?? '').length > 256) throw invalidParameter('Tags');
    tags.set(key, value ?? '');
  }
  return tags;
}

/** With MessageStructure=json, SQS subscribers get the "sqs" entry, else the required "default" one. */
function sqsMessageOf(structured: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(structured);
  } catch {
    throw invalidParameter('Message Structure - JSON message body failed to parse');
  }
  const entries = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>;
  if (typeof entries.default !== 'string') throw invalidParameter('Message Structure - No default entry in JSON message body');
  return typeof entries.sqs === 'string' ? entries.sqs : entries.default;
}

/** `MessageAttributes.entry.N.Name` with `.Value.DataType` and `.Value.StringValue` or `.Value.BinaryValue` (base64). */
function publishedAttributes(p: URLSearchParams): MessageAttributes {
  const entries = indexedGroups(p, 'MessageAttributes.entry');
  if (entries.length > MAX_MESSAGE_ATTRIBUTES) throw invalidParameter('MessageAttributes Reason: too many attributes');
  const attributes: MessageAttributes = {};
  for (const entry of entries) {
    const name = entry.Name ?? '';
    const dataType = entry['Value.DataType'] ?? '';
    const base = dataType.split('.')[0];
    if (!name || !['String', 'Number', 'Binary'].includes(base!)) {
      throw invalidParameter(`The message attribute '${name}' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.`);
    }
    const binary = entry['Value.BinaryValue'];
    const text = entry['Value.StringValue'];
    if (base === 'Binary' ? !binary : !text) {
      throw invalidParameter(`The message attribute '${name}' must contain non-empty message attribute value for message attribute type '${dataType}'.`);
    }
    attributes[name] =
      base === 'Binary'
        ? { DataType: dataType, BinaryValue: Buffer.from(binary!, 'base64') }
        : { DataType: dataType, StringValue: text };
  }
  return attributes;
}

function paginate<T>(items: T[], token: string | null): { page: T[]; nextToken?: string } {
  const start = token ? Number(token) : 0;
  if (!Number.isInteger(start) || start < 0) throw invalidParameter('NextToken');
  const end = start + PAGE_SIZE;
  return { page: items.slice(start, end), nextToken: end < items.length ? String(end) : undefined };
}

/** The policy AWS gives a new topic: the owning account may do everything. */
function defaultTopicPolicy(topicArn: string, accountId: string) {
  return {
    Version: '2008-10-17',
    Id: '__default_policy_ID',
    Statement: [
      {
        Sid: '__default_statement_ID',
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: [
          'SNS:GetTopicAttributes',
          'SNS:SetTopicAttributes',
          'SNS:AddPermission',
          'SNS:RemovePermission',
          'SNS:DeleteTopic',
          'SNS:Subscribe',
          'SNS:ListSubscriptionsByTopic',
          'SNS:Publish',
        ],
        Resource: topicArn,
        Condition: { StringEquals: { 'AWS:SourceOwner': accountId } },
      },
    ],
  };
}

function invalidParameter(what: string): SimError {
  return new SimError(400, 'InvalidParameter', `Invalid parameter: ${what}`);
}

function topicNotFound(): SimError {
  return new SimError(404, 'NotFound', 'Topic does not exist');
}

function tagLimitExceeded(): SimError {
  return new SimError(400, 'TagLimitExceeded', `Could not complete request: tag quota of ${MAX_TAGS} per resource exceeded`);
}

function fifoUnsupported(): SimError {
  return invalidParameter('FIFO topics are not simulated: use a standard topic');
}

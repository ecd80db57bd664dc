import { CreateTopicCommand, DeleteTopicCommand, SubscribeCommand, UnsubscribeCommand, type SNSClient } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SetQueueAttributesCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { isNotFound } from '../aws/errors.js';
import { withRetries } from '../aws/retry.js';

/** The temporary topic and queue of one transfer; their names carry the transfer id. */
export interface NotificationChannel {
  topicArn: string;
  queueUrl: string;
  queueArn: string;
  subscriptionArn: string;
}

/** A Glacier job completion, as published to SNS (the DescribeJob document). */
export interface JobNotice {
  JobId: string;
  Action?: string;
  ArchiveId?: string | null;
  /** The description the job was started with: ours name the transfer */
  JobDescription?: string | null;
  StatusCode?: 'InProgress' | 'Succeeded' | 'Failed';
  StatusMessage?: string | null;
  CompletionDate?: string | null;
  Completed?: boolean;
}

export const RESOURCE_TAG = { Key: 'created-by', Value: 'glacier-copy' };

export function channelName(transferId: string): string {
  return `glacier-copy-${transferId}`;
}

/**
 * Creates (or finds again: both creates are idempotent by name) the transfer's topic and queue. The queue
 * accepts messages only from this topic (`aws:SourceArn`), with raw delivery so each message is the job
 * document itself.
 */
export async function openChannel(
  sns: SNSClient,
  sqs: SQSClient,
  transferId: string,
  /** Told of each resource as soon as it exists, so that a failure halfway leaves nothing unrecorded */
  record: (created: Partial<NotificationChannel>) => void,
  queueRecreateDelayMs = 15_000,
): Promise<NotificationChannel> {
  const name = channelName(transferId);
  const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: name, Tags: [RESOURCE_TAG] }));
  record({ topicArn: TopicArn! });
  // The queue of a transfer that ended a moment ago (then resumed with --retry-failed) cannot be recreated for
  // 60 s after its deletion: wait that out.
  const { QueueUrl } = await withRetries(
    () =>
      sqs.send(
        new CreateQueueCommand({ QueueName: name, Attributes: { MessageRetentionPeriod: '1209600' }, tags: { [RESOURCE_TAG.Key]: RESOURCE_TAG.Value } }),
      ),
    { attempts: 8, baseDelayMs: queueRecreateDelayMs, maxDelayMs: queueRecreateDelayMs, retryable: (e) => /QueueDeletedRecently/.test((e as Error).name ?? '') },
  );
  const attrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
  const queueArn = attrs.Attributes!.QueueArn!;
  record({ queueUrl: QueueUrl!, queueArn });
  const policy = {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'glacier-copy-topic-only',
        Effect: 'Allow',
        Principal: { Service: 'sns.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: queueArn,
        Condition: { ArnEquals: { 'aws:SourceArn': TopicArn } },
      },
    ],
  };
  await sqs.send(new SetQueueAttributesCommand({ QueueUrl, Attributes: { Policy: JSON.stringify(policy) } }));
  const { SubscriptionArn } = await sns.send(
    new SubscribeCommand({ TopicArn, Protocol: 'sqs', Endpoint: queueArn, Attributes: { RawMessageDelivery: 'true' }, ReturnSubscriptionArn: true }),
  );
  return { topicArn: TopicArn!, queueUrl: QueueUrl!, queueArn, subscriptionArn: SubscriptionArn! };
}

/** Removes the topic, subscription and queue; what is already gone is fine. */
export async function closeChannel(sns: SNSClient, sqs: SQSClient, channel: Partial<NotificationChannel>): Promise<void> {
  const ignoreGone = (e: unknown) => {
    if (!isNotFound(e) && !/NonExistentQueue|QueueDoesNotExist/.test((e as Error).name ?? '')) throw e;
  };
  if (channel.subscriptionArn) await sns.send(new UnsubscribeCommand({ SubscriptionArn: channel.subscriptionArn })).catch(ignoreGone);
  if (channel.topicArn) await sns.send(new DeleteTopicCommand({ TopicArn: channel.topicArn })).catch(ignoreGone);
  if (channel.queueUrl) await sqs.send(new DeleteQueueCommand({ QueueUrl: channel.queueUrl })).catch(ignoreGone);
}

/** Parses a queue message: the raw job document, or an SNS envelope around it. Undefined for anything else. */
export function parseJobNotice(body: string): JobNotice | undefined {
  try {
    let doc = JSON.parse(body) as Record<string, unknown>;
    if (doc.Type === 'Notification' && typeof doc.Message === 'string') doc = JSON.parse(doc.Message) as Record<string, unknown>;
    return typeof doc.JobId === 'string' ? (doc as unknown as JobNotice) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * One long poll of the queue: returns the notices received and deletes their messages once `handle` has
 * recorded them, so a crash in between redelivers them rather than losing them.
 */
export async function receiveNotices(
  sqs: SQSClient,
  queueUrl: string,
  handle: (notices: JobNotice[]) => void,
  options: { waitSeconds: number; signal?: AbortSignal },
): Promise<number> {
  const out = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: options.waitSeconds, VisibilityTimeout: 120 }),
    { abortSignal: options.signal },
  );
  const messages = out.Messages ?? [];
  if (messages.length === 0) return 0;
  const notices = messages.map((m) => parseJobNotice(m.Body ?? '')).filter((n): n is JobNotice => n !== undefined);
  handle(notices);
  await sqs.send(
    new DeleteMessageBatchCommand({
      QueueUrl: queueUrl,
      Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
    }),
  );
  return notices.length;
}

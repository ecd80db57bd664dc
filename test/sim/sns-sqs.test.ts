import { execFile } from 'node:child_process';
import { hasAwsCli, hasBoto3, reportMissing } from '../helpers/external.js';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateTopicCommand,
  DeleteTopicCommand,
  GetSubscriptionAttributesCommand,
  GetTopicAttributesCommand,
  ListSubscriptionsByTopicCommand,
  ListTagsForResourceCommand,
  ListTopicsCommand,
  PublishCommand,
  SetSubscriptionAttributesCommand,
  SetTopicAttributesCommand,
  SubscribeCommand,
  UnsubscribeCommand,
} from '@aws-sdk/client-sns';
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  ListQueueTagsCommand,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
  SQSClient,
  TagQueueCommand,
  type Message,
} from '@aws-sdk/client-sqs';
import { startSimHarness, TEST_ENV, type SimHarness } from '../helpers/sim.js';

const run = promisify(execFile);

// 100× simulated time: a 30 s visibility timeout runs out after 0.3 s of wall time.
const TIME_SCALE = 100;

let h: SimHarness;
beforeAll(async () => {
  h = await startSimHarness({ timeScale: TIME_SCALE });
});
afterAll(async () => {
  await h?.stop();
});

let nameCounter = 0;
/** Fresh names per test: AWS (and so the simulator) refuses to recreate a deleted queue's name for 60 s. */
function uniqueName(prefix: string): string {
  return `${prefix}-${++nameCounter}`;
}

async function createQueue(attributes: Record<string, string> = {}): Promise<{ url: string; arn: string }> {
  const { QueueUrl } = await h.clients.sqs.send(new CreateQueueCommand({ QueueName: uniqueName('queue'), Attributes: attributes }));
  const { Attributes } = await h.clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
  return { url: QueueUrl!, arn: Attributes!.QueueArn! };
}

async function createTopic(): Promise<string> {
  return (await h.clients.sns.send(new CreateTopicCommand({ Name: uniqueName('topic') }))).TopicArn!;
}

/** The queue policy AWS documents for SNS fan-out: SendMessage for sns.amazonaws.com from the given topics only. */
function snsPolicy(queueArn: string, topicArns: string[]): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Service: 'sns.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: queueArn,
        Condition: { ArnEquals: { 'aws:SourceArn': topicArns } },
      },
    ],
  });
}

/** A queue subscribed to `topicArn`, with a policy that lets the topic deliver. */
async function subscribedQueue(topicArn: string, rawMessageDelivery = false) {
  const queue = await createQueue();
  await h.clients.sqs.send(new SetQueueAttributesCommand({ QueueUrl: queue.url, Attributes: { Policy: snsPolicy(queue.arn, [topicArn]) } }));
  const { SubscriptionArn } = await h.clients.sns.send(
    new SubscribeCommand({
      TopicArn: topicArn,
      Protocol: 'sqs',
      Endpoint: queue.arn,
      Attributes: rawMessageDelivery ? { RawMessageDelivery: 'true' } : undefined,
    }),
  );
  return { ...queue, subscriptionArn: SubscriptionArn! };
}

async function receive(queueUrl: string, options: { wait?: number; max?: number } = {}): Promise<Message[]> {
  const { Messages } = await h.clients.sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      WaitTimeSeconds: options.wait ?? 0,
      MaxNumberOfMessages: options.max ?? 10,
      MessageSystemAttributeNames: ['All'],
      MessageAttributeNames: ['All'],
    }),
  );
  return Messages ?? [];
}

async function rejection(promise: Promise<unknown>): Promise<Error & { $metadata: { httpStatusCode?: number }; $fault?: string }> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof Error)) throw new Error('expected the call to fail');
  return error as Error & { $metadata: { httpStatusCode?: number } };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('SNS topics', () => {
  it('creates a topic idempotently by name, keeps attributes and tags, and deletes it', async () => {
    const { sns } = h.clients;
    const Name = uniqueName('lifecycle');
    const created = await sns.send(new CreateTopicCommand({ Name, Attributes: { DisplayName: 'jobs' }, Tags: [{ Key: 'team', Value: 'archive' }] }));
    expect(created.TopicArn).toBe(`arn:aws:sns:us-east-1:${h.sim.world.accountId}:${Name}`);
    const again = await sns.send(new CreateTopicCommand({ Name, Attributes: { DisplayName: 'jobs' } }));
    expect(again.TopicArn).toBe(created.TopicArn);

    const conflict = await rejection(sns.send(new CreateTopicCommand({ Name, Attributes: { DisplayName: 'other' } })));
    expect(conflict.name).toBe('InvalidParameterException');
    expect(conflict.message).toContain('Topic already exists with different attributes');

    const { Topics } = await sns.send(new ListTopicsCommand({}));
    expect(Topics).toContainEqual({ TopicArn: created.TopicArn });

    await sns.send(new SetTopicAttributesCommand({ TopicArn: created.TopicArn, AttributeName: 'DisplayName', AttributeValue: 'renamed' }));
    const { Attributes } = await sns.send(new GetTopicAttributesCommand({ TopicArn: created.TopicArn }));
    expect(Attributes).toMatchObject({ TopicArn: created.TopicArn, Owner: h.sim.world.accountId, DisplayName: 'renamed', SubscriptionsConfirmed: '0' });
    expect(JSON.parse(Attributes!.Policy!).Statement[0].Resource).toBe(created.TopicArn);

    const { Tags } = await sns.send(new ListTagsForResourceCommand({ ResourceArn: created.TopicArn }));
    expect(Tags).toEqual([{ Key: 'team', Value: 'archive' }]);

    await sns.send(new DeleteTopicCommand({ TopicArn: created.TopicArn }));
    const gone = await rejection(sns.send(new GetTopicAttributesCommand({ TopicArn: created.TopicArn })));
    expect(gone.name).toBe('NotFoundException');
    expect(gone.$metadata.httpStatusCode).toBe(404);
    // Deleting a topic that does not exist succeeds, as in AWS.
    await sns.send(new DeleteTopicCommand({ TopicArn: created.TopicArn }));
  });

  it('answers calls on an unknown topic with NotFound', async () => {
    const missing = `arn:aws:sns:us-east-1:${h.sim.world.accountId}:no-such-topic`;
    for (const call of [
      h.clients.sns.send(new PublishCommand({ TopicArn: missing, Message: 'x' })),
      h.clients.sns.send(new SubscribeCommand({ TopicArn: missing, Protocol: 'sqs', Endpoint: `arn:aws:sqs:us-east-1:${h.sim.world.accountId}:q` })),
      h.clients.sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: missing })),
    ]) {
      const error = await rejection(call);
      expect(error.name).toBe('NotFoundException');
      expect(error.message).toBe('Topic does not exist');
      expect(error.$metadata.httpStatusCode).toBe(404);
    }
  });

  it('subscribes a queue once per endpoint and unsubscribes it', async () => {
    const topicArn = await createTopic();
    const queue = await subscribedQueue(topicArn);
    const again = await h.clients.sns.send(new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: queue.arn }));
    expect(again.SubscriptionArn).toBe(queue.subscriptionArn);
    expect(queue.subscriptionArn.startsWith(`${topicArn}:`)).toBe(true);

    const { Subscriptions } = await h.clients.sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: topicArn }));
    expect(Subscriptions).toEqual([
      { SubscriptionArn: queue.subscriptionArn, Owner: h.sim.world.accountId, Protocol: 'sqs', Endpoint: queue.arn, TopicArn: topicArn },
    ]);

    await h.clients.sns.send(new UnsubscribeCommand({ SubscriptionArn: queue.subscriptionArn }));
    await h.clients.sns.send(new PublishCommand({ TopicArn: topicArn, Message: 'after unsubscribe' }));
    expect(await receive(queue.url)).toEqual([]);
  });
});

describe('SNS to SQS delivery', () => {
  it('wraps the message in the SNS JSON envelope without RawMessageDelivery', async () => {
    const topicArn = await createTopic();
    const queue = await subscribedQueue(topicArn);
    const { MessageId } = await h.clients.sns.send(
      new PublishCommand({
        TopicArn: topicArn,
        Message: 'job done',
        Subject: 'Glacier job',
        MessageAttributes: { kind: { DataType: 'String', StringValue: 'archive' } },
      }),
    );

    const [message] = await receive(queue.url);
    const envelope = JSON.parse(message!.Body!);
    expect(envelope).toMatchObject({
      Type: 'Notification',
      MessageId,
      TopicArn: topicArn,
      Subject: 'Glacier job',
      Message: 'job done',
      SignatureVersion: '1',
      MessageAttributes: { kind: { Type: 'String', Value: 'archive' } },
    });
    expect(new Date(envelope.Timestamp).toISOString()).toBe(envelope.Timestamp);
    expect(envelope.Signature).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(envelope.SigningCertURL).toMatch(/^https:\/\/sns\.us-east-1\.amazonaws\.com\/.+\.pem$/);
    expect(envelope.UnsubscribeURL).toContain(`Action=Unsubscribe&SubscriptionArn=${queue.subscriptionArn}`);
    // In the envelope, not as SQS message attributes.
    expect(message!.MessageAttributes).toBeUndefined();
  });

  it('leaves Subject out of the envelope when the publisher gave none', async () => {
    const topicArn = await createTopic();
    const queue = await subscribedQueue(topicArn);
    await h.clients.sns.send(new PublishCommand({ TopicArn: topicArn, Message: 'no subject' }));
    const [message] = await receive(queue.url);
    expect(Object.keys(JSON.parse(message!.Body!))).not.toContain('Subject');
  });

  it('delivers the bare message, with message attributes as SQS attributes, under RawMessageDelivery', async () => {
    const topicArn = await createTopic();
    const queue = await subscribedQueue(topicArn, true);
    const { Attributes } = await h.clients.sns.send(new GetSubscriptionAttributesCommand({ SubscriptionArn: queue.subscriptionArn }));
    expect(Attributes).toMatchObject({ RawMessageDelivery: 'true', Protocol: 'sqs', Endpoint: queue.arn, PendingConfirmation: 'false' });

    await h.clients.sns.send(
      new PublishCommand({ TopicArn: topicArn, Message: '{"JobId":"j1"}', MessageAttributes: { kind: { DataType: 'String', StringValue: 'archive' } } }),
    );
    const [message] = await receive(queue.url);
    expect(message!.Body).toBe('{"JobId":"j1"}');
    expect(message!.MessageAttributes).toEqual({ kind: { DataType: 'String', StringValue: 'archive' } });
    expect(message!.MD5OfMessageAttributes).toMatch(/^[0-9a-f]{32}$/);
  });

  it('switches to raw delivery through SetSubscriptionAttributes', async () => {
    const topicArn = await createTopic();
    const queue = await subscribedQueue(topicArn);
    await h.clients.sns.send(
      new SetSubscriptionAttributesCommand({ SubscriptionArn: queue.subscriptionArn, AttributeName: 'RawMessageDelivery', AttributeValue: 'true' }),
    );
    await h.clients.sns.send(new PublishCommand({ TopicArn: topicArn, Message: 'raw now' }));
    expect((await receive(queue.url))[0]!.Body).toBe('raw now');
  });

  it('delivers only what the queue policy allows: one topic, not another, nothing without a policy', async () => {
    const allowedTopic = await createTopic();
    const otherTopic = await createTopic();
    const queue = await subscribedQueue(allowedTopic, true);
    await h.clients.sns.send(new SubscribeCommand({ TopicArn: otherTopic, Protocol: 'sqs', Endpoint: queue.arn }));
    const unprotected = await createQueue();
    await h.clients.sns.send(new SubscribeCommand({ TopicArn: allowedTopic, Protocol: 'sqs', Endpoint: unprotected.arn }));

    await h.clients.sns.send(new PublishCommand({ TopicArn: otherTopic, Message: 'from the other topic' }));
    await h.clients.sns.send(new PublishCommand({ TopicArn: allowedTopic, Message: 'from the allowed topic' }));

    expect((await receive(queue.url)).map((m) => m.Body)).toEqual(['from the allowed topic']);
    expect(await receive(unprotected.url)).toEqual([]);
  });

  it('lets an explicit Deny override an Allow', async () => {
    const topicArn = await createTopic();
    const queue = await subscribedQueue(topicArn, true);
    const allow = JSON.parse(snsPolicy(queue.arn, [topicArn]));
    allow.Statement.push({ Effect: 'Deny', Principal: '*', Action: 'sqs:*', Resource: queue.arn });
    await h.clients.sqs.send(new SetQueueAttributesCommand({ QueueUrl: queue.url, Attributes: { Policy: JSON.stringify(allow) } }));
    await h.clients.sns.send(new PublishCommand({ TopicArn: topicArn, Message: 'denied' }));
    expect(await receive(queue.url)).toEqual([]);
  });

  it("delivers Glacier's internal publish() of a job document like any other notification", async () => {
    const topicArn = await createTopic();
    const queue = await subscribedQueue(topicArn);
    const job = { JobId: 'job-1', Action: 'ArchiveRetrieval', StatusCode: 'Succeeded', ArchiveId: 'a-1', Completed: true };

    const messageId = h.sim.world.sns.publish(topicArn, JSON.stringify(job));

    const [message] = await receive(queue.url);
    const envelope = JSON.parse(message!.Body!);
    expect(envelope.MessageId).toBe(messageId);
    expect(JSON.parse(envelope.Message)).toEqual(job);
    // A notification to a topic that is gone is lost, not an error inside Glacier.
    expect(h.sim.world.sns.publish(`${topicArn}-deleted`, '{}')).toBeUndefined();
  });
});

describe('SQS queues', () => {
  it('creates a queue idempotently by name and attributes, lists, tags and deletes it', async () => {
    const { sqs } = h.clients;
    const QueueName = uniqueName('lifecycle');
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName, Attributes: { VisibilityTimeout: '60' }, tags: { team: 'archive' } }));
    expect(QueueUrl).toBe(`${h.sim.url}/${h.sim.world.accountId}/${QueueName}`);
    expect((await sqs.send(new CreateQueueCommand({ QueueName, Attributes: { VisibilityTimeout: '60' } }))).QueueUrl).toBe(QueueUrl);
    const conflict = await rejection(sqs.send(new CreateQueueCommand({ QueueName, Attributes: { VisibilityTimeout: '10' } })));
    expect(conflict.name).toBe('QueueNameExists');

    expect((await sqs.send(new GetQueueUrlCommand({ QueueName }))).QueueUrl).toBe(QueueUrl);
    expect((await sqs.send(new ListQueuesCommand({ QueueNamePrefix: QueueName }))).QueueUrls).toEqual([QueueUrl]);

    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['All'] }));
    expect(Attributes).toMatchObject({
      QueueArn: `arn:aws:sqs:us-east-1:${h.sim.world.accountId}:${QueueName}`,
      VisibilityTimeout: '60',
      MessageRetentionPeriod: '345600',
      ReceiveMessageWaitTimeSeconds: '0',
      ApproximateNumberOfMessages: '0',
      ApproximateNumberOfMessagesNotVisible: '0',
    });
    expect(Attributes!.Policy).toBeUndefined();

    await sqs.send(new TagQueueCommand({ QueueUrl, Tags: { stage: 'test' } }));
    expect((await sqs.send(new ListQueueTagsCommand({ QueueUrl }))).Tags).toEqual({ team: 'archive', stage: 'test' });

    await sqs.send(new DeleteQueueCommand({ QueueUrl }));
    expect((await rejection(sqs.send(new GetQueueUrlCommand({ QueueName })))).name).toBe('QueueDoesNotExist');
    const recreate = await rejection(sqs.send(new CreateQueueCommand({ QueueName })));
    expect(recreate.name).toBe('QueueDeletedRecently');
  });

  it('answers calls on an unknown queue with QueueDoesNotExist (HTTP 400)', async () => {
    const QueueUrl = `${h.sim.url}/${h.sim.world.accountId}/no-such-queue`;
    for (const call of [
      h.clients.sqs.send(new GetQueueUrlCommand({ QueueName: 'no-such-queue' })),
      h.clients.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'x' })),
      h.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl })),
    ]) {
      const error = await rejection(call);
      expect(error.name).toBe('QueueDoesNotExist');
      expect(error.message).toBe('The specified queue does not exist.');
      expect(error.$metadata.httpStatusCode).toBe(400);
    }
  });

  it('validates attributes and receive parameters as SQS does', async () => {
    const { sqs } = h.clients;
    const bad = await rejection(sqs.send(new CreateQueueCommand({ QueueName: uniqueName('bad'), Attributes: { VisibilityTimeout: '99999' } })));
    expect(bad.name).toBe('InvalidAttributeValue');
    const queue = await createQueue();
    const tooMany = await rejection(sqs.send(new ReceiveMessageCommand({ QueueUrl: queue.url, MaxNumberOfMessages: 11 })));
    expect(tooMany.name).toBe('InvalidParameterValue');
    const badPolicy = await rejection(sqs.send(new SetQueueAttributesCommand({ QueueUrl: queue.url, Attributes: { Policy: '{not json' } })));
    expect(badPolicy.name).toBe('InvalidAttributeValue');
  });

  it('sends, receives and deletes a message, with MD5 and system attributes', async () => {
    const queue = await createQueue();
    const sent = await h.clients.sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: 'hello' }));
    expect(sent.MD5OfMessageBody).toBe('5d41402abc4b2a76b9719d911017c592');

    const [message] = await receive(queue.url);
    expect(message).toMatchObject({ MessageId: sent.MessageId, Body: 'hello', MD5OfBody: '5d41402abc4b2a76b9719d911017c592' });
    expect(message!.Attributes).toMatchObject({ ApproximateReceiveCount: '1', SenderId: TEST_ENV.AWS_ACCESS_KEY_ID });
    expect(Math.abs(Number(message!.Attributes!.SentTimestamp) - h.sim.world.clock.nowMs())).toBeLessThan(60_000 * TIME_SCALE);

    await h.clients.sqs.send(new DeleteMessageCommand({ QueueUrl: queue.url, ReceiptHandle: message!.ReceiptHandle }));
    const { Attributes } = await h.clients.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queue.url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
    );
    expect(Attributes).toEqual({ ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0' });
  });

  it('redelivers after the visibility timeout on the simulated clock, counting receives', async () => {
    const queue = await createQueue({ VisibilityTimeout: '30' }); // 0.3 s of wall time at 100×
    await h.clients.sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: 'retry me' }));
    const [first] = await receive(queue.url);
    expect(first!.Attributes!.ApproximateReceiveCount).toBe('1');
    expect(await receive(queue.url)).toEqual([]);
    const { Attributes } = await h.clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl: queue.url, AttributeNames: ['All'] }));
    expect(Attributes).toMatchObject({ ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '1' });

    // A long poll wakes up when the hidden message becomes visible again.
    const started = Date.now();
    const [second] = await receive(queue.url, { wait: 2 });
    expect(Date.now() - started).toBeLessThan(1500);
    expect(second!.MessageId).toBe(first!.MessageId);
    expect(second!.Attributes!.ApproximateReceiveCount).toBe('2');
    expect(second!.Attributes!.ApproximateFirstReceiveTimestamp).toBe(first!.Attributes!.ApproximateFirstReceiveTimestamp);
    expect(second!.ReceiptHandle).not.toBe(first!.ReceiptHandle);

    // The first receive's handle no longer deletes (AWS: success, message kept); the latest one does.
    await h.clients.sqs.send(new DeleteMessageCommand({ QueueUrl: queue.url, ReceiptHandle: first!.ReceiptHandle }));
    await sleep(400);
    const [third] = await receive(queue.url);
    expect(third!.Attributes!.ApproximateReceiveCount).toBe('3');
    await h.clients.sqs.send(new DeleteMessageCommand({ QueueUrl: queue.url, ReceiptHandle: third!.ReceiptHandle }));
    await sleep(400);
    expect(await receive(queue.url)).toEqual([]);
  });

  it('makes a message receivable at once with ChangeMessageVisibility 0', async () => {
    const queue = await createQueue({ VisibilityTimeout: '3600' });
    await h.clients.sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: 'give back' }));
    const [message] = await receive(queue.url);
    await h.clients.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queue.url, ReceiptHandle: message!.ReceiptHandle, VisibilityTimeout: 0 }));
    expect((await receive(queue.url)).map((m) => m.Body)).toEqual(['give back']);
  });

  it('sends and deletes in batches, reporting failed entries per entry', async () => {
    const queue = await createQueue();
    const sent = await h.clients.sqs.send(
      new SendMessageBatchCommand({ QueueUrl: queue.url, Entries: ['a', 'b', 'c'].map((body) => ({ Id: `m-${body}`, MessageBody: body })) }),
    );
    expect(sent.Successful?.map((e) => e.Id)).toEqual(['m-a', 'm-b', 'm-c']);
    expect(sent.Failed ?? []).toEqual([]);

    const messages = await receive(queue.url, { max: 10 });
    expect(messages.map((m) => m.Body).sort()).toEqual(['a', 'b', 'c']);
    const result = await h.clients.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queue.url,
        Entries: [...messages.map((m, i) => ({ Id: `d${i}`, ReceiptHandle: m.ReceiptHandle! })), { Id: 'bogus', ReceiptHandle: 'not-a-handle' }],
      }),
    );
    expect(result.Successful?.map((e) => e.Id)).toEqual(['d0', 'd1', 'd2']);
    expect(result.Failed).toEqual([{ Id: 'bogus', SenderFault: true, Code: 'ReceiptHandleIsInvalid', Message: expect.any(String) }]);
    expect((await h.clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl: queue.url, AttributeNames: ['All'] }))).Attributes).toMatchObject({
      ApproximateNumberOfMessages: '0',
      ApproximateNumberOfMessagesNotVisible: '0',
    });

    const duplicate = await rejection(
      h.clients.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queue.url, Entries: [{ Id: 'x', ReceiptHandle: 'h' }, { Id: 'x', ReceiptHandle: 'h' }] })),
    );
    expect(duplicate.name).toBe('BatchEntryIdsNotDistinct');
  });

  it('purges a queue, but only once a minute', async () => {
    const queue = await createQueue();
    await h.clients.sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: 'purge me' }));
    await h.clients.sqs.send(new PurgeQueueCommand({ QueueUrl: queue.url }));
    expect(await receive(queue.url)).toEqual([]);
    expect((await rejection(h.clients.sqs.send(new PurgeQueueCommand({ QueueUrl: queue.url })))).name).toBe('PurgeQueueInProgress');
  });
});

describe('SQS long polling', () => {
  it('returns as soon as a message arrives', async () => {
    const queue = await createQueue();
    const started = Date.now();
    const polling = receive(queue.url, { wait: 2 });
    await sleep(200);
    await h.clients.sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: 'arrived' }));
    const messages = await polling;
    expect(messages.map((m) => m.Body)).toEqual(['arrived']);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('returns empty after WaitTimeSeconds of wall time when nothing arrives', async () => {
    const queue = await createQueue();
    const started = Date.now();
    expect(await receive(queue.url, { wait: 1 })).toEqual([]);
    const elapsed = Date.now() - started;
    // Long polls are not time-scaled: a client's socket timeout is in real seconds.
    expect(elapsed).toBeGreaterThanOrEqual(950);
    expect(elapsed).toBeLessThan(1800);
  });

  it('takes the wait from ReceiveMessageWaitTimeSeconds and ends it empty when the queue is deleted', async () => {
    const queue = await createQueue({ ReceiveMessageWaitTimeSeconds: '2' });
    const started = Date.now();
    const polling = h.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: queue.url }));
    await sleep(200);
    await h.clients.sqs.send(new DeleteQueueCommand({ QueueUrl: queue.url }));
    expect((await polling).Messages).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe('faults', () => {
  it('throttles SQS with RequestThrottled, which the SDK retries', async () => {
    const queue = await createQueue();
    h.sim.world.faults.configure('sqs.SendMessage:throttle@1');
    try {
      const throttled = await rejection(h.clients.sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: 'x' })));
      expect(throttled.name).toBe('RequestThrottled');
      expect(throttled.$metadata.httpStatusCode).toBe(403);

      h.sim.world.faults.configure('sqs.SendMessage:throttle@1');
      const retrying = new SQSClient({
        region: 'us-east-1',
        endpoint: h.sim.url,
        maxAttempts: 2,
        credentials: { accessKeyId: TEST_ENV.AWS_ACCESS_KEY_ID, secretAccessKey: TEST_ENV.AWS_SECRET_ACCESS_KEY },
      });
      const sent = await retrying.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: 'x' }));
      expect(sent.$metadata.attempts).toBe(2);
      retrying.destroy();
    } finally {
      h.sim.world.faults.configure('');
    }
  });

  it('answers SNS and SQS faults with each service’s own errors', async () => {
    const topicArn = await createTopic();
    h.sim.world.faults.configure('sns.*:throttle@1;sqs.ListQueues:503@1');
    try {
      const throttled = await rejection(h.clients.sns.send(new GetTopicAttributesCommand({ TopicArn: topicArn })));
      expect(throttled.name).toBe('Throttling');
      expect(throttled.$metadata.httpStatusCode).toBe(400);
      const unavailable = await rejection(h.clients.sqs.send(new ListQueuesCommand({})));
      expect(unavailable.name).toBe('ServiceUnavailable');
      expect(unavailable.$fault).toBe('server');
    } finally {
      h.sim.world.faults.configure('');
    }
  });
});

// Keep the user's own profiles and config out of it.
const { AWS_PROFILE: _profile, AWS_DEFAULT_PROFILE: _defaultProfile, ...inheritedEnv } = process.env;
const CLI_ENV = {
  ...inheritedEnv,
  AWS_ACCESS_KEY_ID: TEST_ENV.AWS_ACCESS_KEY_ID,
  AWS_SECRET_ACCESS_KEY: TEST_ENV.AWS_SECRET_ACCESS_KEY,
  AWS_DEFAULT_REGION: 'us-east-1',
  AWS_CONFIG_FILE: '/dev/null',
  AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  AWS_MAX_ATTEMPTS: '1',
};

reportMissing();

describe('real clients', () => {
  it.skipIf(!hasAwsCli)('works with the AWS CLI: create-topic, create-queue, subscribe, publish, receive-message', async () => {
    const aws = async (...args: string[]) => {
      const { stdout } = await run('aws', ['--endpoint-url', h.sim.url, '--output', 'json', ...args], { env: CLI_ENV });
      return stdout.trim() === '' ? {} : JSON.parse(stdout);
    };
    // Each CLI call costs a Python start-up of a second or two, so the test makes only the calls it is about (the
    // error mapping, botocore's like the CLI's, is checked with boto3 below).
    const [{ TopicArn }, { QueueUrl }] = await Promise.all([
      aws('sns', 'create-topic', '--name', uniqueName('cli-topic')),
      aws('sqs', 'create-queue', '--queue-name', uniqueName('cli-queue')),
    ]);
    const { Attributes } = await h.clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
    const queueArn = Attributes!.QueueArn!;
    await h.clients.sqs.send(new SetQueueAttributesCommand({ QueueUrl, Attributes: { Policy: snsPolicy(queueArn, [TopicArn]) } }));

    const { SubscriptionArn } = await aws('sns', 'subscribe', '--topic-arn', TopicArn, '--protocol', 'sqs', '--notification-endpoint', queueArn);
    expect(SubscriptionArn.startsWith(`${TopicArn}:`)).toBe(true);
    const { MessageId } = await aws('sns', 'publish', '--topic-arn', TopicArn, '--message', 'from the cli', '--subject', 'cli');
    const { Messages } = await aws('sqs', 'receive-message', '--queue-url', QueueUrl, '--wait-time-seconds', '1', '--attribute-names', 'All');
    expect(Messages).toHaveLength(1);
    expect(JSON.parse(Messages[0].Body)).toMatchObject({ MessageId, Message: 'from the cli', Subject: 'cli', TopicArn });
    expect(Messages[0].Attributes.ApproximateReceiveCount).toBe('1');
  });

  it.skipIf(!hasBoto3)('works with boto3', async () => {
    const script = `
import boto3, json, sys
kw = dict(endpoint_url=sys.argv[1], region_name='us-east-1')
sns, sqs = boto3.client('sns', **kw), boto3.client('sqs', **kw)
topic = sns.create_topic(Name=sys.argv[2])['TopicArn']
url = sqs.create_queue(QueueName=sys.argv[3], Attributes={'VisibilityTimeout': '30'})['QueueUrl']
arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=['QueueArn'])['Attributes']['QueueArn']
policy = {'Statement': [{'Effect': 'Allow', 'Principal': {'Service': 'sns.amazonaws.com'}, 'Action': 'sqs:SendMessage',
                         'Resource': arn, 'Condition': {'ArnEquals': {'aws:SourceArn': topic}}}]}
sqs.set_queue_attributes(QueueUrl=url, Attributes={'Policy': json.dumps(policy)})
sns.subscribe(TopicArn=topic, Protocol='sqs', Endpoint=arn, Attributes={'RawMessageDelivery': 'true'})
sns.publish(TopicArn=topic, Message='from boto3')
messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1, AttributeNames=['All'])['Messages']
sqs.delete_message(QueueUrl=url, ReceiptHandle=messages[0]['ReceiptHandle'])
try:
    sqs.get_queue_url(QueueName='no-such-queue')
    missing = None
except sqs.exceptions.QueueDoesNotExist as e:
    missing = e.response['Error']['Code']
print(json.dumps({'body': messages[0]['Body'], 'count': messages[0]['Attributes']['ApproximateReceiveCount'], 'missing': missing}))
`;
    const { stdout } = await run('python3', ['-c', script, h.sim.url, uniqueName('boto-topic'), uniqueName('boto-queue')], { env: CLI_ENV });
    expect(JSON.parse(stdout)).toEqual({ body: 'from boto3', count: '1', missing: 'AWS.SimpleQueueService.NonExistentQueue' });
  });
});

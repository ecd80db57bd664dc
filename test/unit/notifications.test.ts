import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, QueueDeletedRecently, SQSClient, SetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { openChannel } from '../../src/retrieve/notifications.js';

describe('openChannel', () => {
  it('waits out the 60 s in which SQS refuses to recreate a queue just deleted (a transfer resumed right after its end)', async () => {
    const sns = mockClient(SNSClient);
    const sqs = mockClient(SQSClient);
    sns.on(CreateTopicCommand).resolves({ TopicArn: 'arn:aws:sns:us-east-1:123456789012:t' });
    sns.on(SubscribeCommand).resolves({ SubscriptionArn: 'arn:aws:sns:us-east-1:123456789012:t:s' });
    const deleted = new QueueDeletedRecently({ message: 'You must wait 60 seconds after deleting a queue', $metadata: { httpStatusCode: 400 } });
    sqs.on(CreateQueueCommand).rejectsOnce(deleted).rejectsOnce(deleted).resolves({ QueueUrl: 'http://q' });
    sqs.on(GetQueueAttributesCommand).resolves({ Attributes: { QueueArn: 'arn:aws:sqs:us-east-1:123456789012:q' } });
    sqs.on(SetQueueAttributesCommand).resolves({});
    const channel = await openChannel(new SNSClient({ region: 'us-east-1' }), new SQSClient({ region: 'us-east-1' }), 'tid', () => undefined, 5);
    expect(channel.queueUrl).toBe('http://q');
    expect(sqs.commandCalls(CreateQueueCommand)).toHaveLength(3);
    sns.restore();
    sqs.restore();
  });
});

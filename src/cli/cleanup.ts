import type { Command } from 'commander';
import { createAwsClients, type AwsClients } from '../aws/clients.js';
import { closeChannel } from '../retrieve/notifications.js';
import { TransferState } from '../state/db.js';
import { abortStaleUploads } from '../transfer/cleanup.js';
import { addConnectionOptions, connectionFor, type ConnectionCliOptions } from './connection-options.js';
import { DEFAULT_STATE_FILE } from './start.js';

export function registerCleanupCommand(program: Command): void {
  const command = program
    .command('cleanup')
    .description("remove a transfer's temporary SNS topic and SQS queue and abort its unused multipart uploads")
    .option('--state <file>', 'state file of the transfer', DEFAULT_STATE_FILE);
  addConnectionOptions(command, true).action(async (opts: ConnectionCliOptions & { state: string }) => {
    const state = TransferState.open(opts.state);
    let clients: AwsClients | undefined;
    try {
      clients = createAwsClients(await connectionFor(state.config(), opts));
      const aborted = await abortStaleUploads(clients.s3, state, { keepRetryable: false });
      const info = state.transferInfo();
      await closeChannel(clients.sns, clients.sqs, { topicArn: info.topicArn, queueUrl: info.queueUrl, subscriptionArn: info.subscriptionArn });
      state.setTransfer({ topic_arn: null, queue_url: null, queue_arn: null, subscription_arn: null });
      process.stdout.write(
        `aborted ${aborted} unused multipart uploads; removed ${info.topicArn ? 'the temporary topic and queue' : 'nothing else (no topic or queue recorded)'}\n`,
      );
    } finally {
      clients?.destroy();
      state.close();
    }
  });
}

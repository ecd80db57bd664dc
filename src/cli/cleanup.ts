import type { Command } from 'commander';
import { createAwsClients, type AwsClients } from '../aws/clients.js';
import { closeChannel } from '../retrieve/notifications.js';
import { TransferState } from '../state/db.js';
import { abortStaleUploads } from '../transfer/cleanup.js';
import { removeTargetLock } from '../transfer/target-lock.js';
import { addConnectionOptions, connectionFor, type ConnectionCliOptions } from './connection-options.js';
import { DEFAULT_STATE_FILE } from './start.js';

export function registerCleanupCommand(program: Command): void {
  const command = program
    .command('cleanup')
    .description("for a transfer that will not be resumed: abort its multipart uploads, remove its temporary SNS topic and SQS queue and its marker on the target")
    .option('--state <file>', 'state file of the transfer', DEFAULT_STATE_FILE);
  addConnectionOptions(command, true).action(async (opts: ConnectionCliOptions & { state: string }) => {
    const state = TransferState.open(opts.state);
    let clients: AwsClients | undefined;
    try {
      const config = state.config();
      clients = createAwsClients(await connectionFor(config, opts));
      const aborted = await abortStaleUploads(clients.s3, state, { abandoned: true });
      const unlocked = await removeTargetLock(clients.s3, config);
      const info = state.transferInfo();
      await closeChannel(clients.sns, clients.sqs, { topicArn: info.topicArn, queueUrl: info.queueUrl, subscriptionArn: info.subscriptionArn });
      state.setTransfer({ topic_arn: null, queue_url: null, queue_arn: null, subscription_arn: null });
      process.stdout.write(
        `aborted ${aborted} multipart uploads; removed ${info.topicArn ? 'the temporary topic and queue' : 'no topic or queue (none recorded)'}` +
          `${unlocked ? " and the transfer's marker on the target" : ''}\n`,
      );
    } finally {
      clients?.destroy();
      state.close();
    }
  });
}

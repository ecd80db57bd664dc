import type { Command } from 'commander';
import { createAwsClients } from '../aws/clients.js';
import { closeChannel } from '../retrieve/notifications.js';
import { TransferState } from '../state/db.js';
import { abortStaleUploads } from '../transfer/cleanup.js';
import { DEFAULT_STATE_FILE } from './start.js';

export function registerCleanupCommand(program: Command): void {
  program
    .command('cleanup')
    .description("remove a transfer's temporary SNS topic and SQS queue and abort its multipart uploads (for a transfer that will not be resumed)")
    .option('--state <file>', 'state file of the transfer', DEFAULT_STATE_FILE)
    .action(async (opts: { state: string }) => {
      const state = TransferState.open(opts.state);
      const config = state.config();
      const clients = createAwsClients({ region: config.region, profile: config.profile, endpoint: config.endpoint });
      try {
        const aborted = await abortStaleUploads(clients.s3, state, { abandoned: true });
        const info = state.transferInfo();
        await closeChannel(clients.sns, clients.sqs, { topicArn: info.topicArn, queueUrl: info.queueUrl, subscriptionArn: info.subscriptionArn });
        state.setTransfer({ topic_arn: null, queue_url: null, queue_arn: null, subscription_arn: null });
        process.stdout.write(
          `aborted ${aborted} multipart uploads; removed ${info.topicArn ? 'the temporary topic and queue' : 'nothing else (no topic or queue recorded)'}\n`,
        );
      } finally {
        clients.destroy();
        state.close();
      }
    });
}

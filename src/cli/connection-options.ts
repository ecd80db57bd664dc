import type { Command } from 'commander';
import { reuseConnection, type Connection, type ConnectionOptions } from '../aws/connection.js';

export interface ConnectionCliOptions {
  region?: string;
  profile?: string;
  endpointUrl?: string;
}

/** --region, --profile, --endpoint-url: chosen at `start`; later commands may override what it recorded. */
export function addConnectionOptions(command: Command, recorded: boolean): Command {
  const instead = recorded ? ' (overrides the one the transfer recorded at start)' : '';
  return command
    .option('--region <region>', `AWS region of the vault and the bucket${instead}`)
    .option('--profile <name>', `AWS profile for credentials and region${instead}`)
    .option('--endpoint-url <url>', `one endpoint for all services (e.g. the simulator); AWS_ENDPOINT_URL also works${instead}`);
}

export function connectionOptionsFrom(o: ConnectionCliOptions): ConnectionOptions {
  return { region: o.region, profile: o.profile, endpoint: o.endpointUrl };
}

/** The connection a transfer's recorded settings and this command's overrides give; each override is noted on stderr. */
export async function connectionFor(recorded: ConnectionOptions, o: ConnectionCliOptions = {}): Promise<Connection> {
  const { connection, notes } = await reuseConnection(recorded, connectionOptionsFrom(o));
  for (const note of notes) process.stderr.write(`glacier-copy: ${note}\n`);
  return connection;
}

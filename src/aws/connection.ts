import { homedir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, loadSharedConfigFiles, NODE_REGION_CONFIG_FILE_OPTIONS, NODE_REGION_CONFIG_OPTIONS } from '@smithy/core/config';
import { ConfigError } from './errors.js';

/** Where a transfer talks to AWS: resolved once at `start`, recorded in its state, reused by every later command. */
export interface Connection {
  region: string;
  profile?: string;
  /** One endpoint for all four services */
  endpoint?: string;
}

/** What the user gave on the command line; each may be absent. */
export type ConnectionOptions = Partial<Connection>;

/**
 * Resolves the region as the AWS CLI does: --region, AWS_REGION, AWS_DEFAULT_REGION (which the JS SDK does not
 * read), then the profile's `region` through the SDK's own provider chain (config and credentials files, then
 * the instance's region). The profile is --profile or AWS_PROFILE; the endpoint --endpoint-url or AWS_ENDPOINT_URL.
 * Settings that cannot work are refused here, before anything is created, with what to do instead.
 */
export async function resolveConnection(given: ConnectionOptions): Promise<Connection> {
  const env = process.env;
  const endpoint = checkEndpoint(given.endpoint);
  const profile = given.profile ?? (env.AWS_PROFILE || undefined);
  if (profile !== undefined) await checkProfile(profile, given.profile !== undefined ? '--profile' : 'AWS_PROFILE');
  const region =
    given.region ||
    env.AWS_REGION ||
    env.AWS_DEFAULT_REGION ||
    (await loadConfig(NODE_REGION_CONFIG_OPTIONS, { ...NODE_REGION_CONFIG_FILE_OPTIONS, profile })().catch(() => undefined));
  if (!region) {
    throw new ConfigError(`no region: pass --region or set AWS_REGION (or give the profile a region in ${configFile()})`);
  }
  return { region, profile, endpoint };
}

/**
 * The connection a later command (`resume`, `cleanup`) uses: the recorded one, each setting overridden by an
 * explicit option; what neither gives (a region in states written before it was recorded) is resolved as `start`
 * resolves it. `notes` say which overrides differ from the record.
 */
export async function reuseConnection(recorded: ConnectionOptions, overrides: ConnectionOptions): Promise<{ connection: Connection; notes: string[] }> {
  const notes: string[] = [];
  const flags = { region: '--region', profile: '--profile', endpoint: '--endpoint-url' } as const;
  for (const name of ['region', 'profile', 'endpoint'] as const) {
    const value = overrides[name];
    if (value !== undefined && value !== recorded[name]) {
      notes.push(`using ${flags[name]} ${value} instead of ${recorded[name] === undefined ? 'the default' : `the recorded ${recorded[name]}`}`);
    }
  }
  const connection = await resolveConnection({
    region: overrides.region ?? recorded.region,
    profile: overrides.profile ?? recorded.profile,
    endpoint: overrides.endpoint ?? recorded.endpoint,
  });
  return { connection, notes };
}

function checkEndpoint(given: string | undefined): string | undefined {
  const endpoint = given ?? (process.env.AWS_ENDPOINT_URL || undefined);
  if (endpoint === undefined) return undefined;
  const source = given !== undefined ? '--endpoint-url' : 'AWS_ENDPOINT_URL';
  let url: URL | undefined;
  try {
    url = new URL(endpoint);
  } catch {
    url = undefined;
  }
  // "localhost:4566" parses, as scheme "localhost:": only http and https are endpoints.
  if (url?.protocol !== 'http:' && url?.protocol !== 'https:') {
    throw new ConfigError(`${source} ${endpoint}: an endpoint needs a scheme, e.g. http://${endpoint.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '')}`);
  }
  return endpoint;
}

function configFile(): string {
  return process.env.AWS_CONFIG_FILE || join(homedir(), '.aws', 'config');
}

/** A named profile must exist in the config or credentials file; `default` may be absent, as in the AWS CLI. */
async function checkProfile(profile: string, source: string): Promise<void> {
  if (profile === 'default') return;
  const credentials = process.env.AWS_SHARED_CREDENTIALS_FILE || join(homedir(), '.aws', 'credentials');
  const files = await loadSharedConfigFiles({ configFilepath: configFile(), filepath: credentials, ignoreCache: true });
  if (files.configFile[profile] === undefined && files.credentialsFile[profile] === undefined) {
    throw new ConfigError(`${source} ${profile}: no such profile in ${configFile()} or ${credentials}`);
  }
}

import { GlacierClient } from '@aws-sdk/client-glacier';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { fromIni } from '@aws-sdk/credential-providers';
import type { AwsCredentialIdentity, FinalizeRequestMiddleware, MiddlewareStack } from '@aws-sdk/types';
import { VERSION } from '../version.js';

export interface AwsClientOptions {
  region?: string;
  profile?: string;
  /** One endpoint for all four services (the simulator, or a VPC endpoint); AWS_ENDPOINT_URL is honoured by the SDK itself */
  endpoint?: string;
  maxAttempts?: number;
  /** Explicit credentials (tests); otherwise the profile or the default chain */
  credentials?: AwsCredentialIdentity;
  /** Default `glacier-copy/VERSION`; tests name their own clients differently */
  userAgent?: string;
  /** Connections per service kept open at once (default 50, the SDK's): at least the requests in flight */
  maxSockets?: number;
  /** Told of every request sent (each attempt of each call), e.g. to count billed requests */
  onRequest?: (service: 'glacier' | 's3' | 'sns' | 'sqs', operation: string) => void;
}

export interface AwsClients {
  glacier: GlacierClient;
  /** Glacier without SDK retries, for InitiateJob: a retry after a lost answer would start a second job */
  glacierSingleAttempt: GlacierClient;
  s3: S3Client;
  /**
   * S3 without SDK retries, for streamed request bodies that cannot be sent twice (we retry whole parts); it adds
   * no checksum of its own: those bodies carry their SHA-256 as a trailer (transfer/trailer-body.ts)
   */
  streamingS3: S3Client;
  sns: SNSClient;
  sqs: SQSClient;
  destroy(): void;
}

const ignore = () => undefined;
const QUIET_LOGGER = { trace: ignore, debug: ignore, info: ignore, warn: ignore, error: ignore };

/** Builds the four SDK clients with the standard credential chain and region resolution. */
export function createAwsClients(options: AwsClientOptions = {}): AwsClients {
  const common = {
    region: options.region,
    // The profile's settings (region, retries, endpoint_url…) as well as its credentials.
    profile: options.profile,
    endpoint: options.endpoint,
    maxAttempts: options.maxAttempts,
    // Names the tool in CloudTrail and S3 access logs (and lets the simulator tell its calls apart).
    customUserAgent: options.userAgent ?? `glacier-copy/${VERSION}`,
    // The SDK would otherwise print some retry notices straight to the console, through the progress bars; the
    // engine reports every error that matters itself.
    logger: QUIET_LOGGER,
    // A connection that stops moving (a stalled download, an upload nobody reads) fails after two idle minutes
    // and is retried, instead of holding a worker forever. Long polls (20 s) stay well inside it.
    requestHandler: {
      connectionTimeout: 30_000,
      socketTimeout: 120_000,
      httpAgent: { maxSockets: options.maxSockets ?? 50 },
      httpsAgent: { maxSockets: options.maxSockets ?? 50 },
    },
    credentials: options.credentials ?? (options.profile ? fromIni({ profile: options.profile }) : undefined),
  };
  const glacier = new GlacierClient(common);
  const glacierSingleAttempt = new GlacierClient({ ...common, maxAttempts: 1 });
  // Path-style addressing: a custom endpoint (the simulator) has no per-bucket DNS names.
  const s3Options = { ...common, forcePathStyle: options.endpoint !== undefined };
  const s3 = new S3Client(s3Options);
  const streamingS3 = new S3Client({ ...s3Options, maxAttempts: 1, requestChecksumCalculation: 'WHEN_REQUIRED' });
  const sns = new SNSClient(common);
  const sqs = new SQSClient(common);
  const services = [['glacier', glacier], ['glacier', glacierSingleAttempt], ['s3', s3], ['s3', streamingS3], ['sns', sns], ['sqs', sqs]] as const;
  for (const [service, client] of services) {
    const stack = client.middlewareStack as MiddlewareStack<object, object>;
    // Nothing is logged, so nothing needs the copy of each request and response, scrubbed of secrets, that the
    // logger middleware makes for any logger but the SDK's own no-op one: a third of the SDK's CPU per call.
    stack.remove('loggerMiddleware');
    if (options.onRequest) {
      const onRequest = options.onRequest;
      // At the end of the finalize step, inside the SDK's retry loop: each attempt is counted.
      const count: FinalizeRequestMiddleware<object, object> = (next, context) => (args) => {
        onRequest(service, String(context.commandName ?? 'unknown').replace(/Command$/, ''));
        return next(args);
      };
      stack.add(count, { step: 'finalizeRequest', priority: 'low', name: 'glacierCopyRequestCounter' });
    }
  }
  return {
    glacier,
    glacierSingleAttempt,
    s3,
    streamingS3,
    sns,
    sqs,
    destroy() {
      for (const c of [glacier, glacierSingleAttempt, s3, streamingS3, sns, sqs]) c.destroy();
    },
  };
}

import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { SimError, readBody, type SimRequest, type SimService } from './http.js';
import { RESPONSE_FAULTS } from './faults.js';
import { SimWorld, type WorldOptions } from './world.js';

export interface SimulatorOptions extends WorldOptions {
  /** 0 (default) picks a free port */
  port?: number;
  logger?: Logger;
}

export interface Simulator {
  /** http://127.0.0.1:PORT — the one endpoint for Glacier, S3, SNS and SQS */
  url: string;
  port: number;
  world: SimWorld;
  stop(): Promise<void>;
}

/** `Credential=AKID/20260101/us-east-1/glacier/aws4_request` (header) or X-Amz-Credential (presigned URL). */
export function credentialScope(req: IncomingMessage, query: URLSearchParams): { region: string; service: string } {
  const auth = req.headers.authorization ?? '';
  const credential = /Credential=([^,\s]+)/.exec(auth)?.[1] ?? query.get('X-Amz-Credential') ?? '';
  const parts = credential.split('/');
  if (parts.length >= 5) return { region: parts[2]!, service: parts[3]! };
  // Unsigned requests (e.g. `aws s3 --no-sign-request`) can only be S3.
  return { region: 'us-east-1', service: 's3' };
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const log = options.logger ?? pino({ level: process.env.SIM_LOG_LEVEL ?? 'silent' });
  const world = new SimWorld(options, log);
  const services = new Map<string, SimService>(world.services().map((s) => [s.name, s]));
  const sockets = new Set<import('node:net').Socket>();

  const server = createServer((raw, res) => {
    void handle(raw, res);
  });
  // Node closes idle keep-alive connections after 5 s; a client that reuses one at that instant gets ECONNRESET
  // (a test's SDK client idles that long while the CLI under test works). AWS endpoints keep them far longer.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  // A multi-GiB part on a slow link may take longer than Node's default 5-minute request timeout.
  server.requestTimeout = 0;
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  async function handle(raw: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(raw.url ?? '/', 'http://localhost');
    const { region, service: serviceName } = credentialScope(raw, url.searchParams);
    const service = services.get(serviceName);
    const started = Date.now();
    let bodyPromise: Promise<Buffer> | undefined;
    const req: SimRequest = {
      method: raw.method ?? 'GET',
      rawPath: url.pathname,
      query: url.searchParams,
      headers: raw.headers,
      region,
      service: serviceName,
      raw,
      faults: new Set(),
      body: () => (bodyPromise ??= readBody(raw)),
    };
    let operation = '?';
    res.on('finish', () => {
      log.debug({ service: serviceName, operation, status: res.statusCode, ms: Date.now() - started }, `${raw.method} ${raw.url}`);
    });
    if (!service) {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end(`unknown service "${serviceName}" in credential scope`);
      return;
    }
    try {
      const delay = world.latency.wait();
      if (delay) await delay;
      const route = await service.route(req);
      operation = route.operation;
      if (/\bglacier-copy\//.test(String(raw.headers['user-agent'] ?? ''))) world.recordToolCall(serviceName, operation);
      for (const kind of world.faults.roll(serviceName, operation)) {
        if (kind === 'reset' || !RESPONSE_FAULTS.has(kind)) {
          req.faults.add(kind);
          continue;
        }
        const err = service.faultErrors[kind]?.(operation, req);
        if (err) {
          world.faults.count(serviceName, operation, kind);
          await drain(req);
          throw err;
        }
      }
      // A reset that the service does not take for a mid-body cut happens before any response.
      if (req.faults.has('reset') && !streamsBody(operation)) {
        world.faults.count(serviceName, operation, 'reset');
        raw.socket.destroy();
        return;
      }
      if (req.faults.has('lose')) {
        world.faults.count(serviceName, operation, 'lose');
        loseAnswer(raw, res);
      }
      await route.handle(req, res);
    } catch (e) {
      if (res.headersSent) {
        log.warn({ err: e, operation }, 'error after response started; dropping connection');
        res.destroy();
        return;
      }
      // The client went away mid-request (it gave up on the upload, or was killed): nobody to answer.
      if (!(e instanceof SimError) && (e as NodeJS.ErrnoException).code === 'ECONNRESET') {
        log.debug({ err: e, operation }, 'client closed the connection mid-request');
        res.destroy();
        return;
      }
      const err = e instanceof SimError ? e : new SimError(500, 'InternalError', (e as Error).message);
      if (!(e instanceof SimError)) log.error({ err: e, operation }, 'simulator bug');
      await drain(req).catch(() => undefined);
      service.sendError(res, err, req);
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    world,
    stop: async () => {
      world.stop();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The operation is carried out, but whatever it answers is replaced by a dropped connection. */
function loseAnswer(raw: IncomingMessage, res: ServerResponse): void {
  res.writeHead = (() => res) as unknown as ServerResponse['writeHead'];
  res.write = (() => true) as unknown as ServerResponse['write'];
  res.end = (() => {
    raw.socket.destroy();
    return res;
  }) as unknown as ServerResponse['end'];
}

/** Operations whose response body is streamed, where a `reset` fault cuts the body instead of the request. */
function streamsBody(operation: string): boolean {
  return operation === 'GetJobOutput' || operation === 'GetObject';
}

/**
 * Reads and discards an unread request body (a part can be GiBs) so that the client sees the error response
 * rather than a connection cut while it was still sending.
 */
async function drain(req: SimRequest): Promise<void> {
  if (req.raw.readableEnded || req.raw.destroyed || req.raw.readableFlowing) return;
  req.raw.resume();
  await once(req.raw, 'end').catch(() => undefined);
}

import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { FaultKind } from './faults.js';

/** An error a simulated service answers with, in that service's own wire format. */
export class SimError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** extra response headers, e.g. S3's x-amz-bucket-region on a wrong-region redirect */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** Per fault kind, the service's error (undefined where the fault does not apply to the operation or request). */
export type FaultErrors = Partial<Record<FaultKind, (operation: string, req: SimRequest) => SimError | undefined>>;

export interface SimRequest {
  method: string;
  /** URL path, percent-decoded per segment by the service that needs it (S3 keys keep their encoding here) */
  rawPath: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** From the SigV4 credential scope */
  region: string;
  service: string;
  raw: IncomingMessage;
  /** Faults rolled for this call that the service itself must act on (corrupt, expire, fail, policy, capacity, reset…). */
  faults: Set<FaultKind>;
  /** Reads the whole body (small API requests only; streaming handlers read `raw`). */
  body(): Promise<Buffer>;
}

export interface Route {
  operation: string;
  handle(req: SimRequest, res: ServerResponse): Promise<void> | void;
}

export interface SimService {
  readonly name: string;
  /** Finds the operation for a request (reading a small body where the protocol names it there); throws SimError for an unknown one. */
  route(req: SimRequest): Route | Promise<Route>;
  sendError(res: ServerResponse, err: SimError, req: SimRequest): void;
  /** The service's own error for each response-replacing fault it can answer with. */
  readonly faultErrors: FaultErrors;
}

export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function sendXml(res: ServerResponse, status: number, xml: string, headers: Record<string, string> = {}) {
  const text = `<?xml version="1.0" encoding="UTF-8"?>\n${xml}`;
  res.writeHead(status, {
    'content-type': 'application/xml',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function sendEmpty(res: ServerResponse, status: number, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-length': '0', ...headers });
  res.end();
}

export function escapeXml(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}

/** Renders `{a: 1, b: [{c: 2}]}` as `<a>1</a><b><c>2</c></b>…`; arrays repeat their element name. */
export function toXml(fields: Record<string, unknown>): string {
  let out = '';
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined || value === null) continue;
    const items = Array.isArray(value) ? value : [value];
    for (const item of items) {
      const inner =
        typeof item === 'object' && !(item instanceof Date)
          ? toXml(item as Record<string, unknown>)
          : escapeXml(item instanceof Date ? item.toISOString() : String(item));
      out += `<${name}>${inner}</${name}>`;
    }
  }
  return out;
}

/** Pulls the text of simple elements out of a small XML request body (S3 CompleteMultipartUpload etc.). */
export function xmlElements(xml: string, name: string): string[] {
  const out: string[] = [];
  const re = new RegExp(`<${name}(?:\\s[^>]*)?>([\\s\\S]*?)</${name}>`, 'g');
  for (let m = re.exec(xml); m; m = re.exec(xml)) out.push(m[1]!);
  return out;
}

export function unescapeXml(s: string): string {
  return s.replace(/&(lt|gt|amp|apos|quot|#(\d+)|#x([0-9a-fA-F]+));/g, (_, name: string, dec?: string, hex?: string) => {
    if (dec) return String.fromCodePoint(Number(dec));
    if (hex) return String.fromCodePoint(parseInt(hex, 16));
    return ({ lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' } as Record<string, string>)[name]!;
  });
}

/** Parses a `Range: bytes=a-b` header against a body of `size` bytes; undefined when absent. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) throw new SimError(416, 'InvalidRange', `invalid range ${header}`);
  let start: number;
  let end: number;
  if (m[1] === '') {
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start > end || start >= size) {
    throw new SimError(416, 'InvalidRange', `The requested range ${header} is not satisfiable for ${size} bytes`);
  }
  return { start, end };
}

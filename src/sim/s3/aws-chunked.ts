import { S3Error } from './errors.js';

const MAX_LINE = 8 * 1024;

const malformed = (why: string) => new S3Error(400, 'IncompleteBody', `Malformed aws-chunked request body: ${why}`);

/**
 * Incremental decoder of the `aws-chunked` content encoding (SigV4 streaming uploads): chunks framed as
 * `hex-size[;chunk-signature=…]\r\n<bytes>\r\n`, a final zero-size chunk, then trailer lines (`name:value\r\n`,
 * e.g. `x-amz-checksum-crc32:…`, `x-amz-trailer-signature:…`) and an empty line. Chunk signatures are not
 * checked: the simulator accepts any credentials.
 */
export class AwsChunkedDecoder {
  readonly trailers = new Map<string, string>();
  private state: 'size' | 'data' | 'data-end' | 'trailer' | 'done' = 'size';
  /** bytes of a line not yet terminated by CRLF */
  private line = '';
  private remaining = 0;

  /** Feeds raw bytes; returns the payload bytes they carried (views into `input`, not copies). */
  push(input: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let i = 0;
    while (i < input.length) {
      switch (this.state) {
        case 'data': {
          const take = Math.min(this.remaining, input.length - i);
          out.push(input.subarray(i, i + take));
          i += take;
          this.remaining -= take;
          if (this.remaining === 0) this.state = 'data-end';
          break;
        }
        case 'done':
          throw malformed('bytes after the final chunk');
        default: {
          const newline = input.indexOf(0x0a, i);
          const end = newline === -1 ? input.length : newline + 1;
          this.line += input.toString('latin1', i, end);
          i = end;
          if (this.line.length > MAX_LINE) throw malformed('line too long');
          if (newline !== -1) {
            const line = this.line;
            this.line = '';
            if (!line.endsWith('\r\n')) throw malformed('line not terminated by CRLF');
            this.onLine(line.slice(0, -2));
          }
        }
      }
    }
    return out;
  }

  /** Throws unless the body ended right after the trailer section. */
  finish(): void {
    if (this.state !== 'done') throw malformed('body ended before the final chunk and trailers');
  }

  private onLine(line: string): void {
    switch (this.state) {
      case 'size': {
        const size = /^([0-9a-fA-F]{1,15})(?:;.*)?$/.exec(line)?.[1];
        if (size === undefined) throw malformed(`bad chunk header "${line.slice(0, 80)}"`);
        this.remaining = parseInt(size, 16);
        this.state = this.remaining === 0 ? 'trailer' : 'data';
        return;
      }
      case 'data-end':
        if (line !== '') throw malformed('chunk longer than its declared size');
        this.state = 'size';
        return;
      case 'trailer': {
        if (line === '') {
          this.state = 'done';
          return;
        }
        const colon = line.indexOf(':');
        if (colon <= 0) throw malformed(`bad trailer "${line.slice(0, 80)}"`);
        this.trailers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
        return;
      }
    }
  }
}

/** Whether a request body is aws-chunked framed (SigV4 streaming, with or without trailers). */
export function isAwsChunked(headers: { 'content-encoding'?: string; 'x-amz-content-sha256'?: string | string[] }): boolean {
  const sha = headers['x-amz-content-sha256'];
  return (
    (headers['content-encoding'] ?? '').split(',').some((e) => e.trim() === 'aws-chunked') ||
    (typeof sha === 'string' && sha.startsWith('STREAMING-'))
  );
}

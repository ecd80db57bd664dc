import type { ByteSource } from './types.js';

/** The chunks of a source as Buffers, strings taken as UTF-8. */
export async function* byteChunks(source: ByteSource): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    const bytes =
      typeof chunk === 'string'
        ? Buffer.from(chunk, 'utf8')
        : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (bytes.length > 0) yield bytes;
  }
}

export interface TextLine {
  /** Without its line break (LF or CRLF) and, on line 1, without a UTF-8 byte order mark */
  text: string;
  /** 1-based */
  number: number;
  /** Byte offset of the line's start in the document */
  offset: number;
  /** False for a last line that the document ended without a line break */
  terminated: boolean;
}

const LF = 0x0a;

/**
 * Splits a byte stream into lines without holding more than one line. Splitting happens on bytes (LF never
 * occurs inside a UTF-8 sequence), so a character cut across chunks is decoded whole. A line longer than
 * `maxLineBytes` stops the stream with the error `tooLong` makes, which keeps memory bounded on a document
 * that has no line breaks at all.
 */
export async function* readLines(
  chunks: AsyncIterable<Buffer>,
  maxLineBytes: number,
  tooLong: (line: number, offset: number) => Error,
): AsyncGenerator<TextLine> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let number = 0;
  let offset = 0;

  const take = (last: Buffer, terminated: boolean): TextLine => {
    const bytes = pending.length > 0 ? Buffer.concat([...pending, last]) : last;
    pending = [];
    pendingBytes = 0;
    number++;
    let text = bytes.toString('utf8');
    if (terminated && text.endsWith('\r')) text = text.slice(0, -1);
    if (number === 1 && text.startsWith('\uFEFF')) text = text.slice(1);
    const line = { text, number, offset, terminated };
    offset += bytes.length + (terminated ? 1 : 0);
    return line;
  };

  for await (const chunk of chunks) {
    let start = 0;
    for (let lf = chunk.indexOf(LF); lf !== -1; lf = chunk.indexOf(LF, start)) {
      if (pendingBytes + lf - start > maxLineBytes) throw tooLong(number + 1, offset);
      yield take(chunk.subarray(start, lf), true);
      start = lf + 1;
    }
    if (start < chunk.length) {
      pending.push(chunk.subarray(start));
      pendingBytes += chunk.length - start;
      if (pendingBytes > maxLineBytes) throw tooLong(number + 1, offset);
    }
  }
  if (pendingBytes > 0) yield take(Buffer.alloc(0), false);
}

import { StringDecoder } from 'node:string_decoder';
import { readChunks, type ChunkReader } from './chunks.js';

/** Naming overrides read their file through here as well. */
export { byteChunks } from './chunks.js';

export interface TextLine {
  /** Without its line break (LF or CRLF) and, on line 1, without a UTF-8 byte order mark */
  text: string;
  /** 1-based */
  number: number;
  /** Byte offset of the line's start in the document (of its decoded text, which differs only for invalid UTF-8) */
  offset: number;
  /** False for a last line that the document ended without a line break */
  terminated: boolean;
}

/**
 * Splits a document into lines as its chunks arrive, holding no more than one line and one chunk. Each chunk is
 * decoded once (a character cut across chunks is decoded whole) and split with `indexOf`, which is several times
 * faster than finding and decoding each line's bytes apart. A line longer than `maxLineBytes` stops the stream
 * with the error `tooLong` makes, which keeps memory bounded on a document that has no line breaks at all.
 */
export class LineReader implements ChunkReader<TextLine> {
  private readonly decoder = new StringDecoder('utf8');
  /** Decoded text; the next line starts at `pos` */
  private text = '';
  private pos = 0;
  private number = 0;
  private offset = 0;
  private ended = false;

  constructor(
    private readonly maxLineBytes: number,
    private readonly tooLong: (line: number, offset: number) => Error,
  ) {}

  write(chunk: Buffer): void {
    this.append(this.decoder.write(chunk));
  }

  end(): void {
    this.append(this.decoder.end());
    this.ended = true;
  }

  next(): TextLine | undefined {
    const lf = this.text.indexOf('\n', this.pos);
    const end = lf === -1 ? this.text.length : lf;
    // A character takes at least one byte: a line already this long is too long, complete or not.
    if (end - this.pos > this.maxLineBytes) throw this.tooLong(this.number + 1, this.offset);
    if (lf === -1 && !(this.ended && end > this.pos)) return undefined;
    return this.take(end, lf !== -1);
  }

  private append(text: string): void {
    this.text = this.text.slice(this.pos) + text;
    this.pos = 0;
  }

  private take(end: number, terminated: boolean): TextLine {
    let text = this.text.slice(this.pos, end);
    const bytes = Buffer.byteLength(text);
    if (bytes > this.maxLineBytes) throw this.tooLong(this.number + 1, this.offset);
    this.pos = terminated ? end + 1 : end;
    this.number++;
    if (terminated && text.endsWith('\r')) text = text.slice(0, -1);
    if (this.number === 1 && text.startsWith('\uFEFF')) text = text.slice(1);
    const line = { text, number: this.number, offset: this.offset, terminated };
    this.offset += bytes + (terminated ? 1 : 0);
    return line;
  }
}

/** The lines of a byte stream, as LineReader splits them. */
export function readLines(
  chunks: AsyncIterable<Buffer>,
  maxLineBytes: number,
  tooLong: (line: number, offset: number) => Error,
): AsyncGenerator<TextLine> {
  return readChunks(chunks, new LineReader(maxLineBytes, tooLong));
}

import { StringDecoder } from 'node:string_decoder';
import { InventoryFormatError } from './types.js';
import { excerpt } from './validate.js';

/** What the document holds, in order. */
export type ScannedItem =
  | { kind: 'member'; key: string; value: unknown }
  /** ArchiveList has opened; its entries follow */
  | { kind: 'list' }
  | { kind: 'entry'; entry: number; value: unknown };

const LIST_OPENED: ScannedItem = { kind: 'list' };

/** Far longer than a Glacier entry (a 1,024-character description \u-escaped at worst is 6 KiB). */
const MAX_VALUE_CHARS = 1024 * 1024;

const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const QUOTE = 0x22;
const COMMA = 0x2c;
const COLON = 0x3a;
const LBRACKET = 0x5b;
const BACKSLASH = 0x5c;
const RBRACKET = 0x5d;
const LBRACE = 0x7b;
const RBRACE = 0x7d;

/** What the document must have next, outside any value. */
type Expect =
  | 'root'
  | 'key-or-end'
  | 'key'
  | 'colon'
  | 'value'
  | 'member-end'
  | 'entry-or-end'
  | 'entry'
  | 'entry-end'
  | 'done';

/** A number or literal (`true`, `false`, `null`) runs on over these; `JSON.parse` tells whether it is one. */
function isScalarChar(c: number): boolean {
  const digitOrLetter = (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);
  return digitOrLetter || c === 0x2d /* - */ || c === 0x2b /* + */ || c === 0x2e /* . */;
}

function startsValue(c: number): boolean {
  return c === QUOTE || c === LBRACE || c === LBRACKET || isScalarChar(c);
}

/** Whether the quote at `quote` is escaped: an odd run of backslashes before it (the opening quote ends the run). */
function isEscaped(text: string, quote: number): boolean {
  let i = quote - 1;
  while (text.charCodeAt(i) === BACKSLASH) i--;
  return (quote - 1 - i) % 2 === 1;
}

/**
 * Splits a JSON inventory `{"VaultARN":…,"InventoryDate":…,"ArchiveList":[{…},{…}]}` as it arrives into its
 * top-level members and the entries of its ArchiveList, each parsed by the native `JSON.parse`. Only the top level
 * is followed here, character by character; a value is merely delimited (strings skipped whole with `indexOf`,
 * brackets matched) and its text handed to `JSON.parse`, which is several times faster than a streaming tokenizer
 * and validates it. Memory is bounded by one value plus one chunk: text before the value being read is dropped.
 */
export class JsonInventoryScanner {
  private readonly decoder = new StringDecoder('utf8');
  /** Decoded text from the start of the value being read (or from the scan position) on */
  private text = '';
  /** Byte offset in the document of `text[0]` */
  private textStart = 0;
  private bytesWritten = 0;
  private pos = 0;
  private expect: Expect = 'root';
  private key = '';
  private entries = 0;

  /** Where the value being delimited starts in `text`, -1 between values */
  private valueStart = -1;
  private valueKind: 'key' | 'value' | 'entry' = 'value';
  /** Closing brackets the value still owes, innermost last */
  private readonly closers: number[] = [];
  private inString = false;
  private scalar = false;

  write(chunk: Buffer): void {
    const keep = this.valueStart >= 0 ? this.valueStart : this.pos;
    this.textStart += Buffer.byteLength(this.text.slice(0, keep));
    this.text = this.text.slice(keep) + this.decoder.write(chunk);
    this.pos -= keep;
    if (this.valueStart >= 0) this.valueStart -= keep;
    this.bytesWritten += chunk.length;
  }

  /** The input has ended: throws unless the document was complete. */
  end(): void {
    const rest = this.decoder.end();
    if (this.expect !== 'done') {
      throw new InventoryFormatError(
        `JSON inventory ends before its document is complete, after ${this.bytesWritten} bytes (truncated download?)`,
        this.bytesWritten,
      );
    }
    if (rest !== '') throw this.dataAfterEnd(rest);
  }

  /** The next item the text so far holds whole, or undefined until more is written. */
  next(): ScannedItem | undefined {
    for (;;) {
      if (this.valueStart >= 0) {
        const end = this.scalar ? this.scalarEnd() : this.compoundEnd();
        if (end === -1) return undefined;
        const item = this.completeValue(end);
        if (item) return item;
        continue;
      }
      const c = this.skipWhitespace();
      if (c === -1) return undefined;
      switch (this.expect) {
        case 'root':
          if (c !== LBRACE) throw this.expected("'{'");
          this.close('key-or-end');
          break;
        case 'key-or-end':
        case 'key':
          if (c === RBRACE && this.expect === 'key-or-end') this.close('done');
          else if (c === QUOTE) this.beginValue('key');
          else throw this.expected(this.expect === 'key' ? 'a key in double quotes' : "a key in double quotes or '}'");
          break;
        case 'colon':
          if (c !== COLON) throw this.expected("':'");
          this.close('value');
          break;
        case 'value':
          if (this.key !== 'ArchiveList') {
            this.beginValue('value');
          } else if (c === LBRACKET) {
            this.close('entry-or-end');
            return LIST_OPENED;
          } else if (startsValue(c)) {
            // Told by its first character, so that a large value that is not a list is not read first
            throw new InventoryFormatError('not a Glacier vault inventory: ArchiveList is not a list', this.byteOffset(this.pos));
          } else {
            throw this.expected('a value');
          }
          break;
        case 'member-end':
          this.afterValue(c, RBRACE, 'key', 'done');
          break;
        case 'entry-or-end':
        case 'entry':
          if (c === RBRACKET && this.expect === 'entry-or-end') this.close('member-end');
          else this.beginValue('entry');
          break;
        case 'entry-end':
          this.afterValue(c, RBRACKET, 'entry', 'member-end');
          break;
        case 'done':
          throw this.dataAfterEnd(this.text.slice(this.pos));
      }
    }
  }

  /** Steps over one punctuation character to what must follow it. */
  private close(next: Expect): void {
    this.pos++;
    this.expect = next;
  }

  /** After a member or an entry: a comma and the next one, or the bracket that closes the object or list. */
  private afterValue(c: number, closer: number, afterComma: Expect, afterCloser: Expect): void {
    if (c === COMMA) this.close(afterComma);
    else if (c === closer) this.close(afterCloser);
    else throw this.expected(`',' or '${String.fromCharCode(closer)}'`);
  }

  /** The character at the scan position, after whitespace; -1 when the text ends first. */
  private skipWhitespace(): number {
    const text = this.text;
    let pos = this.pos;
    for (; pos < text.length; pos++) {
      const c = text.charCodeAt(pos);
      if (c !== SPACE && c !== LF && c !== CR && c !== TAB) break;
    }
    this.pos = pos;
    return pos < text.length ? text.charCodeAt(pos) : -1;
  }

  private beginValue(kind: 'key' | 'value' | 'entry'): void {
    const c = this.text.charCodeAt(this.pos);
    if (!startsValue(c)) throw this.expected(kind === 'entry' ? 'an ArchiveList entry' : 'a value');
    this.valueKind = kind;
    this.valueStart = this.pos++;
    this.inString = c === QUOTE;
    this.scalar = isScalarChar(c);
    if (c === LBRACE) this.closers.push(RBRACE);
    else if (c === LBRACKET) this.closers.push(RBRACKET);
  }

  /** Just past a number or literal, or -1 when the text ends first (it may go on in the next chunk). */
  private scalarEnd(): number {
    const text = this.text;
    let pos = this.pos;
    while (pos < text.length && isScalarChar(text.charCodeAt(pos))) pos++;
    this.pos = pos;
    return pos < text.length ? pos : this.needMore();
  }

  /**
   * Just past a string, object or array, or -1 when the text ends first. A bracket that closes the wrong kind
   * ends the value early: `JSON.parse` then refuses it.
   */
  private compoundEnd(): number {
    const text = this.text;
    const closers = this.closers;
    let pos = this.pos;
    let inString = this.inString;
    for (;;) {
      if (inString) {
        const quote = text.indexOf('"', pos);
        if (quote === -1) {
          pos = text.length;
          break;
        }
        pos = quote + 1;
        if (isEscaped(text, quote)) continue;
        inString = false;
        if (closers.length === 0) return pos;
      }
      if (pos >= text.length) break;
      const c = text.charCodeAt(pos++);
      if (c === QUOTE) {
        inString = true;
      } else if (c === LBRACE) {
        closers.push(RBRACE);
      } else if (c === LBRACKET) {
        closers.push(RBRACKET);
      } else if (c === RBRACE || c === RBRACKET) {
        if (closers.pop() !== c) {
          closers.length = 0;
          return pos;
        }
        if (closers.length === 0) return pos;
      }
    }
    this.pos = pos;
    this.inString = inString;
    return this.needMore();
  }

  private needMore(): -1 {
    if (this.pos - this.valueStart > MAX_VALUE_CHARS) throw this.tooLong();
    return -1;
  }

  /** Parses the value that ends at `end` and moves on: an item for values and entries, none for a key. */
  private completeValue(end: number): ScannedItem | undefined {
    if (end - this.valueStart > MAX_VALUE_CHARS) throw this.tooLong();
    const source = this.text.slice(this.valueStart, end);
    let value: unknown;
    try {
      value = JSON.parse(source);
    } catch {
      const offset = this.byteOffset(this.valueStart);
      throw new InventoryFormatError(
        `not a valid JSON inventory: ${this.describeValue()} at byte ${offset} is not valid JSON: ${excerpt(source)}`,
        offset,
      );
    }
    this.valueStart = -1;
    this.pos = end;
    switch (this.valueKind) {
      case 'key':
        this.key = value as string;
        this.expect = 'colon';
        return undefined;
      case 'value':
        this.expect = 'member-end';
        return { kind: 'member', key: this.key, value };
      case 'entry':
        this.expect = 'entry-end';
        return { kind: 'entry', entry: ++this.entries, value };
    }
  }

  private describeValue(): string {
    if (this.valueKind === 'key') return 'a key';
    if (this.valueKind === 'value') return `the value of ${excerpt(this.key)}`;
    return `ArchiveList entry ${this.entries + 1}`;
  }

  private byteOffset(pos: number): number {
    return this.textStart + Buffer.byteLength(this.text.slice(0, pos));
  }

  private expected(what: string): InventoryFormatError {
    const offset = this.byteOffset(this.pos);
    return new InventoryFormatError(
      `not a valid JSON inventory: expected ${what} at byte ${offset}, found ${excerpt(this.text[this.pos])}`,
      offset,
    );
  }

  private tooLong(): InventoryFormatError {
    const offset = this.byteOffset(this.valueStart);
    return new InventoryFormatError(
      `not a Glacier vault inventory: ${this.describeValue()} at byte ${offset} is longer than ${MAX_VALUE_CHARS} characters`,
      offset,
    );
  }

  private dataAfterEnd(rest: string): InventoryFormatError {
    return new InventoryFormatError(
      `unexpected data after the end of the JSON inventory: ${excerpt(rest, 40)}`,
      this.byteOffset(this.pos),
    );
  }
}

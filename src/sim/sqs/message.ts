import { createHash } from 'node:crypto';

/** One SQS message attribute (SNS passes its own message attributes on in this shape under raw delivery). */
export interface MessageAttributeValue {
  DataType: string;
  StringValue?: string;
  BinaryValue?: Buffer;
}

export type MessageAttributes = Record<string, MessageAttributeValue>;

export function md5Hex(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex');
}

/**
 * MD5OfMessageAttributes as SQS documents it: for each attribute in name order, the name, the data type, a transport
 * byte (1 string, 2 binary) and the value, each length-prefixed (4 bytes, big-endian) except the transport byte.
 */
export function md5OfMessageAttributes(attributes: MessageAttributes): string | undefined {
  const names = Object.keys(attributes).sort();
  if (names.length === 0) return undefined;
  const hash = createHash('md5');
  const field = (bytes: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    hash.update(length).update(bytes);
  };
  for (const name of names) {
    const value = attributes[name]!;
    field(Buffer.from(name, 'utf8'));
    field(Buffer.from(value.DataType, 'utf8'));
    const binary = value.BinaryValue !== undefined;
    hash.update(Buffer.from([binary ? 2 : 1]));
    field(binary ? value.BinaryValue! : Buffer.from(value.StringValue ?? '', 'utf8'));
  }
  return hash.digest('hex');
}

/** Bytes a message counts against MaximumMessageSize: body plus each attribute's name, type and value. */
export function messageSize(body: string, attributes: MessageAttributes): number {
  let size = Buffer.byteLength(body);
  for (const [name, value] of Object.entries(attributes)) {
    size += Buffer.byteLength(name) + Buffer.byteLength(value.DataType);
    size += value.BinaryValue?.length ?? Buffer.byteLength(value.StringValue ?? '');
  }
  return size;
}

/** Characters SQS accepts in a message body: #x9 #xA #xD, #x20-#xD7FF, #xE000-#xFFFD, #x10000-#x10FFFF. */
export function hasOnlyAllowedCharacters(text: string): boolean {
  return !/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u.test(text);
}

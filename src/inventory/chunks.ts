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

/**
 * A synchronous parser fed a document a chunk at a time. `next` hands out, in order, what the chunks written so
 * far hold whole, and throws where the document goes wrong, after what came before; `end` says no chunk follows
 * and throws when the document is incomplete; `next` then hands out the rest.
 */
export interface ChunkReader<T> {
  write(chunk: Buffer): void;
  end(): void;
  next(): T | undefined;
}

/**
 * Feeds chunks to a reader and yields what it hands out: the one asynchronous step per item, where a chain of
 * async generators (bytes → lines → records) would cost one per item per link.
 */
export async function* readChunks<T>(chunks: AsyncIterable<Buffer>, reader: ChunkReader<T>): AsyncGenerator<T> {
  for await (const chunk of chunks) {
    reader.write(chunk);
    for (let item = reader.next(); item !== undefined; item = reader.next()) yield item;
  }
  reader.end();
  for (let item = reader.next(); item !== undefined; item = reader.next()) yield item;
}

import { createReadStream } from 'node:fs';
import { mkdir, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * The bytes of one piece of an object: a whole PutObject body, or one part of a multipart object. Kept in
 * memory, in a blob file under the data directory, or not at all (hashOnly: only the size and checksums).
 */
export type Segment =
  | { kind: 'memory'; size: number; chunks: Buffer[] }
  | { kind: 'blob'; size: number; file: string }
  | { kind: 'hashed'; size: number };

export interface SegmentWriter {
  /** A promise when the caller must wait before writing more (the bytes are being flushed to disk). */
  write(data: Buffer): Promise<void> | void;
  close(): Promise<Segment>;
  discard(): Promise<void>;
}

/** Batches socket-sized pieces into writes of this size. */
const WRITE_BATCH = 1024 * 1024;

export class SegmentStorage {
  constructor(
    /** blob files live here; memory when undefined */
    private readonly blobDir: string | undefined,
    /** only sizes and checksums are kept, not the bytes */
    readonly hashOnly: boolean,
  ) {}

  writer(): SegmentWriter {
    if (this.hashOnly) return hashedWriter();
    if (this.blobDir === undefined) return memoryWriter();
    return blobWriter(this.blobDir);
  }

  async remove(segments: readonly Segment[]): Promise<void> {
    for (const s of segments) if (s.kind === 'blob') await unlink(s.file).catch(() => undefined);
  }

  /** Bytes [start, end] (inclusive) of the concatenated segments. */
  async *read(segments: readonly Segment[], start: number, end: number): AsyncGenerator<Buffer> {
    let offset = 0;
    for (const segment of segments) {
      const segStart = offset;
      offset += segment.size;
      if (offset <= start || segStart > end || segment.size === 0) continue;
      const from = Math.max(start, segStart) - segStart;
      const to = Math.min(end, offset - 1) - segStart;
      yield* readSegment(segment, from, to);
    }
  }
}

async function* readSegment(segment: Segment, from: number, to: number): AsyncGenerator<Buffer> {
  switch (segment.kind) {
    case 'hashed':
      throw new Error('segment bytes were not kept (hashOnly)');
    case 'blob':
      for await (const chunk of createReadStream(segment.file, { start: from, end: to, highWaterMark: WRITE_BATCH })) {
        yield chunk as Buffer;
      }
      return;
    case 'memory': {
      let offset = 0;
      for (const chunk of segment.chunks) {
        const chunkStart = offset;
        offset += chunk.length;
        if (offset <= from || chunkStart > to) continue;
        yield chunk.subarray(Math.max(from, chunkStart) - chunkStart, Math.min(to, offset - 1) - chunkStart + 1);
      }
    }
  }
}

function hashedWriter(): SegmentWriter {
  let size = 0;
  return {
    write: (data) => void (size += data.length),
    close: async () => ({ kind: 'hashed', size }),
    discard: async () => undefined,
  };
}

/** Keeps the bytes in 1 MiB buffers: socket-sized pieces would cost a write call each when read back. */
function memoryWriter(): SegmentWriter {
  let chunks: Buffer[] = [];
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let size = 0;
  const seal = () => {
    if (pendingBytes > 0) chunks.push(pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes));
    pending = [];
    pendingBytes = 0;
  };
  return {
    write(data) {
      pending.push(data);
      pendingBytes += data.length;
      size += data.length;
      if (pendingBytes >= WRITE_BATCH) seal();
    },
    async close() {
      seal();
      return { kind: 'memory', size, chunks };
    },
    discard: async () => void (chunks = pending = []),
  };
}

/** Writes batches to a new blob file; one batch is in flight while the next one fills. */
function blobWriter(dir: string): SegmentWriter {
  const file = join(dir, `${Date.now().toString(36)}-${randomBytes(8).toString('hex')}.bin`);
  const opened = mkdir(dir, { recursive: true }).then(() => open(file, 'wx'));
  // Keep an early open failure from surfacing as an unhandled rejection; write/close report it.
  opened.catch(() => undefined);
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let size = 0;
  let inFlight: Promise<void> = Promise.resolve();
  async function writeAll(buffers: Buffer[]): Promise<void> {
    const handle = await opened;
    // writev may write fewer bytes than asked; go on with the rest.
    while (buffers.length > 0) {
      const { bytesWritten } = await handle.writev(buffers);
      buffers = remainder(buffers, bytesWritten);
    }
  }
  async function flush(): Promise<void> {
    await inFlight;
    const batch = pending;
    pending = [];
    pendingBytes = 0;
    inFlight = writeAll(batch);
    inFlight.catch(() => undefined);
  }
  return {
    write(data) {
      pending.push(data);
      pendingBytes += data.length;
      size += data.length;
      if (pendingBytes >= WRITE_BATCH) return flush();
    },
    async close() {
      await flush();
      await inFlight;
      await (await opened).close();
      return { kind: 'blob', size, file };
    },
    async discard() {
      pending = [];
      await inFlight.catch(() => undefined);
      await (await opened.catch(() => undefined))?.close().catch(() => undefined);
      await unlink(file).catch(() => undefined);
    },
  };
}

function remainder(buffers: Buffer[], skip: number): Buffer[] {
  const out: Buffer[] = [];
  for (const b of buffers) {
    if (skip >= b.length) {
      skip -= b.length;
      continue;
    }
    out.push(skip > 0 ? b.subarray(skip) : b);
    skip = 0;
  }
  return out;
}

import { once } from 'node:events';
import type { Writable } from 'node:stream';

/**
 * Writes lines to a stream in blocks, waiting whenever it is full: millions of lines piped into a slow reader
 * take no more memory than a block. A reader that goes away (`| head`) ends the writing quietly.
 */
export async function writeLines(out: Writable, lines: Iterable<string>, blockSize = 1000): Promise<void> {
  let failure: NodeJS.ErrnoException | undefined;
  const onError = (e: NodeJS.ErrnoException) => (failure ??= e);
  out.on('error', onError);
  const gone = () => failure !== undefined || out.destroyed;
  try {
    let block: string[] = [];
    const flush = async () => {
      const full = !out.write(`${block.join('\n')}\n`);
      block = [];
      if (full && !gone()) await Promise.race([once(out, 'drain'), once(out, 'close')]).catch(() => undefined); // an error is kept by onError
    };
    for (const line of lines) {
      if (gone()) break;
      block.push(line);
      if (block.length === blockSize) await flush();
    }
    if (block.length > 0 && !gone()) await flush();
  } finally {
    out.off('error', onError);
  }
  if (failure && failure.code !== 'EPIPE') throw failure;
}

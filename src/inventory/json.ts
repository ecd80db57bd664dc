import { JSONParser, TokenType, type ParsedTokenInfo } from '@streamparser/json';
import { checkArchive } from './validate.js';
import { InventoryFormatError, type InventoryEvent, type InventoryHeader } from './types.js';

/**
 * Follows the top level of the document token by token, to learn what a path-filtered parser does not say:
 * that `ArchiveList` is present and is an array (an empty vault has `"ArchiveList":[]`, which emits nothing),
 * and when the root object has closed.
 */
class TopLevelWatcher {
  rootClosed = false;
  archiveListOpened = false;
  private depth = 0;
  private expectingKey = false;
  private key: string | undefined;

  constructor(private readonly onArchiveListOpen: () => void) {}

  observe({ token, value, offset }: ParsedTokenInfo): void {
    if (this.depth === 1) {
      if (token === TokenType.STRING && this.expectingKey) {
        this.key = value as string;
        this.expectingKey = false;
      } else if (token === TokenType.COMMA) {
        this.expectingKey = true;
      } else if (token !== TokenType.COLON) {
        if (this.key === 'ArchiveList') {
          if (token !== TokenType.LEFT_BRACKET) {
            throw new InventoryFormatError('not a Glacier vault inventory: ArchiveList is not a list', offset);
          }
          this.archiveListOpened = true;
          this.onArchiveListOpen();
        }
        this.key = undefined;
      }
    }
    if (token === TokenType.LEFT_BRACE || token === TokenType.LEFT_BRACKET) {
      if (this.depth === 0) this.expectingKey = true;
      this.depth++;
    } else if (token === TokenType.RIGHT_BRACE || token === TokenType.RIGHT_BRACKET) {
      this.depth--;
      if (this.depth === 0) this.rootClosed = true;
    }
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Streams a JSON inventory `{"VaultARN","InventoryDate","ArchiveList":[…]}` with memory bounded by one entry.
 * The header event comes once: before the first archive when the document names VaultARN and InventoryDate
 * before ArchiveList (as Glacier writes it), otherwise after the last archive.
 */
export async function* readJsonInventory(chunks: AsyncIterable<Buffer>): AsyncGenerator<InventoryEvent> {
  const parser = new JSONParser({ paths: ['$.VaultARN', '$.InventoryDate', '$.ArchiveList.*'], keepStack: false });
  const header: InventoryHeader = { format: 'json' };
  const ready: InventoryEvent[] = [];
  let headerSent = false;
  let entry = 0;

  const sendHeader = () => {
    ready.push({ kind: 'header', header });
    headerSent = true;
  };
  const watcher = new TopLevelWatcher(() => {
    if (header.vaultArn !== undefined && header.inventoryDate !== undefined) sendHeader();
  });
  parser.onToken = (token) => watcher.observe(token);
  parser.onValue = ({ value, key, stack }) => {
    if (stack.length === 1) {
      if (typeof value !== 'string') return;
      if (key === 'VaultARN') header.vaultArn = value;
      else header.inventoryDate = value;
      return;
    }
    entry++;
    if (!isRecord(value)) {
      ready.push({ kind: 'bad-row', entry, reason: 'entry is not an object' });
      return;
    }
    const check = checkArchive(value);
    ready.push(
      'archive' in check
        ? { kind: 'archive', entry, archive: check.archive }
        : { kind: 'bad-row', entry, reason: check.reason, archiveId: check.archiveId },
    );
  };

  let bytesRead = 0;
  for await (const chunk of chunks) {
    let failure: unknown;
    try {
      parser.write(chunk);
    } catch (error) {
      failure = error;
    }
    yield* ready.splice(0);
    if (failure !== undefined) throw asFormatError(failure, watcher.rootClosed);
    bytesRead += chunk.length;
  }

  if (!parser.isEnded) {
    try {
      parser.end();
    } catch {
      throw new InventoryFormatError(
        `JSON inventory ends before its document is complete, after ${bytesRead} bytes (truncated download?)`,
        bytesRead,
      );
    }
  }
  if (!watcher.archiveListOpened) {
    throw new InventoryFormatError('not a Glacier vault inventory: the JSON document has no ArchiveList');
  }
  if (!headerSent) sendHeader();
  yield* ready.splice(0);
}

/** The parser's own message names the byte position. */
function asFormatError(error: unknown, rootClosed: boolean): Error {
  if (error instanceof InventoryFormatError) return error;
  const detail = error instanceof Error ? error.message : String(error);
  return new InventoryFormatError(
    rootClosed ? `unexpected data after the end of the JSON inventory: ${detail}` : `not a valid JSON inventory: ${detail}`,
  );
}

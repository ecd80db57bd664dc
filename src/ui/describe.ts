import type { EngineEvent } from '../events.js';
import { formatBytes } from './format.js';

/** An event as one line of text for people (terminal and log), or undefined when it is not news on its own. */
export function describeEvent(e: EngineEvent): string | undefined {
  switch (e.type) {
    case 'phase':
      // Checks that take a moment are not news; a refusal prints its own one line.
      if (e.phase === 'validate' || e.phase === 'notifications' || e.phase === 'done') return undefined;
      return e.detail ? `${e.phase}: ${e.detail}` : `${e.phase}…`;
    case 'planned':
      return `planned ${e.archives} archives, ${formatBytes(e.bytes)}${e.uncopyable ? `; ${e.uncopyable} cannot be copied` : ''}`;
    case 'already-in-s3':
      return `${e.archives} archives (${formatBytes(e.bytes)}) already in S3 from an earlier copy: not retrieved again`;
    case 'inventory-bad-row':
      return `inventory line ${e.line} skipped: ${e.reason}`;
    case 'archive-failed':
      return `FAILED ${e.key ?? e.archiveId}: ${e.reason}`;
    case 'job-renewed':
      return `re-requesting archive ${e.archiveId}: ${e.reason}`;
    case 'part-retry':
      return `retrying part ${e.partNumber}${e.range ? ` (${e.range})` : ''} of archive ${e.archiveId} (attempt ${e.attempt}): ${e.reason}`;
    case 'warning':
      return `warning: ${e.message}`;
    case 'throttled':
      return `throttled on ${e.operation}; pausing ${Math.round(e.pauseMs / 1000)}s`;
    default:
      return undefined;
  }
}

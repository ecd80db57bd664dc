/** What the engine tells the outside world. It never touches the terminal: the CLI renders these. */
export type EngineEvent =
  | { type: 'phase'; phase: 'validate' | 'notifications' | 'inventory' | 'plan' | 'already-in-s3' | 'copy' | 'cleanup' | 'done'; detail?: string }
  | { type: 'inventory-progress'; archives: number; bytes: number }
  /** Glacier is still preparing the inventory job, requested at `requestedAt` (ISO); such jobs take `expectedHours` */
  | { type: 'inventory-waiting'; jobId: string; requestedAt: string; expectedHours: { min: number; max: number } }
  | { type: 'inventory-bad-row'; line: number; reason: string }
  | { type: 'planned'; archives: number; bytes: number; uncopyable: number }
  | { type: 'already-in-s3'; archives: number; bytes: number }
  | { type: 'job-initiated'; archiveId: string; jobId: string; tier: string }
  | { type: 'job-ready'; archiveId: string; jobId: string; via: 'notification' | 'poll' }
  | { type: 'job-renewed'; archiveId: string; reason: string }
  | { type: 'bytes'; n: number }
  /** partNumber 0: the CompleteMultipartUpload; `range`: the archive's bytes it carries, `bytes=a-b` */
  | { type: 'part-retry'; archiveId: string; partNumber: number; attempt: number; reason: string; range?: string }
  | { type: 'archive-verified'; archiveId: string; key: string; size: number }
  | { type: 'archive-failed'; archiveId: string; key: string | null; reason: string }
  | { type: 'warning'; message: string }
  | { type: 'throttled'; operation: string; pauseMs: number };

export type EventSink = (event: EngineEvent) => void;

export const noEvents: EventSink = () => undefined;

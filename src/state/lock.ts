import Database from 'better-sqlite3';

/** Another live process drives this transfer. */
export class StateLockedError extends Error {
  constructor(readonly path: string) {
    super(`state file ${path} is in use by a running transfer; wait for it or stop it first`);
  }
}

/** The lock file beside a state file. */
export function lockPath(statePath: string): string {
  return `${statePath}.lock`;
}

/**
 * An exclusive lock beside the state file, held as an SQLite exclusive transaction on `<state>.lock`: the
 * operating system releases it when the process ends, however it ends (kill -9, power loss), so a crash never
 * blocks `resume`, and no process id can be mistaken for a live owner. The file itself stays; it holds nothing.
 */
export function acquireLock(statePath: string): () => void {
  const db = new Database(lockPath(statePath), { timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
  } catch (e) {
    db.close();
    if ((e as { code?: string }).code === 'SQLITE_BUSY') throw new StateLockedError(statePath);
    throw e;
  }
  return () => {
    if (db.open) db.close();
  };
}

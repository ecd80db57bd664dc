import { statSync, unlinkSync, type Stats } from 'node:fs';
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

function identity(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

const sameFile = (a: Stats | undefined, b: Stats | undefined) => !!a && !!b && a.dev === b.dev && a.ino === b.ino && a.birthtimeMs === b.birthtimeMs;

/** Tries to lock the file at `path`: the database holding the lock, or undefined when the file was replaced meanwhile. */
function tryLock(path: string, statePath: string): Database.Database | undefined {
  const before = identity(path);
  const db = new Database(path, { timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
  } catch (e) {
    db.close();
    if ((e as { code?: string }).code === 'SQLITE_BUSY') throw new StateLockedError(statePath);
    throw e;
  }
  // The holder removes the file as it lets go: a file opened just before then is locked by no one else, and a
  // new one may be at the path. The lock counts only on the file that is still there.
  if (before && sameFile(before, identity(path))) return db;
  db.close();
  return undefined;
}

/**
 * An exclusive lock beside the state file, held as an SQLite exclusive transaction on `<state>.lock`: the
 * operating system releases it when the process ends, however it ends (kill -9, power loss), so a crash never
 * blocks `resume`, and no process id can be mistaken for a live owner. The holder removes the file when it lets
 * go, so that a finished run leaves none; one left by a killed run is taken over.
 */
export function acquireLock(statePath: string): () => void {
  const path = lockPath(statePath);
  for (let attempt = 0; ; attempt++) {
    const db = tryLock(path, statePath);
    if (db) {
      return () => {
        if (!db.open) return;
        // Removed while still held: whoever opens the path next finds a new file, or none.
        try {
          unlinkSync(path);
        } catch {
          // gone already: nothing to clean
        }
        db.close();
      };
    }
    // Replaced between opening and locking: someone else is taking it right now.
    if (attempt >= 3) throw new StateLockedError(statePath);
  }
}

/** Whether a process holds the transfer's lock, i.e. runs it now (without taking the lock, nor creating its file). */
export function isLocked(statePath: string): boolean {
  let db: Database.Database;
  try {
    db = new Database(lockPath(statePath), { readonly: true, fileMustExist: true, timeout: 0 });
  } catch {
    return false; // no lock file: no run since the last one ended
  }
  try {
    // A read needs a shared lock, which the holder's exclusive one refuses.
    db.prepare('SELECT count(*) FROM sqlite_schema').get();
    return false;
  } catch (e) {
    if ((e as { code?: string }).code === 'SQLITE_BUSY') return true;
    throw e;
  } finally {
    db.close();
  }
}

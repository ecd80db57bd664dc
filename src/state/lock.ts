import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';

/** Another live process drives this transfer. */
export class StateLockedError extends Error {
  constructor(
    readonly path: string,
    readonly pid: number,
  ) {
    super(`state file ${path} is in use by a running transfer (pid ${pid}); wait for it or stop it first`);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * An exclusive lock beside the state file: `<state>.lock` holding the owner's pid, created with O_EXCL. A lock
 * whose owner is dead (kill -9, power loss) is taken over, so a crash never blocks `resume`.
 */
export function acquireLock(statePath: string): () => void {
  const path = `${statePath}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => {
        try {
          if (readFileSync(path, 'utf8') === String(process.pid)) unlinkSync(path);
        } catch {
          // already gone
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(readFileSync(path, 'utf8'));
      if (pid && pid !== process.pid && isAlive(pid)) throw new StateLockedError(statePath, pid);
      unlinkSync(path); // stale: its owner is gone
    }
  }
  throw new Error(`could not lock state file ${statePath}`);
}

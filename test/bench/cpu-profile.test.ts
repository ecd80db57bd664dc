import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SHA256_CATEGORY, combine, largestShares, readProfiles } from './cpu-profile.js';

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A .cpuprofile whose samples spend `ms` in each frame, in order. */
function profile(file: string, frames: [functionName: string, url: string, ms: number][]): void {
  writeFileSync(
    join(dir, file),
    JSON.stringify({
      nodes: frames.map(([functionName, url], i) => ({ id: i + 1, callFrame: { functionName, url } })),
      samples: frames.map((_, i) => i + 1),
      timeDeltas: frames.map(([, , ms]) => ms * 1000),
    }),
  );
}

describe('the bench CPU profile summary', () => {
  it('tells the threads apart and bills busy samples by what they were doing, leaving idle time out', () => {
    dir = mkdtempSync(join(tmpdir(), 'cpu-profile-'));
    profile('CPU.20261130.161118.42.0.001.cpuprofile', [
      ['(idle)', '', 900],
      ['exec', 'file:///x/node_modules/better-sqlite3/lib/methods/wrappers.js', 30],
      ['compileFunction', '', 10],
      // a dependency's built code is not the tool's own
      ['v4', 'file:///x/node_modules/uuid/dist/esm/v4.js', 10],
    ]);
    profile('CPU.20261130.161118.42.1.003.cpuprofile', [
      ['(idle)', '', 500],
      ['update', 'node:internal/crypto/hash', 60],
      ['streamRange', 'file:///x/dist/transfer/part-copy.js', 10],
      ['socketOnData', 'node:_http_client', 30],
    ]);
    profile('CPU.20261130.161118.42.2.002.cpuprofile', [
      ['update', 'node:internal/crypto/hash', 40],
      ['(anonymous)', 'file:///x/dist/transfer/stream-worker.js', 20],
      ['(garbage collector)', '', 40],
      // request signing, beside Hash in node's crypto, is not one of the two passes
      ['Hmac', 'node:internal/crypto/hash', 20],
    ]);
    profile('CPU.20261130.161119.42.3.004.cpuprofile', [['scan', 'file:///x/dist/inventory/json-scan.js', 5]]);
    const threads = readProfiles(dir);
    expect(threads.map((t) => t.kind).sort()).toEqual(['main', 'other worker', 'stream worker', 'stream worker']);

    const main = combine(threads.filter((t) => t.kind === 'main'))!;
    expect(main.busyMs).toBe(50);
    expect(largestShares(main, 'categories')).toBe('state (SQLite) 60%, loading code and reading files 20%, other 20%');

    const workers = combine(threads.filter((t) => t.kind === 'stream worker'))!;
    expect(workers.busyMs).toBe(220);
    expect(workers.categories.get(SHA256_CATEGORY)).toBe(100);
    expect(workers.categories.get("glacier-copy's own code")).toBe(30);
    expect(largestShares(workers, 'categories', 0.16)).toBe(`${SHA256_CATEGORY} 45%, garbage collection 18%`);
    expect(largestShares(workers, 'functions', 0.4)).toBe('update (node:internal/crypto/hash) 45%');
    expect(combine([])).toBeUndefined();
  });
});

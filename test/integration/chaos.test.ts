import { describe, expect, it } from 'vitest';
import { chaosLine, runChaos } from '../chaos/chaos.js';

describe('chaos run (short, fixed seed)', () => {
  it('loses, duplicates, corrupts and leaks nothing under every fault and repeated kill -9', async () => {
    const figures = await runChaos({ seed: 20261125, archives: 40, kills: 6, maxRunMs: 1500, faultRate: 3 });
    console.log(chaosLine(figures));
    expect(figures.lastExit).toBe(0);
    expect(figures.kills).toBeGreaterThan(0);
    expect(figures.verified).toBe(figures.archives);
    expect({ lost: figures.lost, duplicated: figures.duplicated, corrupt: figures.corrupt, leaked: figures.leaked, extra: figures.extra }).toEqual({
      lost: 0,
      duplicated: 0,
      corrupt: 0,
      leaked: 0,
      extra: 0,
    });
    expect(figures.integrity).toBe('ok');
    // The run met the faults it is meant to survive.
    for (const kind of ['corrupt', 'reset', 'throttle', '500', '503', 'drop', 'duplicate', 'expire', 'lose', 'fail', 'conflict']) {
      expect(figures.faultsByKind[kind] ?? 0, kind).toBeGreaterThan(0);
    }
  }, 600_000);
});

import { describe, expect, it } from 'vitest';
import { mergeParts } from './merge-parts.js';
import type { Figure } from './scale.js';

const figure = (name: string, value: number, part?: string): Figure => ({ name, value, unit: '', target: 'reported', met: true, part });

describe('saved bench figures', () => {
  it('replace the parts a run measured, in place, and keep the parts it skipped', () => {
    const earlier = [figure('a1', 1, 'a'), figure('b1', 1, 'b'), figure('b2', 1, 'b'), figure('c1', 1, 'c')];
    const measured = [figure('b1', 2, 'b'), figure('d1', 2, 'd')];
    expect(mergeParts(earlier, measured).map((f) => `${f.name}=${f.value}`)).toEqual(['a1=1', 'b1=2', 'c1=1', 'd1=2']);
  });

  it('drop a figure renamed since, when the whole section was measured', () => {
    const earlier = [figure('old name', 1), figure('kept name', 1)];
    const measured = [figure('kept name', 2), figure('new name', 2)];
    expect(mergeParts(earlier, measured).map((f) => `${f.name}=${f.value}`)).toEqual(['kept name=2', 'new name=2']);
  });
});

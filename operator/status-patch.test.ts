import { describe, expect, it } from 'vitest';
import { statusPatch } from './status-patch.ts';

describe('statusPatch: the difference behind a test of the resourceVersion', () => {
  it('nothing to send when nothing changed', () => {
    expect(statusPatch({ phase: 'Execution' }, { phase: 'Execution' }, '7')).toEqual([]);
  });
  it('the first status is added whole', () => {
    expect(statusPatch(undefined, { phase: 'Preparation' }, '7')).toEqual([
      { op: 'test', path: '/metadata/resourceVersion', value: '7' },
      { op: 'add', path: '/status', value: { phase: 'Preparation' } },
    ]);
  });
  it('only the changed fields, under /status', () => {
    const ops = statusPatch(
      { phase: 'Execution', progress: { rows: 1 }, lag: { pending: 3 } },
      { phase: 'Execution', progress: { rows: 5 } },
      '8',
    );
    expect(ops[0]).toEqual({ op: 'test', path: '/metadata/resourceVersion', value: '8' });
    expect(ops.slice(1)).toEqual(
      expect.arrayContaining([
        { op: 'replace', path: '/status/progress/rows', value: 5 },
        { op: 'remove', path: '/status/lag' },
      ]),
    );
    expect(ops).toHaveLength(3);
  });
});

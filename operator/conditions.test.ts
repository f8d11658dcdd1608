import { describe, expect, it } from 'vitest';
import { setCondition } from './conditions.ts';

describe('conditions', () => {
  it('keeps lastTransitionTime while the status stays, moves it when the status changes', () => {
    const t1 = new Date('2026-01-01T00:00:00Z');
    const t2 = new Date('2026-01-01T00:01:00Z');
    const a = setCondition(
      undefined,
      { type: 'Ready', status: 'False', reason: 'PhaseRunning', message: 'x', observedGeneration: 1 },
      t1,
    );
    const b = setCondition(
      a,
      { type: 'Ready', status: 'False', reason: 'PhaseRunning', message: 'y', observedGeneration: 2 },
      t2,
    );
    expect(b[0]).toMatchObject({ message: 'y', observedGeneration: 2, lastTransitionTime: t1.toISOString() });
    const c = setCondition(
      b,
      { type: 'Ready', status: 'True', reason: 'Completed', message: 'done', observedGeneration: 2 },
      t2,
    );
    expect(c[0]!.lastTransitionTime).toBe(t2.toISOString());
    expect(c).toHaveLength(1);
  });
});

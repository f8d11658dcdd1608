import { describe, expect, it } from 'vitest';
import { formatDuration, ProgressTracker } from './progress.ts';

describe('progress', () => {
  it('reports rows, percent, rate and ETA from streamed bytes and committed chunks', () => {
    let now = 0;
    const p = new ProgressTracker(
      [
        { id: 'a#1', table: 'a', estRows: 100, estBytes: 1000 },
        { id: 'a#2', table: 'a', estRows: 100, estBytes: 1000 },
      ],
      () => now,
    );
    p.streamed('a#1', 500);
    now = 1000;
    p.streamed('a#1', 500);
    p.done('a#1', 100, 1000);
    const s = p.snapshot();
    expect(s.rows).toBe(100);
    expect(s.percent).toBe(50);
    expect(s.bytesPerSecond).toBe(500);
    expect(s.etaSeconds).toBe(2);
    expect(s.chunksDone).toBe(1);
    expect(s.tables).toEqual([{ table: 'a', rows: 100, bytes: 1000, estRows: 200, percent: 50 }]);
  });
  it('counts chunks done by an earlier run and forgets bytes of a failed attempt', () => {
    const p = new ProgressTracker([
      { id: 'x', table: 'x', estRows: 10, estBytes: 100 },
      { id: 'y', table: 'y', estRows: 10, estBytes: 100 },
    ]);
    p.alreadyDone('x', 10, 100);
    p.streamed('y', 50);
    p.restart('y');
    expect(p.snapshot()).toMatchObject({ rows: 10, percent: 50, chunksDone: 1 });
  });
  it('formats durations', () => {
    expect(formatDuration(75)).toBe('1:15');
    expect(formatDuration(3725)).toBe('1:02:05');
    expect(formatDuration(null)).toBe('--:--');
  });
});

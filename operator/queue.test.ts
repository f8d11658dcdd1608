import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WorkQueue, type Result } from './queue.ts';

describe('WorkQueue', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('a retry result backs off like a failure (0.5 s doubling, capped); a pass that goes through resets it', async () => {
    const results: Result[] = [
      { retry: true },
      { retry: true },
      { retry: true },
      { requeueAfterMs: 100 },
      { retry: true },
    ];
    const runs: number[] = [];
    const q = new WorkQueue(
      async () => {
        runs.push(Date.now());
        return results.shift() ?? {};
      },
      () => {},
      1500,
    );
    const t0 = Date.now();
    q.add('ns/m');
    await vi.advanceTimersByTimeAsync(10_000);
    q.stop();
    // Retries after 500, 1000, then 1500 (capped); a requeue after 100 resets the backoff: the next
    // retry waits 500 again; then done, no further run.
    expect(runs.map((t) => t - t0)).toEqual([0, 500, 1500, 3000, 3100, 3600]);
  });
});

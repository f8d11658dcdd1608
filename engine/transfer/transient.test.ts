import { afterEach, describe, expect, it, vi } from 'vitest';
import { backoffMs, TRANSIENT_WINDOW_MS, transientBudget } from './errors.ts';
import { isTransient } from './transfer.ts';

describe('isTransient', () => {
  it('retries what a restarted or unreachable server causes', () => {
    for (const err of [
      Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
      Object.assign(new Error('the database system is starting up'), { code: '57P03' }),
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
      new Error('Connection terminated unexpectedly'),
      // node-postgres, on a client whose connection failed earlier (a server restarted while idle).
      new Error('Client has encountered a connection error and is not queryable'),
    ])
      expect(isTransient(err), err.message).toBe(true);
  });

  it('does not retry data or SQL errors', () => {
    for (const err of [
      Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' }),
      Object.assign(new Error('syntax error'), { code: '42601' }),
      new Error('Client was closed and is not queryable'),
    ])
      expect(isTransient(err), err.message).toBe(false);
  });
});

describe('transientBudget', () => {
  afterEach(() => vi.useRealTimers());
  const dropped = Object.assign(new Error('terminating connection'), { code: '57P01' });

  it('retries transient failures for a window of time, however many, then stops', () => {
    vi.useFakeTimers();
    const retry = transientBudget();
    for (let i = 0; i < 20; i++) {
      expect(retry(dropped)).toBe(true);
      vi.advanceTimersByTime(backoffMs(i + 1) / 2);
    }
    vi.advanceTimersByTime(TRANSIENT_WINDOW_MS);
    expect(retry(dropped)).toBe(false);
  });

  it('never retries a data error', () => {
    expect(transientBudget()(Object.assign(new Error('duplicate key'), { code: '23505' }))).toBe(false);
  });

  it('backs off from a second up to five', () => {
    expect([1, 2, 3, 4, 8].map(backoffMs)).toEqual([1000, 2000, 4000, 5000, 5000]);
  });
});

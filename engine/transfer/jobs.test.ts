import { describe, expect, it } from 'vitest';
import { runJobs } from './jobs.ts';
import type { Job } from './schedule.ts';

const job = (id: string, after: string[] = [], table = id): Job => ({
  kind: 'analyze',
  id,
  table,
  sql: '',
  locks: [{ table, mode: 'ShareUpdateExclusive' }],
  after,
});

interface Slot {
  n: number;
  closed: boolean;
}

function harness(fail: (id: string) => unknown = () => undefined) {
  let slots = 0;
  let busy = 0;
  let peak = 0;
  const order: string[] = [];
  const opened: Slot[] = [];
  const exec = async (j: Job) => {
    peak = Math.max(peak, ++busy);
    await new Promise((r) => setTimeout(r, 5));
    busy--;
    const err = fail(j.id);
    if (err) throw err;
    order.push(j.id);
  };
  const opts = {
    slots: 2,
    open: () => {
      const s = { n: slots++, closed: false };
      opened.push(s);
      return s;
    },
    close: async (s: Slot) => void (s.closed = true),
  };
  return { exec, opts, order, opened, peak: () => peak };
}

describe('runJobs', () => {
  it('runs every job on at most `slots` at once, each after what it waits for, and closes the slots', async () => {
    const h = harness();
    const done = new Set<string>();
    const left = await runJobs([job('a'), job('b'), job('c', ['a', 'b']), job('d')], done, h.exec, h.opts);
    expect(left).toEqual([]);
    expect([...done].sort()).toEqual(['a', 'b', 'c', 'd']);
    expect(h.peak()).toBe(2);
    expect(h.order.indexOf('c')).toBeGreaterThan(Math.max(h.order.indexOf('a'), h.order.indexOf('b')));
    expect(h.opened.every((s) => s.closed)).toBe(true);
  });

  it('never runs two jobs whose locks conflict', async () => {
    const h = harness();
    await runJobs([job('a', [], 't'), job('b', [], 't'), job('c', [], 't')], new Set(), h.exec, h.opts);
    expect(h.peak()).toBe(1);
  });

  it('stops at the first failure: no new job starts, the running ones end, the failure is thrown', async () => {
    const h = harness((id) => (id === 'a' ? new Error('boom') : undefined));
    const done = new Set<string>();
    await expect(runJobs([job('a'), job('b'), job('c'), job('d')], done, h.exec, h.opts)).rejects.toThrow(
      'boom',
    );
    expect(done).toEqual(new Set(['b']));
    expect(h.opened.every((s) => s.closed)).toBe(true);
  });

  it('sets a deferred failure aside with what waits for it, and does the rest', async () => {
    const h = harness((id) => (id === 'a' ? new Error('later') : undefined));
    const done = new Set<string>();
    const left = await runJobs([job('a'), job('b', ['a']), job('c')], done, h.exec, {
      ...h.opts,
      defer: () => true,
    });
    expect(left.map((j) => j.id)).toEqual(['a', 'b']);
    expect(done).toEqual(new Set(['c']));
  });

  it('asks for work done elsewhere when nothing can start, and goes on while there is news', async () => {
    const h = harness();
    const news = [['x'], ['x', 'y'], ['x', 'y']];
    let asked = 0;
    const left = await runJobs([job('a', ['x']), job('b', ['y']), job('c', ['z'])], new Set(), h.exec, {
      ...h.opts,
      refresh: async () => news[asked++]!,
    });
    expect(h.order).toEqual(['a', 'b']);
    expect(left.map((j) => j.id)).toEqual(['c']);
    expect(asked).toBe(3);
  });

  it('tells a job how many slots stand idle once the others have what could start', async () => {
    const seen: Record<string, number> = {};
    const exec = async (j: Job, _slot: unknown, idle: () => number) => {
      await Promise.resolve();
      seen[j.id] = idle();
      await new Promise((r) => setTimeout(r, 5));
    };
    const opts = { slots: 3, open: () => ({}), close: async () => {} };
    // a and b start together (one slot idle); c waits for both, then runs alone (two idle).
    await runJobs([job('a'), job('b'), job('c', ['a', 'b'])], new Set(), exec, opts);
    expect(seen).toEqual({ a: 1, b: 1, c: 2 });
  });
});

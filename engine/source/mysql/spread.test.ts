import { setTimeout as sleep } from 'node:timers/promises';
import type { Connection } from 'mysql2';
import { describe, expect, it } from 'vitest';
import { spreadOverSessions } from './spread.ts';

/** Stand-ins for sessions (no server): what spreadOverSessions does with them is open, hand out and end. */
function sessions(failOpening = 0) {
  const ended: number[] = [];
  let opened = 0;
  const make = (id: number) =>
    ({ id, end: (cb: () => void) => (ended.push(id), cb()) }) as unknown as Connection;
  const open = async () => {
    const id = ++opened;
    if (id <= failOpening) throw new Error(`cannot open session ${id}`);
    return make(id);
  };
  return { first: make(0), open, ended, opened: () => opened };
}
const idOf = (c: Connection) => (c as unknown as { id: number }).id;

describe('spreading per-table work over sessions', () => {
  it('does every item once, at most `sessions` at a time, and ends the sessions it opened (not the first)', async () => {
    const s = sessions();
    const done: number[] = [];
    const on = new Map<number, number>();
    let running = 0;
    let most = 0;
    await spreadOverSessions(s.first, s.open, 3, [...Array(10).keys()], async (c, item) => {
      most = Math.max(most, ++running);
      await sleep(item % 3);
      on.set(item, idOf(c));
      done.push(item);
      running--;
    });
    expect(done.sort((a, b) => a - b)).toEqual([...Array(10).keys()]);
    expect(most).toBe(3);
    expect(new Set(on.values())).toEqual(new Set([0, 1, 2]));
    expect(s.ended.sort()).toEqual([1, 2]);
  });

  it('opens no more sessions than there are items', async () => {
    const s = sessions();
    await spreadOverSessions(s.first, s.open, 8, ['a', 'b'], async () => {});
    expect(s.opened()).toBe(1);
    await spreadOverSessions(s.first, s.open, 8, [], async () => {});
    expect(s.opened()).toBe(1);
  });

  it('starts nothing after a failure, lets the running work end, throws the failure and ends the sessions', async () => {
    const s = sessions();
    const started: number[] = [];
    let finished = 0;
    const run = spreadOverSessions(s.first, s.open, 2, [0, 1, 2, 3, 4], async (_c, item) => {
      started.push(item);
      if (item === 0) throw new Error('lock wait timeout on table 0');
      await sleep(20);
      finished++;
    });
    await expect(run).rejects.toThrow('lock wait timeout on table 0');
    expect(started).toEqual([0, 1]);
    expect(finished).toBe(1);
    expect(s.ended).toEqual([1]);
  });

  it('does nothing when a session cannot be opened, ends the ones that did open, and throws why', async () => {
    const s = sessions(1);
    const started: number[] = [];
    const run = spreadOverSessions(s.first, s.open, 3, [0, 1, 2], async (_c, item) => {
      started.push(item);
    });
    await expect(run).rejects.toThrow('cannot open session 1');
    expect(started).toEqual([]);
    expect(s.ended).toEqual([2]);
  });
});

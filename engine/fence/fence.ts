// Putting the write fence up and down on the source, and waiting out the application's transactions
// that wrote before it went up (their changes count: they are recorded, or copied after they end).
// How a source fences is its dialect's (PostgreSQL: a trigger function refusing writes); when and
// for how long is decided here.
import { setTimeout as sleep } from 'node:timers/promises';
import { faultPoint } from '../faults.ts';
import { need, type Context } from '../phases/context.ts';
import { withSource, type FenceState, type SourceSession } from '../source/dialect.ts';

export interface FenceRecord {
  state: FenceState;
  since: string;
}

export class FenceError extends Error {
  override name = 'FenceError';
}

/** The fence as it stands, and since when (its record). */
export async function readFence(s: SourceSession): Promise<FenceRecord> {
  const record = (await s.getState<FenceRecord>('fence')) ?? { state: 'open', since: '' };
  return { ...record, state: await s.fence() };
}

/** Sets the fence's state; the fence and its record change in one transaction. */
export async function setFence(s: SourceSession, state: FenceState): Promise<void> {
  await s.transaction(async () => {
    await s.setFence(state);
    await s.putState('fence', { state, since: new Date().toISOString() } satisfies FenceRecord);
  });
}

/**
 * Waits until no transaction of the application holds uncommitted writes on the migrated tables.
 * Such transactions began before the fence: they may still commit (and their changes must then be
 * migrated) or roll back. After a grace period, their sessions are ended where permitted.
 */
export async function waitForWriters(ctx: Context, s: SourceSession): Promise<{ ended: number }> {
  const catalog = need(ctx.catalog, 'catalog');
  const timeoutMs = ctx.settings.fenceWaitSeconds * 1000;
  const graceMs = Math.min(5000, timeoutMs / 2);
  const started = Date.now();
  const tried = new Set<string>();
  let ended = 0;
  for (;;) {
    const holders = await s.writeHolders(catalog);
    if (holders.length === 0) return { ended };
    const waited = Date.now() - started;
    if (waited >= timeoutMs) {
      const what = holders
        .map((h) => `${h.name}${h.tables.length ? ` (${h.tables.join(', ')})` : ''}`)
        .join('; ');
      throw new FenceError(
        `the application still holds uncommitted writes after ${Math.round(waited / 1000)} s: ${what}; ` +
          `end those transactions, or let ferry end them (${ctx.source.endSessionsGrant}), ` +
          'or raise spec.fence.waitSeconds',
      );
    }
    if (waited >= graceMs)
      for (const h of holders.filter((x) => !tried.has(x.id))) {
        tried.add(h.id);
        if (await s.endSession(h.id)) ended++;
      }
    // Most writers finish within milliseconds: look again soon, then less often.
    await sleep(Math.min(100, 10 * 2 ** Math.floor(waited / 100)));
  }
}

/**
 * Puts the fence up (refusing, or only detecting where the user guarantees a quiet source) and waits
 * for the writers it caught in flight, on `on` or a connection of its own; returns how long each
 * took. If they do not finish in time the fence comes down again and the error says why: the source
 * is never left fenced by a downtime that did not start.
 */
export async function raiseFence(
  ctx: Context,
  on?: SourceSession,
): Promise<{ ended: number; raisedSeconds: number; waitedSeconds: number }> {
  const raise = async (s: SourceSession) => {
    const t0 = performance.now();
    const state = ctx.settings.fenceMode === 'Detect' ? 'detect' : 'refuse';
    if ((await readFence(s)).state !== state) await setFence(s, state);
    const t1 = performance.now();
    let waited: { ended: number };
    try {
      waited = await waitForWriters(ctx, s);
    } catch (err) {
      await setFence(s, 'open');
      throw err;
    }
    faultPoint('fence.raised');
    return { ...waited, raisedSeconds: (t1 - t0) / 1000, waitedSeconds: (performance.now() - t1) / 1000 };
  };
  return on ? raise(on) : withSource(ctx.source, 'fence', raise);
}

export async function lowerFence(ctx: Context): Promise<void> {
  await withSource(ctx.source, 'fence', (s) => setFence(s, 'open'));
}

/** Detect mode: fails naming the tables that were written to since the fence went up. */
export async function assertNoWritesSeen(ctx: Context): Promise<void> {
  const seen = await withSource(ctx.source, 'fence', (s) => s.writesSeen());
  if (seen.length)
    throw new FenceError(
      `the source changed during the downtime (spec.fence.mode Detect): writes to ${seen.join(', ')}; ` +
        'the target cannot be exact: fall back and run again with the application stopped (or with the fence refusing writes)',
    );
}

/** Standard mode: the fence must have held through the copy (the tables' owner can disable triggers). */
export async function assertFenceHeld(ctx: Context): Promise<void> {
  const off = await withSource(ctx.source, 'fence', (s) => s.bypassed(need(ctx.catalog, 'catalog'), []));
  if (off.length)
    throw new FenceError(
      `the write fence was disabled during the downtime (${off.join(', ')}): the copy may not be one instant of the source; fall back (ferry fallback) and run again`,
    );
}

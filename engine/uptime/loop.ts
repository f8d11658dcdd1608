// The replay loop: batch after batch until the log is empty (in the downtime) or, in uptime, until
// a cutover is approved. Transient failures (a dropped connection, a restarted server) reconnect and
// go on with backoff; the loop stops only for what retrying cannot fix (a schema change, a disabled
// trigger), and in the downtime it leaves failures to the cutover.
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type Client } from '../db/connect.ts';
import { need, type Context } from '../phases/context.ts';
import type { SourceSession } from '../source/dialect.ts';
import { isTransient } from '../transfer/transfer.ts';
import { approvalFromSpec } from './approval.ts';
import { replayBatch, type Replayer } from './replay.ts';
import { uptimeTables, type UptimeState } from './state.ts';

function replayer(ctx: Context): Replayer {
  return {
    catalog: need(ctx.catalog, 'catalog'),
    shadow: ctx.shadow,
    schemas: ctx.settings.schemas,
  };
}

/**
 * What must hold for the replay to stay exact: the same columns, ferry's triggers all firing, no
 * table emptied behind them (a source whose TRUNCATE fires no trigger).
 */
export async function assertReplayable(ctx: Context, src: SourceSession): Promise<void> {
  const catalog = need(ctx.catalog, 'catalog');
  const drift = await src.schemaDrift(catalog, uptimeTables(ctx));
  if (drift) throw new Error(drift);
  const off = await src.bypassed(catalog, uptimeTables(ctx));
  if (off.length)
    throw new Error(
      `ferry's triggers on the source are missing or disabled (${off.join(', ')}): changes may have gone unrecorded; fall back (ferry fallback) and start again`,
    );
}

export interface Conns {
  src: SourceSession;
  dst: Client;
}

export const openConns = async (ctx: Context): Promise<Conns> => ({
  src: await ctx.source.open('replay'),
  dst: await connect(ctx.target, 'replay'),
});

export const closeConns = async (c: Conns): Promise<void> => {
  await Promise.all([c.src.close().catch(() => {}), c.dst.end().catch(() => {})]);
};

/** New connections, retried for as long as the failure is transient. */
export async function reopen(ctx: Context): Promise<Conns> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await openConns(ctx);
    } catch (err) {
      if (!isTransient(err)) throw err;
      await sleep(Math.min(30_000, 500 * 2 ** Math.min(attempt, 6)));
    }
  }
}

/** Records an approval the spec gives (unless a failed cutover consumed it); true when one is waiting. */
async function approved(ctx: Context, src: SourceSession): Promise<boolean> {
  // On the replay's own connection: this runs every second, a new connection each time would not.
  const state = (await src.getState<UptimeState>('uptime')) ?? {};
  const patch = approvalFromSpec(state, ctx.settings.cutoverApproved);
  if (!patch) return state.approved === true;
  await src.putState('uptime', { ...state, ...patch });
  return patch.approved === true || state.approved === true;
}

/**
 * Replays until the log is empty (`drain`, in the downtime) or, in uptime, until a cutover is
 * approved. Transient failures reconnect and go on, with backoff; in the downtime they are the
 * cutover's to handle.
 */
export async function replay(ctx: Context, conns: Conns, drain: boolean): Promise<void> {
  const r = replayer(ctx);
  let lastReport = 0;
  let lastCheck = 0;
  let failures = 0;
  for (;;) {
    try {
      if (performance.now() - lastCheck > 1000) {
        lastCheck = performance.now();
        await assertReplayable(ctx, conns.src);
        if (!drain && (await approved(ctx, conns.src))) return;
      }
      const n = await replayBatch(conns.src, conns.dst, r);
      failures = 0;
      if (performance.now() - lastReport > 5000 || (drain && n === 0)) {
        lastReport = performance.now();
        const l = await conns.src.lag();
        ctx.observer.lag?.(l);
        ctx.log.info(
          { pendingChanges: l.pending, oldestChangeSeconds: Math.round(l.oldestSeconds * 10) / 10 },
          'replaying recorded changes',
        );
      }
      if (n === 0) {
        if (drain) return;
        await sleep(200);
      }
    } catch (err) {
      if (drain || !isTransient(err)) throw err;
      failures++;
      ctx.log.warn({ error: (err as Error).message, attempt: failures }, 'replay interrupted, reconnecting');
      await sleep(Math.min(30_000, 500 * 2 ** Math.min(failures, 6)));
      await closeConns(conns);
      Object.assign(conns, await reopen(ctx));
    }
  }
}

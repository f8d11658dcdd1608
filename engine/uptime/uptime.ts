// Execution in DowntimeOptimized mode (DMO's uptime migration): the bulk copy of the uptime tables
// runs from one consistent snapshot while the application keeps writing, and is validated against that
// same snapshot (proven.ts); then the recorded changes are replayed and validated, batch after
// batch, until the cutover is approved (cutover.ts). A transient failure of the replay (a dropped
// connection, a restarted server) is retried; the run stops only for what retrying cannot fix (a
// schema change, a disabled trigger, a batch that does not validate).
import { targetPostLoadSteps } from '../catalog/ddl.ts';
import { findTable, targetName } from '../catalog/schemas.ts';
import { connect, withClient } from '../db/connect.ts';
import { faultPoint } from '../faults.ts';
import { need, type Context } from '../phases/context.ts';
import { doneChunks } from '../state/progress.ts';
import { afterLoad } from '../transfer/after-load.ts';
import { chunksExported, transferData } from '../transfer/dump.ts';
import { validate } from '../validate/compare.ts';
import { runPool } from '../util/pool.ts';
import { readFence, lowerFence } from '../fence/fence.ts';
import { withSource } from '../source/dialect.ts';
import { cutover, undoCutover } from './cutover.ts';
import { closeConns, openConns, replay } from './loop.ts';
import { builtInUptime } from './cutover-steps.ts';
import { markProven } from './proven.ts';
import { createReplayBookkeeping } from './replay.ts';
import { readUptime, uptimeTables, writeUptime } from './state.ts';

/**
 * The bulk copy from one shared snapshot; log entries already in the snapshot are discarded with it.
 * With the Dump method it goes through files (the cutover's downtime tables take the pipe).
 */
async function bulkCopy(ctx: Context): Promise<void> {
  const tables = uptimeTables(ctx);
  // With Dump, a chunk's file counts as started too: it holds the lost snapshot's rows, which a fresh
  // snapshot's validation would find changed, and whose changes forgetLog would delete.
  const started =
    (await withClient(ctx.target, 'transfer', async (c) => (await doneChunks(c, ctx.shadow)).size > 0)) ||
    (await chunksExported(ctx));
  if (started) {
    // A killed bulk copy lost its snapshot: the rest is copied from fresh ones, and the whole log since
    // the triggers went in is replayed (the replay re-reads current rows, so the result converges).
    // Chunks proven before the kill stay proven; the replay proves the others (loop.ts).
    await transferData(ctx, { tables });
    await writeUptime(ctx, { bulkCopied: true });
    return;
  }
  const snapshot = await ctx.source.shareSnapshot(ctx.settings.parallelism, need(ctx.catalog, 'catalog'));
  try {
    await snapshot.forgetLog();
    faultPoint('uptime.snapshot-exported');
    ctx.log.info(
      { tables: tables.length },
      'bulk copy from a consistent snapshot while the application writes',
    );
    await transferData(ctx, { tables, snapshot });
    faultPoint('uptime.bulk-copied');
    await validate(ctx, need(ctx.catalog, 'catalog'), ctx.plan, {
      tables,
      sourceSnapshot: snapshot,
      proven: (u, dst) => markProven(dst, ctx.shadow, [u.id]),
      // A table truncated since the snapshot reads empty in it: the replay copies it whole and proves it.
      unprovable: async (u) => (await snapshot.truncatedSince()).has(u.table),
    });
    await snapshot.end(true);
  } catch (err) {
    await snapshot.end(false).catch(() => {});
    throw err;
  }
  await writeUptime(ctx, { bulkCopied: true });
}

/**
 * Keys, constraints and indexes of the uptime tables (the replay deletes by key), and the objects
 * the replay does not care about (views, grants, comments): only what would change the replay, or
 * must be fresh, is left to the downtime (cutover-steps.ts).
 */
async function buildUptime(ctx: Context): Promise<void> {
  const tables = uptimeTables(ctx);
  const uptime = new Set(tables);
  const catalog = need(ctx.catalog, 'catalog');
  const steps = targetPostLoadSteps(catalog, ctx.settings).filter((s) => builtInUptime(s, uptime));
  await afterLoad(ctx, steps);
  await runPool(
    tables,
    ctx.settings.parallelism,
    () => connect(ctx.target, 'analyze'),
    async (t, c) =>
      void (await c.query(`ANALYZE ${targetName(ctx.settings, catalog, findTable(catalog, t))}`)),
    (c) => c.end(),
  );
}

export async function executeDowntimeOptimized(ctx: Context): Promise<void> {
  // A run begun by an older ferry lacks the newer bookkeeping tables.
  await withClient(ctx.target, 'replay', (c) => createReplayBookkeeping(c, ctx.shadow));
  if (!(await readUptime(ctx)).bulkCopied) await bulkCopy(ctx);
  await buildUptime(ctx);
  const conns = await openConns(ctx);
  try {
    for (;;) {
      const state = await readUptime(ctx);
      if (state.undoPending) await undoCutover(ctx);
      if (!state.cutover) {
        // Out of the cutover the application writes: a fence left up by a run that stopped between
        // raising it and recording the cutover, or between recording its end and lowering it, comes down.
        if ((await withSource(ctx.source, 'fence', readFence)).state !== 'open') await lowerFence(ctx);
        ctx.log.info(
          'waiting for cutover approval (spec.cutover.approved, or ferry cutover) while replaying changes',
        );
        await replay(ctx, conns, false);
      }
      if (await cutover(ctx, conns)) return;
    }
  } finally {
    await closeConns(conns);
  }
}

// Execution: the transfer of every table group and, table by table as each is loaded, what is built
// after the load, ANALYZE and the validation; then sequence values and the schema's other objects. In
// Standard mode this is the downtime: the fence refuses the application's writes from its start, so
// every chunk, whenever and by whichever process it is copied, reads the same unchanging source.
// With method Dump the chunks go through the dump (transfer/dump.ts) and the tables are finished here
// once it is loaded; ferry import validates against the export's digests (it has no source).
import { targetPostLoadSteps } from '../catalog/ddl.ts';
import { assertFenceHeld, assertNoWritesSeen, raiseFence } from '../fence/fence.ts';
import type { ChunkDone } from '../state/progress.ts';
import { afterLoad, tableSteps } from '../transfer/after-load.ts';
import { dumpDigests, dumpTransfer } from '../transfer/dump.ts';
import { runTableJobs } from '../transfer/pipeline.ts';
import { chunksOf } from '../transfer/transfer.ts';
import { executeDowntimeOptimized } from '../uptime/uptime.ts';
import { need, type Context } from './context.ts';

/** Standard mode: the downtime begins (idempotent; a resumed run finds the fence up). */
export async function beginDowntime(ctx: Context): Promise<void> {
  const { ended } = await raiseFence(ctx);
  ctx.log.warn(
    { endedSessions: ended, fence: ctx.settings.fenceMode },
    ctx.settings.fenceMode === 'Detect'
      ? 'downtime: the source must stay quiet; any write to a migrated table fails the run'
      : "downtime: the application's writes to the migrated tables are refused until the migration completes or falls back",
  );
}

export interface LoadOptions {
  /** Copy these groups' chunks (a transfer Pod's); all by default, none with `[]`. */
  groups?: number[];
  parallelism?: number;
  /** A transfer Pod: what fails besides its copies is left for the operator's Execution. */
  defer?: boolean;
}

/**
 * Standard mode: the copy and, as soon as each table is loaded (whoever copied its chunks), its
 * keys, constraints, indexes and foreign keys, ANALYZE and validation, all in one pool.
 */
export async function loadTables(ctx: Context, opts: LoadOptions = {}): Promise<ChunkDone[]> {
  const steps = tableSteps(targetPostLoadSteps(need(ctx.catalog, 'catalog'), ctx.settings));
  return runTableJobs(ctx, {
    copies: chunksOf(ctx, { groups: opts.groups }),
    steps,
    analyzeAndValidate: true,
    digests: true,
    parallelism: opts.parallelism,
    defer: opts.defer,
    ...(ctx.move === 'import' && { expected: await dumpDigests(ctx) }),
  });
}

/**
 * Standard mode, once every group is copied: the fence held, then what the transfer left (the
 * operator's Pods each finish the tables they complete; the dump's transfer finishes none), sequence
 * values and the schema's objects.
 */
export async function finishCopy(ctx: Context): Promise<void> {
  await assertFenceHeld(ctx);
  if (ctx.settings.fenceMode === 'Detect') await assertNoWritesSeen(ctx);
  await loadTables(ctx, { groups: [] });
  await afterLoad(ctx);
}

/** ferry import, once the dump is loaded: its tables finished and validated against the export's digests. */
export async function finishImport(ctx: Context): Promise<void> {
  await loadTables(ctx, { groups: [] });
  await afterLoad(ctx);
}

export async function execution(ctx: Context): Promise<void> {
  if (ctx.settings.mode === 'DowntimeOptimized') return executeDowntimeOptimized(ctx);
  await beginDowntime(ctx);
  if (ctx.settings.method === 'Dump') await dumpTransfer(ctx);
  else await loadTables(ctx);
  await finishCopy(ctx);
}

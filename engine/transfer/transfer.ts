// The transfer of table groups: their chunks copied by up to `parallelism` workers, each with one
// source and one target connection, largest tables first (pipeline.ts). Chunks committed by an earlier
// run are skipped, so a killed run continues where it stopped. Transient failures (a dropped
// connection, a server restart) are retried with backoff; anything else stops the run naming table
// and chunk.
import { setTimeout as sleep } from 'node:timers/promises';
import { need, type Context } from '../phases/context.ts';
import { describeRange, type Chunk } from '../plan/chunks.ts';
import type { Group } from '../plan/groups.ts';
import type { Plan } from '../plan/plan.ts';
import type { SharedSnapshot } from '../source/dialect.ts';
import type { ChunkDone } from '../state/progress.ts';
import { backoffMs, transientBudget, TransferError } from './errors.ts';
import { runTableJobs } from './pipeline.ts';

export { isTransient, TransferError } from './errors.ts';

/**
 * One chunk's transfer (the dump's export or import), attempted again on fresh connections
 * (`reconnect`) after a transient failure; anything else, or too many attempts, stops the run naming
 * table and chunk.
 */
export async function retryChunk<T>(
  ctx: Context,
  chunk: Chunk,
  verb: string,
  attempt: () => Promise<T>,
  reconnect: () => Promise<void>,
): Promise<T> {
  const retry = transientBudget();
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      const where = `table ${chunk.table}, chunk ${chunk.id} (${describeRange(chunk.range)})`;
      if (!retry(err))
        throw new TransferError(chunk.table, `${verb} ${where} failed: ${(err as Error).message}`, {
          cause: err,
        });
      ctx.log.warn(
        { chunk: chunk.id, attempt: n, error: (err as Error).message },
        `${verb} a chunk failed, retrying`,
      );
      ctx.observer.retrying?.((err as Error).message);
      await sleep(backoffMs(n));
      await reconnect();
    }
  }
}

export interface TransferOptions {
  /** Only these groups (a transfer Pod copies one); all by default. */
  groups?: number[];
  /** How many chunks at once; settings.parallelism by default. */
  parallelism?: number;
  /** Only chunks of these tables (downtime-optimized: uptime tables first, the rest at cutover). */
  tables?: readonly string[];
  /** Read the source in this snapshot (downtime-optimized bulk copy). */
  snapshot?: SharedSnapshot;
}

/** The plan's groups the options ask for, each with only the chunks of the tables asked for. */
export const selectGroups = (plan: Plan, opts: Pick<TransferOptions, 'groups' | 'tables'>): Group[] =>
  plan.groups
    .filter((g) => !opts.groups || opts.groups.includes(g.id))
    .map((g) => ({ ...g, chunks: g.chunks.filter((c) => !opts.tables || opts.tables.includes(c.table)) }))
    .filter((g) => g.chunks.length > 0);

/** The chunks of the given groups and tables. */
export const chunksOf = (ctx: Context, opts: Pick<TransferOptions, 'groups' | 'tables'>): Chunk[] =>
  selectGroups(need(ctx.plan, 'plan'), opts).flatMap((g) => g.chunks);

export async function transferGroups(ctx: Context, opts: TransferOptions = {}): Promise<ChunkDone[]> {
  return runTableJobs(ctx, {
    copies: chunksOf(ctx, opts),
    parallelism: opts.parallelism,
    snapshot: opts.snapshot,
  });
}

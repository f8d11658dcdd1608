// The transfer of table groups: their chunks copied by up to `parallelism` workers, each with one
// source and one target connection, largest tables first (pipeline.ts). Chunks committed by an earlier
// run are skipped, so a killed run continues where it stopped. Transient failures (a dropped
// connection, a server restart) are retried with backoff; anything else stops the run naming table
// and chunk.
import { need, type Context } from '../phases/context.ts';
import type { ChunkDone } from '../state/progress.ts';
import { runTableJobs } from './pipeline.ts';

export { isTransient, TransferError } from './errors.ts';

export interface TransferOptions {
  /** Only these groups (a transfer Pod copies one); all by default. */
  groups?: number[];
  /** How many chunks at once; settings.parallelism by default. */
  parallelism?: number;
  /** Only chunks of these tables (downtime-optimized: uptime tables first, the rest at cutover). */
  tables?: readonly string[];
  snapshot?: string;
}

/** The chunks of the given groups and tables. */
export function chunksOf(ctx: Context, opts: Pick<TransferOptions, 'groups' | 'tables'>) {
  return need(ctx.plan, 'plan')
    .groups.filter((g) => !opts.groups || opts.groups.includes(g.id))
    .flatMap((g) => g.chunks)
    .filter((c) => !opts.tables || opts.tables.includes(c.table));
}

export async function transferGroups(ctx: Context, opts: TransferOptions = {}): Promise<ChunkDone[]> {
  return runTableJobs(ctx, {
    copies: chunksOf(ctx, opts),
    parallelism: opts.parallelism,
    snapshot: opts.snapshot,
  });
}

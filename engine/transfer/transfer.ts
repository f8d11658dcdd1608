// The transfer of table groups: up to `parallelism` workers, each with one source and one target
// connection, take groups from a queue and copy their chunks. Chunks committed by an earlier run are
// skipped, so a killed run continues where it stopped. Transient failures (a dropped connection,
// a server restart) are retried with backoff; anything else stops the run naming table and chunk.
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type Client } from '../db/connect.ts';
import { faultPoint } from '../faults.ts';
import { describeRange, type Chunk } from '../plan/chunks.ts';
import type { Group } from '../plan/groups.ts';
import type { Plan } from '../plan/plan.ts';
import { ProgressTracker } from '../progress.ts';
import { doneChunks, type ChunkDone } from '../state/progress.ts';
import { withClient } from '../db/connect.ts';
import { runPool } from '../util/pool.ts';
import { need, type Context } from '../phases/context.ts';
import type { SharedSnapshot, SourceSession } from '../source/dialect.ts';
import { copyChunk } from './pipe.ts';
import { chunkCopy } from './table-copy.ts';

const ATTEMPTS = 4;

/** Errors worth another attempt: connection loss and server shutdowns, not data or SQL errors. */
export function isTransient(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? '';
  if (/^(08|57P0|53300|40001|40P01)/.test(code)) return true;
  if (['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT'].includes(code)) return true;
  // node-postgres on a client whose server went away (no code): "Connection terminated unexpectedly",
  // "Client has encountered a connection error and is not queryable".
  return /Connection terminated|connection.*(closed|lost)|connection error and is not queryable/i.test(
    String((err as Error)?.message ?? err),
  );
}

export class TransferError extends Error {
  override name = 'TransferError';
  readonly table: string;
  constructor(table: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.table = table;
  }
}

interface Conns {
  src: SourceSession;
  dst: Client;
}

/**
 * One chunk's transfer, attempted again on fresh connections (`reconnect`) after a transient
 * failure; anything else, or too many attempts, stops the run naming table and chunk.
 */
export async function retryChunk<T>(
  ctx: Context,
  chunk: Chunk,
  verb: string,
  attempt: () => Promise<T>,
  reconnect: () => Promise<void>,
): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      const where = `table ${chunk.table}, chunk ${chunk.id} (${describeRange(chunk.range)})`;
      if (!isTransient(err) || n >= ATTEMPTS)
        throw new TransferError(chunk.table, `${verb} ${where} failed: ${(err as Error).message}`, {
          cause: err,
        });
      ctx.log.warn(
        { chunk: chunk.id, attempt: n, error: (err as Error).message },
        `${verb} a chunk failed, retrying`,
      );
      await sleep(500 * 2 ** n);
      await reconnect();
    }
  }
}

export interface TransferOptions {
  /** Only these groups (a transfer Pod copies one); all by default. */
  groups?: number[];
  /** How many groups at once; settings.parallelism by default. */
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

export async function transferGroups(ctx: Context, opts: TransferOptions = {}): Promise<ChunkDone[]> {
  const plan = need(ctx.plan, 'plan');
  const catalog = need(ctx.catalog, 'catalog');
  const s = ctx.settings;
  const groups = selectGroups(plan, opts);
  const chunks = groups.flatMap((g) => g.chunks);
  const tracker = new ProgressTracker(chunks);
  const done = await withClient(ctx.target, 'transfer', (c) => doneChunks(c, ctx.shadow));
  for (const [id, d] of done) tracker.alreadyDone(id, d.rows, d.bytes);
  const results: ChunkDone[] = [...done.values()];
  const report = () => ctx.observer.progress?.(tracker.snapshot(), 'Execution');
  const timer = setInterval(report, 1000);
  const open = async (): Promise<Conns> => ({
    src: await (opts.snapshot ?? ctx.source).open('transfer'),
    dst: await connect(ctx.target, 'transfer'),
  });
  const close = async (c: Conns) => {
    await Promise.all([c.src.close().catch(() => {}), c.dst.end().catch(() => {})]);
  };
  const copyGroup = async (g: Group, conns: Conns) => {
    for (const chunk of g.chunks) {
      if (done.has(chunk.id)) continue;
      const spec = chunkCopy(catalog, chunk, s, ctx.shadow);
      const d = await retryChunk(
        ctx,
        chunk,
        'copying',
        () => copyChunk(conns.src, conns.dst, spec, (n) => tracker.streamed(chunk.id, n)),
        async () => {
          tracker.restart(chunk.id);
          await close(conns);
          Object.assign(conns, await open());
        },
      );
      faultPoint('transfer.chunk-committed');
      tracker.done(chunk.id, d.rows, d.bytes);
      results.push(d);
      ctx.log.debug({ chunk: chunk.id, rows: d.rows, seconds: d.seconds }, 'chunk committed');
    }
  };
  try {
    await runPool(groups, opts.parallelism ?? s.parallelism, open, copyGroup, close);
  } finally {
    clearInterval(timer);
    report();
  }
  return results;
}

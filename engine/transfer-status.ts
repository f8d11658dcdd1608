// What the operator shows of a running transfer: rows and bytes committed per table group, read
// from ferry's bookkeeping on the target. Read-only.
import { withClient } from './db/connect.ts';
import type { Context } from './phases/context.ts';
import type { Plan } from './plan/plan.ts';
import { doneChunks } from './state/progress.ts';
import { schemaExists } from './db/schemas.ts';
import { withSource, type Lag } from './source/dialect.ts';

export interface GroupProgress {
  group: number;
  chunksDone: number;
  chunks: number;
  rows: number;
  bytes: number;
  /** Share of the group's estimated bytes whose chunks have committed. */
  percent: number;
  tables: { table: string; chunksDone: number; chunks: number; rows: number }[];
}

export async function transferProgress(ctx: Context, plan: Plan): Promise<GroupProgress[]> {
  const done = await withClient(ctx.target, 'status', async (c) =>
    (await schemaExists(c, ctx.shadow)) ? doneChunks(c, ctx.shadow) : new Map(),
  );
  return plan.groups.map((g) => {
    const finished = g.chunks.filter((c) => done.has(c.id));
    const est = g.chunks.reduce((a, c) => a + Math.max(c.estBytes, 1), 0);
    const tables = [...new Set(g.chunks.map((c) => c.table))].map((table) => {
      const mine = g.chunks.filter((c) => c.table === table);
      const ok = mine.filter((c) => done.has(c.id));
      return {
        table,
        chunks: mine.length,
        chunksDone: ok.length,
        rows: ok.reduce((a, c) => a + (done.get(c.id)?.rows ?? 0), 0),
      };
    });
    return {
      group: g.id,
      chunks: g.chunks.length,
      chunksDone: finished.length,
      rows: finished.reduce((a, c) => a + (done.get(c.id)?.rows ?? 0), 0),
      bytes: finished.reduce((a, c) => a + (done.get(c.id)?.bytes ?? 0), 0),
      percent: Math.round((1000 * finished.reduce((a, c) => a + Math.max(c.estBytes, 1), 0)) / est) / 10,
      tables,
    };
  });
}

export async function replayLag(ctx: Context): Promise<Lag | undefined> {
  return withSource(ctx.source, 'status', async (s) =>
    (await s.storeOwner()) !== undefined ? s.lag() : undefined,
  );
}

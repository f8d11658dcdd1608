// PostProcessing: validation, statistics for the planner, the report (kept in the shadow schema
// until the end so a killed run does not lose it), then ferry's own schemas are removed.
import { inTransaction, withClient } from '../db/connect.ts';
import { qualified } from '../db/ident.ts';
import { allChunks } from '../plan/plan.ts';
import { tableReports, type Report } from '../report.ts';
import { doneChunks } from '../state/progress.ts';
import { dropSchema, getState, putState } from '../state/shadow.ts';
import { runPool } from '../util/pool.ts';
import { connect } from '../db/connect.ts';
import { validate } from '../validate/compare.ts';
import { need, type Context } from './context.ts';

async function buildReport(ctx: Context): Promise<Report> {
  const plan = need(ctx.plan, 'plan');
  const tableOf = new Map(allChunks(plan).map((c) => [c.id, c.table]));
  const done = await withClient(ctx.target, 'report', (c) => doneChunks(c, ctx.shadow));
  const tables = tableReports(done.values(), (id) => tableOf.get(id));
  return {
    migration: ctx.settings.name,
    mode: ctx.settings.mode,
    startedAt: ctx.history[0]?.startedAt ?? new Date().toISOString(),
    finishedAt: new Date().toISOString(),
    phases: ctx.history,
    tables,
    totals: {
      rows: tables.reduce((a, t) => a + t.rows, 0),
      bytes: tables.reduce((a, t) => a + t.bytes, 0),
      transferSeconds: tables.reduce((a, t) => a + t.seconds, 0),
    },
    validation: ctx.settings.validation,
  };
}

export async function postProcessing(ctx: Context): Promise<void> {
  const catalog = need(ctx.catalog, 'catalog');
  await validate(ctx, catalog, ctx.plan);
  await runPool(
    catalog.tables,
    ctx.settings.parallelism,
    () => connect(ctx.target, 'analyze'),
    async (t, c) => {
      await c.query(`ANALYZE ${qualified(ctx.settings.target.schema, t.name)}`);
    },
    (c) => c.end(),
  );
  const report = await withClient(ctx.source, 'report', async (c) => {
    const stored = await getState<Report>(c, ctx.shadow, 'report');
    if (stored) return stored;
    const r = await buildReport(ctx);
    await putState(c, ctx.shadow, 'report', r);
    return r;
  });
  ctx.report = report;
  await withClient(ctx.target, 'cleanup', (c) => dropSchema(c, ctx.shadow));
  await withClient(ctx.source, 'cleanup', (c) => inTransaction(c, () => dropSchema(c, ctx.shadow)));
  ctx.log.info({ shadow: ctx.shadow }, 'shadow schema and target bookkeeping removed');
}

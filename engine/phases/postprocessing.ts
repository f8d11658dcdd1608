// PostProcessing: validation, statistics for the planner, the report (kept in the shadow schema
// until the end so a killed run does not lose it), then ferry's own schemas are removed.
import { inTransaction, withClient } from '../db/connect.ts';
import { qualified } from '../db/ident.ts';
import { allChunks } from '../plan/plan.ts';
import { objectReports, tableReports, type Report } from '../report.ts';
import { doneChunks } from '../state/progress.ts';
import { dropSchema, getState, putState } from '../state/shadow.ts';
import { runPool } from '../util/pool.ts';
import { connect } from '../db/connect.ts';
import { validate } from '../validate/compare.ts';
import { need, type Context } from './context.ts';
import type { Catalog } from '../catalog/types.ts';
import { validateTouched } from '../validate/compare.ts';
import {
  downtimeStep,
  downtimeTables,
  readUptime,
  uptimeTables,
  type UptimeState,
} from '../uptime/uptime.ts';

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
    ...(ctx.catalog?.objects && { objects: objectReports(ctx.catalog.objects.inventory) }),
  };
}

/** Validation; in DowntimeOptimized mode with a bulk copy validated under its snapshot, only what changed since. */
async function validateAll(ctx: Context, catalog: Catalog, uptime: UptimeState | undefined): Promise<void> {
  if (!uptime?.bulkValidated || ctx.settings.validation === 'None') {
    await validate(ctx, catalog, ctx.plan);
    return;
  }
  await validateTouched(ctx, catalog, uptimeTables(ctx));
  await validate(ctx, catalog, ctx.plan, { tables: downtimeTables(ctx) });
}

export async function postProcessing(ctx: Context): Promise<void> {
  const catalog = need(ctx.catalog, 'catalog');
  const uptime = ctx.settings.mode === 'DowntimeOptimized' ? await readUptime(ctx) : undefined;
  const step = (name: string, fn: () => Promise<void>) => (uptime ? downtimeStep(ctx, name, fn) : fn());
  await step('validate', () => validateAll(ctx, catalog, uptime));
  await step('analyze', () =>
    runPool(
      uptime ? downtimeTables(ctx) : catalog.tables.map((t) => t.name),
      ctx.settings.parallelism,
      () => connect(ctx.target, 'analyze'),
      async (t, c) => void (await c.query(`ANALYZE ${qualified(ctx.settings.target.schema, t)}`)),
      (c) => c.end(),
    ),
  );
  const report = await withClient(ctx.source, 'report', async (c) => {
    const stored = await getState<Report>(c, ctx.shadow, 'report');
    if (stored) return stored;
    const r = await buildReport(ctx);
    await putState(c, ctx.shadow, 'report', r);
    return r;
  });
  const recorded = uptime ? ((await readUptime(ctx)).downtime ?? []) : [];
  const t0 = performance.now();
  await withClient(ctx.target, 'cleanup', (c) => dropSchema(c, ctx.shadow));
  await withClient(ctx.source, 'cleanup', (c) => inTransaction(c, () => dropSchema(c, ctx.shadow)));
  ctx.log.info({ shadow: ctx.shadow }, 'shadow schema and target bookkeeping removed');
  if (uptime?.lockedAt) {
    report.downtime = [
      ...recorded,
      { step: 'remove triggers and shadow schema', seconds: (performance.now() - t0) / 1000 },
    ];
    report.downtimeSeconds = (Date.now() - Date.parse(uptime.lockedAt)) / 1000;
  }
  ctx.report = report;
}

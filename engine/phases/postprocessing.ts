// PostProcessing: the report, assembled from what Execution recorded (Standard mode validated and
// analyzed each table there as soon as it was built; DowntimeOptimized validated in its cutover and
// analyzes the tables it copied then), kept in the shadow schema until the end so a killed run does
// not lose it; then ferry's own schemas are removed.
import { catalogSchemas, findTable, objectsOf, targetName } from '../catalog/schemas.ts';
import type { Catalog } from '../catalog/types.ts';
import { withClient } from '../db/connect.ts';
import { quoteIdent } from '../db/ident.ts';
import { faultPoint } from '../faults.ts';
import { assertNoWritesSeen } from '../fence/fence.ts';
import { allChunks } from '../plan/plan.ts';
import { objectReports, stageReports, tableReports, type ObjectReport, type Report } from '../report.ts';
import { doneChunks, workDone } from '../state/progress.ts';
import { TARGET_SCHEMA_MARKER } from '../state/owner.ts';
import { dropSchema, schemaMarker } from '../db/schemas.ts';
import { withSource } from '../source/dialect.ts';
import { withState } from '../state/at.ts';
import { readIdentity, type Identity } from '../state/shadow.ts';
import { completionPath } from '../dump/directory.ts';
import { dumpDirOf, recordCompletion, removeOwnDump } from '../transfer/dump.ts';
import { runPool } from '../util/pool.ts';
import { connect } from '../db/connect.ts';
import { need, type Context } from './context.ts';
import { loadTables } from './execution.ts';
import { downtimeStep, downtimeTables, readUptime } from '../uptime/state.ts';

async function buildReport(ctx: Context): Promise<Report> {
  const plan = need(ctx.plan, 'plan');
  const tableOf = new Map(allChunks(plan).map((c) => [c.id, c.table]));
  const [done, work] = await withClient(
    ctx.target,
    'report',
    async (c) => [await doneChunks(c, ctx.shadow), await workDone(c, ctx.shadow)] as const,
  );
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
    stages: stageReports(work),
    ...(ctx.catalog?.objects && { objects: objectsReport(ctx.catalog) }),
  };
}

/** Every schema's objects; with several schemas each name carries its source schema (`sales.orders`). */
function objectsReport(catalog: Catalog): ObjectReport[] {
  if (!catalog.moreSchemas?.length) return objectReports(catalog.objects!.inventory);
  return catalogSchemas(catalog).flatMap((schema) =>
    objectReports(objectsOf(catalog, schema)?.inventory ?? []).map((o) => ({
      ...o,
      name: `${schema}.${o.name}`,
    })),
  );
}

export async function postProcessing(ctx: Context): Promise<void> {
  const catalog = need(ctx.catalog, 'catalog');
  const uptime = ctx.settings.mode === 'DowntimeOptimized' ? await readUptime(ctx) : undefined;
  const step = (name: string, fn: () => Promise<void>) => (uptime ? downtimeStep(ctx, name, fn) : fn());
  // State lives on the source, or for ferry import (no source) on the target.
  const stored = await withState(ctx, 'report', (st) => st.getState<Report>('report'));
  // A stored report: a run killed in the cleanup, whose tables were finished before it.
  if (!stored && uptime)
    await step('analyze', () =>
      runPool(
        downtimeTables(ctx),
        ctx.settings.parallelism,
        () => connect(ctx.target, 'analyze'),
        async (t, c) =>
          void (await c.query(`ANALYZE ${targetName(ctx.settings, catalog, findTable(catalog, t))}`)),
        (c) => c.end(),
      ),
    );
  if (!stored && !uptime) {
    if (ctx.settings.fenceMode === 'Detect' && ctx.move !== 'import') await assertNoWritesSeen(ctx);
    // Nothing, unless Execution ended without them (a run begun by an earlier ferry).
    await loadTables(ctx, { groups: [] });
  }
  const report =
    stored ??
    (await withState(ctx, 'report', async (st) => {
      const r = await buildReport(ctx);
      await st.putState('report', r);
      return r;
    }));
  const recorded = uptime ? ((await readUptime(ctx)).downtime ?? []) : [];
  const downtimeSoFar = () => {
    if (!uptime?.cutoverStartedAt) return;
    report.downtime = [...recorded];
    report.downtimeSeconds = (Date.now() - Date.parse(uptime.cutoverStartedAt)) / 1000;
  };
  downtimeSoFar();
  await ctx.observer.report?.(report);
  // In a cluster the directory is on a volume only the transfer Pods mount: the Import Migration's
  // status is the record there (see the operator).
  if (ctx.move === 'import' && ctx.settings.dumpDir) {
    const done = await recordCompletion(ctx, report);
    ctx.log.info({ file: completionPath(dumpDirOf(ctx)), rows: done.rows }, 'import completion recorded');
    faultPoint('dump.completion-written');
  }
  const t0 = performance.now();
  faultPoint('cleanup.before-drops');
  await withClient(ctx.target, 'cleanup', async (c) => {
    await dropSchema(c, ctx.shadow);
    // The migrated schema is the application's now: no marker left for a later fallback to act on.
    for (const { target } of ctx.settings.schemas)
      if (await schemaMarker(c, target, TARGET_SCHEMA_MARKER))
        await c.query(`COMMENT ON SCHEMA ${quoteIdent(target)} IS NULL`);
  });
  faultPoint('cleanup.target-dropped');
  if (ctx.move === 'import') {
    ctx.log.info(
      { bookkeeping: ctx.shadow },
      'target bookkeeping removed; on the source, ferry export --complete (with the completion record) removes the shadow schema and the fence',
    );
    return void (ctx.report = report);
  }
  // ferry run's dump files were a means of transport: they go before the shadow schema that names them.
  await withSource(ctx.source, 'cleanup', async (src) => {
    const identity = await src.getState<Identity>('identity');
    if (identity) await removeOwnDump(ctx, readIdentity(identity).uid);
    await src.dropStore();
  });
  faultPoint('cleanup.source-dropped');
  ctx.log.info(
    { shadow: ctx.shadow },
    'shadow schema and target bookkeeping removed; the fence is gone and the source writable: the application now belongs on the target',
  );
  downtimeSoFar();
  report.downtime?.push({
    step: 'remove triggers and shadow schema',
    seconds: (performance.now() - t0) / 1000,
  });
  ctx.report = report;
}

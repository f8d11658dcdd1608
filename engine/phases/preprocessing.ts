// PreProcessing: the plan, the shadow schema on the source, and the empty target tables (without
// secondary indexes and foreign keys, which are built after the load). Idempotent: a run killed
// between the source and the target transaction repeats only what is missing.
import { createHash } from 'node:crypto';
import type { Settings } from '../api/settings.ts';
import { preLoadDdl } from '../catalog/ddl.ts';
import { createdObjects, type CreatedObjects } from '../catalog/objects-ddl.ts';
import { inTransaction, withClient, type Client } from '../db/connect.ts';
import { withLockRetries } from '../db/lock-retry.ts';
import { ddlGuardDdl, recorderDdl, triggerDdl } from '../uptime/record.ts';
import { createReplayBookkeeping } from '../uptime/replay.ts';
import { uptimeTables } from '../uptime/uptime.ts';
import { quoteIdent } from '../db/ident.ts';
import { buildPlan } from '../plan/plan.ts';
import { createProgressSchema } from '../state/progress.ts';
import { createShadow, getState, putState, schemaExists, type Identity } from '../state/shadow.ts';
import { need, type Context } from './context.ts';

/** What ferry creates on the target, so that fallback removes exactly that. */
export interface Created {
  targetSchemaCreated: boolean;
  tables: string[];
  sequences: string[];
  types: string[];
  /** Views, routines, collations, and the extensions that were missing on the target. */
  objects?: CreatedObjects;
}

export function identityOf(s: Settings): Identity {
  const target = `${s.target.host}:${s.target.port}/${s.target.database}/${s.target.schema}`;
  const shape = JSON.stringify([s.source.schema, target, s.include, s.exclude, s.mode, s.uptimeTables]);
  return {
    migration: s.name,
    sourceSchema: s.source.schema,
    target,
    planHash: createHash('sha256').update(shape).digest('hex').slice(0, 16),
  };
}

/** DowntimeOptimized: the change log, its triggers, and (superuser only) the guard against schema changes. */
async function installRecorder(c: Client, ctx: Context): Promise<void> {
  const s = ctx.settings;
  const tables = uptimeTables(ctx);
  for (const sql of recorderDdl(ctx.shadow)) await c.query(sql);
  for (const t of need(ctx.catalog, 'catalog').tables.filter((x) => tables.includes(x.name)))
    await c.query(triggerDdl(ctx.shadow, s.name, s.source.schema, t));
  const { rows } = await c.query<{ su: boolean }>(
    'SELECT rolsuper AS su FROM pg_roles WHERE rolname = current_user',
  );
  if (rows[0]?.su)
    for (const sql of ddlGuardDdl(ctx.shadow, s.name, s.source.schema, tables)) await c.query(sql);
  else
    ctx.log.warn(
      'not a superuser: schema changes to migrated tables are detected during replay, not blocked',
    );
  ctx.log.info({ tables: tables.length }, 'change recording triggers installed');
}

export async function preProcessing(ctx: Context): Promise<void> {
  const catalog = need(ctx.catalog, 'catalog');
  const s = ctx.settings;
  const [targetSchemaExisted, extensionsPresent] = await withClient(
    ctx.target,
    'preprocess',
    async (c) =>
      [
        await schemaExists(c, s.target.schema),
        new Set(
          (await c.query<{ name: string }>('SELECT extname::text AS name FROM pg_extension')).rows.map(
            (r) => r.name,
          ),
        ),
      ] as const,
  );

  await withClient(ctx.source, 'preprocess', async (c) => {
    if (await schemaExists(c, ctx.shadow)) {
      ctx.plan = need(await getState(c, ctx.shadow, 'plan'), 'stored plan');
      return;
    }
    const plan = await buildPlan(c, catalog, s, ctx.previousReport);
    const created: Created = {
      targetSchemaCreated: !targetSchemaExisted,
      tables: catalog.tables.map((t) => t.name),
      sequences: catalog.sequences.map((q) => q.name),
      types: catalog.types.map((t) => t.name),
      ...(catalog.objects && {
        objects: createdObjects(
          catalog.objects,
          new Set(catalog.objects.extensions.map((e) => e.name).filter((n) => !extensionsPresent.has(n))),
        ),
      }),
    };
    await withLockRetries(c, ctx.log, 'creating the shadow schema', async () => {
      await createShadow(c, ctx.shadow, identityOf(s));
      await putState(c, ctx.shadow, 'catalog', catalog);
      await putState(c, ctx.shadow, 'plan', plan);
      await putState(c, ctx.shadow, 'created', created);
      await putState(c, ctx.shadow, 'phase', { current: 'PreProcessing', history: ctx.history });
      if (s.mode === 'DowntimeOptimized') await installRecorder(c, ctx);
    });
    ctx.plan = plan;
    ctx.log.info(
      { shadow: ctx.shadow, groups: plan.groups.length, chunks: plan.chunks },
      'shadow schema created',
    );
  });

  await withClient(ctx.target, 'preprocess', async (c) => {
    if (await schemaExists(c, ctx.shadow)) return;
    await inTransaction(c, async () => {
      await c.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(s.target.schema)}`);
      await c.query(`SET LOCAL search_path = ${quoteIdent(s.target.schema)}`);
      for (const sql of preLoadDdl(catalog, s.target.schema)) await c.query(sql);
      await createProgressSchema(c, ctx.shadow, s.name);
      if (s.mode === 'DowntimeOptimized') await createReplayBookkeeping(c, ctx.shadow);
    });
    ctx.log.info({ schema: s.target.schema, tables: catalog.tables.length }, 'target tables created');
  });
}

// Fallback: remove everything ferry created, on the target first (the tables it made, its
// bookkeeping), then the shadow schema on the source (with it go any triggers ferry installed, since
// their functions live there). The source's application data was never modified, so afterwards it
// is exactly as it was. Only what the shadow schema records is touched: a completed migration has no
// shadow schema any more, and its target is never dropped.
import { inTransaction, withClient, type Client } from './db/connect.ts';
import { withLockRetries } from './db/lock-retry.ts';
import { qualified, quoteIdent } from './db/ident.ts';
import type { Context } from './phases/context.ts';
import type { Created } from './phases/preprocessing.ts';
import { dropObjects } from './catalog/objects-ddl.ts';
import { unlockWrites } from './uptime/lock.ts';
import type { UptimeState } from './uptime/uptime.ts';
import { dropSchema, getState, listShadowSchemas, schemaExists } from './state/shadow.ts';

export type FallbackResult = { done: true; dropped: string[] } | { done: false; reason: string };

/** Statements that undo what PreProcessing created on the target. Pure. */
export function targetCleanup(created: Created, targetSchema: string, bookkeeping: string): string[] {
  const out = [`DROP SCHEMA IF EXISTS ${quoteIdent(bookkeeping)} CASCADE`];
  // Extensions ferry created may live outside the target schema: they go after it in any case.
  const objects = created.objects
    ? dropObjects(created.objects, targetSchema)
    : { views: [], routines: [], collations: [], extensions: [] };
  if (created.targetSchemaCreated)
    return [...out, `DROP SCHEMA IF EXISTS ${quoteIdent(targetSchema)} CASCADE`, ...objects.extensions];
  return [
    ...out,
    ...objects.views,
    ...created.tables.map((t) => `DROP TABLE IF EXISTS ${qualified(targetSchema, t)} CASCADE`),
    ...created.sequences.map((q) => `DROP SEQUENCE IF EXISTS ${qualified(targetSchema, q)} CASCADE`),
    ...objects.routines,
    ...created.types.map((t) => `DROP TYPE IF EXISTS ${qualified(targetSchema, t)} CASCADE`),
    ...objects.collations,
    ...objects.extensions,
  ];
}

async function recorded(c: Client, ctx: Context): Promise<Created | null | undefined> {
  if (!(await schemaExists(c, ctx.shadow))) return undefined;
  const ours = (await listShadowSchemas(c)).some(
    (s) => s.schema === ctx.shadow && s.migration === ctx.settings.name,
  );
  if (!ours)
    throw new Error(
      `schema ${ctx.shadow} on the source is not the shadow schema of migration ${ctx.settings.name}; not touching it`,
    );
  return (await getState<Created>(c, ctx.shadow, 'created')) ?? null;
}

export async function fallback(ctx: Context): Promise<FallbackResult> {
  const created = await withClient(ctx.source, 'fallback', (c) => recorded(c, ctx));
  if (created === undefined)
    return {
      done: false,
      reason: `no shadow schema ${ctx.shadow} on the source: nothing to fall back (never started, or completed)`,
    };
  const dropped: string[] = [];
  if (created) {
    const statements = targetCleanup(created, ctx.settings.target.schema, ctx.shadow);
    await withClient(ctx.target, 'fallback', (c) =>
      inTransaction(c, async () => {
        for (const sql of statements) await c.query(sql);
      }),
    );
    dropped.push(
      ...(created.targetSchemaCreated
        ? [`target schema ${ctx.settings.target.schema}`]
        : created.tables.map((t) => `target table ${t}`)),
      ...(created.objects?.extensions ?? []).map((e) => `target extension ${e}`),
    );
  }
  let unlocked = false;
  await withClient(ctx.source, 'fallback', (c) =>
    // Dropping the schema drops ferry's triggers, which briefly locks the application's tables.
    withLockRetries(c, ctx.log, 'removing the shadow schema', async () => {
      // A cutover that had begun left the source read-only: it is writable again.
      unlocked = (await getState<UptimeState>(c, ctx.shadow, 'uptime'))?.locked === true;
      if (unlocked) await unlockWrites(c, ctx.settings.source.database);
      await dropSchema(c, ctx.shadow);
    }),
  );
  if (unlocked) dropped.push('source write lock');
  dropped.push(`source shadow schema ${ctx.shadow}`);
  ctx.log.info({ dropped }, 'fallback done: the source is as it was');
  return { done: true, dropped };
}

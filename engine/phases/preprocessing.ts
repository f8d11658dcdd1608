// PreProcessing: the plan, the shadow schema on the source (its dialect's state store, with the write
// fence and, DowntimeOptimized, the recorders), and the empty target tables (without
// secondary indexes and foreign keys, which are built after the load). Idempotent: a run killed
// between the source and the target transaction repeats only what is missing.
import { createHash, randomUUID } from 'node:crypto';
import { multiSchema, type Settings } from '../api/settings.ts';
import { targetPreLoadDdl } from '../catalog/ddl.ts';
import { catalogSchemas, objectsOf, schemaOf } from '../catalog/schemas.ts';
import type { Catalog } from '../catalog/types.ts';
import { createdObjects, type CreatedObjects } from '../catalog/objects-ddl.ts';
import { inTransaction, withClient, type Client } from '../db/connect.ts';
import { markSchema, schemaExists, schemaMarker } from '../db/schemas.ts';
import { createReplayBookkeeping } from '../uptime/replay.ts';
import { uptimeTables } from '../uptime/state.ts';
import { quoteIdent } from '../db/ident.ts';
import { buildPlan, type Plan } from '../plan/plan.ts';
import { withSource } from '../source/dialect.ts';
import { createProgressSchema } from '../state/progress.ts';
import {
  BOOKKEEPING_MARKER,
  claimantOf,
  describeOwner,
  ownerOf,
  sameOwner,
  TARGET_SCHEMA_MARKER,
  type Recorded,
} from '../state/owner.ts';
import { ownShadow, type Identity } from '../state/shadow.ts';
import { CheckError } from './checks.ts';
import { need, type Context } from './context.ts';

/** What ferry creates on the target, so that fallback removes exactly that. */
export interface Created {
  targetSchemaCreated: boolean;
  tables: string[];
  sequences: string[];
  types: string[];
  /** Views, routines, collations, and the extensions that were missing on the target. */
  objects?: CreatedObjects;
  /** Several schemas: what was created in each further target schema (the fields above are the first's). */
  moreSchemas?: (Created & { targetSchema: string })[];
}

/** What ferry creates in the target schema of one source schema of the catalog. */
function createdIn(
  catalog: Catalog,
  schema: string,
  existed: boolean,
  extensionsMissing: Set<string>,
): Omit<Created, 'moreSchemas'> {
  const mine = <T extends { schema?: string; name: string }>(list: T[]) =>
    list.filter((o) => schemaOf(catalog, o) === schema).map((o) => o.name);
  const objects = objectsOf(catalog, schema);
  return {
    targetSchemaCreated: !existed,
    tables: mine(catalog.tables),
    sequences: mine(catalog.sequences),
    types: mine(catalog.types),
    ...(objects && { objects: createdObjects(objects, extensionsMissing) }),
  };
}

/** Hash of the settings that shape the plan; computed as before owners were recorded, so earlier runs still resume. */
export function planHashOf(s: Settings): string {
  const target = `${s.target.host}:${s.target.port}/${s.target.database}/${s.target.schema}`;
  const shape = JSON.stringify([
    s.source.schema,
    target,
    s.include,
    s.exclude,
    s.mode,
    s.uptimeTables,
    ...(multiSchema(s) ? [s.schemas] : []),
  ]);
  return createHash('sha256').update(shape).digest('hex').slice(0, 16);
}

/** The identity a new shadow schema records; `runId` is the CLI's uid (the operator passes the Kubernetes one). */
export const identityOf = (s: Settings, runId: string): Identity => ({
  ...ownerOf(s, runId),
  planHash: planHashOf(s),
});

/** What the target holds before PreProcessing: the target schemas that exist, the installed extensions. */
export interface TargetBefore {
  existed: Set<string>;
  extensions: Set<string>;
}

export async function targetBefore(ctx: Context): Promise<TargetBefore> {
  return withClient(ctx.target, 'preprocess', async (c) => ({
    existed: new Set(
      (
        await Promise.all(
          ctx.settings.schemas.map(async (p) => ((await schemaExists(c, p.target)) ? [p.target] : [])),
        )
      ).flat(),
    ),
    extensions: new Set(
      (await c.query<{ name: string }>('SELECT extname::text AS name FROM pg_extension')).rows.map(
        (r) => r.name,
      ),
    ),
  }));
}

/** What PreProcessing will create on the target (fallback removes exactly that). */
export function createdOn(ctx: Context, before: TargetBefore): Created {
  const catalog = need(ctx.catalog, 'catalog');
  const extensionsMissing = new Set(
    catalogSchemas(catalog)
      .flatMap((x) => objectsOf(catalog, x)?.extensions ?? [])
      .map((e) => e.name)
      .filter((n) => !before.extensions.has(n)),
  );
  const [first, ...more] = ctx.settings.schemas.map((p) => ({
    targetSchema: p.target,
    ...createdIn(catalog, p.source, before.existed.has(p.target), extensionsMissing),
  }));
  const { targetSchema: _first, ...created }: Created & { targetSchema: string } = first!;
  if (more.length) created.moreSchemas = more;
  return created;
}

/**
 * The source side: plan, shadow schema (identity, catalog, plan, what the target will get, and any
 * `extra` state), write fence and, DowntimeOptimized, the recording. A resumed run finds it made and
 * reads the stored plan. Returns the owner the target's markers name.
 */
export async function preProcessSource(
  ctx: Context,
  created: Created | null,
  extra: Record<string, unknown> = {},
): Promise<Recorded> {
  const catalog = need(ctx.catalog, 'catalog');
  const s = ctx.settings;
  return withSource(ctx.source, 'preprocess', async (src): Promise<Recorded> => {
    const recorded = await ownShadow(src, ctx.shadow, claimantOf(s));
    if (recorded && (await src.getState('phase')) !== undefined) {
      ctx.plan = need(await src.getState<Plan>('plan'), 'stored plan');
      return recorded;
    }
    // Ours without a phase: its creation was cut short (the source's DDL is not transactional).
    if (recorded) await src.dropStore();
    const plan = await buildPlan(src, catalog, s, ctx.previousReport);
    const identity = identityOf(s, randomUUID());
    await src.createStore(
      identity,
      { catalog, plan, created, ...extra, phase: { current: 'PreProcessing', history: ctx.history } },
      catalog,
      s.mode === 'DowntimeOptimized' ? uptimeTables(ctx) : undefined,
    );
    ctx.plan = plan;
    ctx.log.info(
      { shadow: ctx.shadow, groups: plan.groups.length, chunks: plan.chunks },
      'shadow schema created',
    );
    return identity;
  });
}

/**
 * The target side: the target schemas ferry creates (marked for `owner`), the bare tables, the
 * bookkeeping schema; `within` adds to the same transaction (ferry import: its state). Done once:
 * a bookkeeping schema of this owner means it committed.
 */
export async function preProcessTarget(
  ctx: Context,
  owner: Recorded,
  within: (c: Client) => Promise<void> = async () => {},
): Promise<void> {
  const catalog = need(ctx.catalog, 'catalog');
  const s = ctx.settings;
  await withClient(ctx.target, 'preprocess', async (c) => {
    const bookkeeping = await schemaMarker(c, ctx.shadow, BOOKKEEPING_MARKER);
    if (bookkeeping && sameOwner(bookkeeping, owner)) return;
    if (bookkeeping !== undefined)
      throw new CheckError(
        `target schema ${ctx.shadow} is not the bookkeeping of ${describeOwner(owner)} ` +
          `(${bookkeeping ? `it belongs to ${describeOwner(bookkeeping)}` : 'it carries no ferry marker'}); not writing into it`,
      );
    await inTransaction(c, async () => {
      // Marked only by the transaction that creates it: fallback drops a whole schema only when ferry made it.
      for (const { target } of s.schemas)
        if (!(await schemaExists(c, target))) {
          await c.query(`CREATE SCHEMA ${quoteIdent(target)}`);
          await markSchema(c, target, TARGET_SCHEMA_MARKER, owner);
        }
      await c.query(`SET LOCAL search_path = ${quoteIdent(s.target.schema)}`);
      for (const sql of targetPreLoadDdl(catalog, s)) await c.query(sql);
      await createProgressSchema(c, ctx.shadow, owner);
      if (s.mode === 'DowntimeOptimized') await createReplayBookkeeping(c, ctx.shadow);
      await within(c);
    });
    ctx.log.info(
      { schema: s.schemas.map((p) => p.target).join(', '), tables: catalog.tables.length },
      'target tables created',
    );
  });
}

export async function preProcessing(ctx: Context): Promise<void> {
  const created = createdOn(ctx, await targetBefore(ctx));
  const owner = await preProcessSource(ctx, created);
  await preProcessTarget(ctx, owner);
}

// Fallback: remove everything ferry created, on the target first (the tables it made, its
// bookkeeping), then the shadow schema on the source (with it go any triggers ferry installed, since
// their functions live there). The source's application data was never modified, so afterwards it
// is exactly as it was. Only what this migration's owner created is touched: the shadow schema must
// be this manifest's (namespace, name, uid), started for the target the manifest names; on the
// target a schema goes whole only when its marker names that owner. Anything else is refused with
// nothing dropped. A completed migration has no shadow schema any more, and its target is left alone.
import { inTransaction, withClient, type Client } from './db/connect.ts';
import { qualified, quoteIdent } from './db/ident.ts';
import { schemaMarker } from './db/schemas.ts';
import type { Context } from './phases/context.ts';
import type { Created } from './phases/preprocessing.ts';
import { dropObjects } from './catalog/objects-ddl.ts';
import { readFence } from './fence/fence.ts';
import {
  BOOKKEEPING_MARKER,
  claimantOf,
  describeOwner,
  ForeignShadowError,
  isOwnedBy,
  sameOwner,
  TARGET_SCHEMA_MARKER,
  whereMismatch,
  type Recorded,
} from './state/owner.ts';
import type { MoveState } from './run.ts';
import { withSource, type SourceSession } from './source/dialect.ts';
import { readIdentity, type Identity } from './state/shadow.ts';
import { removeOwnDump } from './transfer/dump.ts';

export type FallbackResult = { done: true; dropped: string[] } | { done: false; reason: string };

export class FallbackRefused extends Error {
  override name = 'FallbackRefused';
}

/** What the target holds. Markers: undefined when the schema is absent, null when it carries none of ferry's. */
export interface TargetFacts {
  bookkeeping: Recorded | null | undefined;
  targetSchema: Recorded | null | undefined;
  /** Objects in the target schema that are not among those ferry created (nor part of them). */
  strangers: string[];
}

export interface TargetCleanup {
  statements: string[];
  dropped: string[];
}

/** What undoes PreProcessing on the target for `owner`, or why nothing may be touched. Pure. */
export function targetCleanup(
  owner: Recorded,
  created: Created | null,
  facts: TargetFacts,
  targetSchema: string,
  bookkeeping: string,
): TargetCleanup | { refuse: string } {
  // The bookkeeping commits with the target objects: without it, none of them are this migration's.
  if (facts.bookkeeping === undefined) return { statements: [], dropped: [] };
  if (!facts.bookkeeping || !sameOwner(facts.bookkeeping, owner))
    return {
      refuse:
        `target schema ${bookkeeping} is not the bookkeeping of ${describeOwner(owner)} ` +
        `(${facts.bookkeeping ? `it belongs to ${describeOwner(facts.bookkeeping)}` : 'it carries no ferry marker'}); nothing dropped`,
    };
  const out: TargetCleanup = {
    statements: [`DROP SCHEMA ${quoteIdent(bookkeeping)} CASCADE`],
    dropped: [`target bookkeeping ${bookkeeping}`],
  };
  if (!created) return out;
  // Extensions ferry created may live outside the target schema: they go last in any case.
  const objects = created.objects
    ? dropObjects(created.objects, targetSchema)
    : { views: [], routines: [], collations: [], extensions: [] };
  const extensions = (created.objects?.extensions ?? []).map((e) => `target extension ${e}`);
  // Whole only when ferry made it for this owner and nobody put anything of their own in it since.
  const ours = facts.targetSchema && sameOwner(facts.targetSchema, owner) && !facts.strangers.length;
  if (created.targetSchemaCreated && ours)
    return {
      statements: [
        ...out.statements,
        `DROP SCHEMA IF EXISTS ${quoteIdent(targetSchema)} CASCADE`,
        ...objects.extensions,
      ],
      dropped: [...out.dropped, `target schema ${targetSchema}`, ...extensions],
    };
  return {
    statements: [
      ...out.statements,
      ...objects.views,
      ...created.tables.map((t) => `DROP TABLE IF EXISTS ${qualified(targetSchema, t)} CASCADE`),
      ...created.sequences.map((q) => `DROP SEQUENCE IF EXISTS ${qualified(targetSchema, q)} CASCADE`),
      ...objects.routines,
      ...created.types.map((t) => `DROP TYPE IF EXISTS ${qualified(targetSchema, t)} CASCADE`),
      ...objects.collations,
      ...objects.extensions,
    ],
    dropped: [
      ...out.dropped,
      ...created.tables.map((t) => `target table ${targetSchema}.${t}`),
      ...(created.objects?.views ?? []).map((v) => `target view ${targetSchema}.${v.name}`),
      ...extensions,
    ],
  };
}

interface Shadow {
  owner: Recorded;
  created: Created | null;
  /** ferry export's shadow: it created nothing on any target. */
  move?: MoveState;
  exportId: string;
}

/** Objects of the schema that are neither one `created` lists nor dependent on one (indexes, owned sequences, array types). */
async function strangers(c: Client, schema: string, created: Created | null): Promise<string[]> {
  const o = created?.objects;
  const relations = [
    ...(created?.tables ?? []),
    ...(created?.sequences ?? []),
    ...(created?.types ?? []),
    ...(o?.views ?? []).map((v) => v.name),
  ];
  // A routine's signature starts with its name, quoted as an identifier where needed.
  const routines = (o?.functions ?? []).map((f) => {
    const name = f.signature.slice(0, f.signature.indexOf('('));
    return name.startsWith('"') ? name.slice(1, -1).replaceAll('""', '"') : name;
  });
  const { rows } = await c.query<{ x: string }>(
    `WITH ns AS (SELECT oid FROM pg_namespace WHERE nspname = $1),
     listed AS (
       SELECT 'pg_class'::regclass AS cls, c.oid FROM pg_class c, ns WHERE c.relnamespace = ns.oid AND c.relname = ANY($2)
       UNION ALL SELECT 'pg_type'::regclass, t.oid FROM pg_type t, ns WHERE t.typnamespace = ns.oid AND t.typname = ANY($3)
       UNION ALL SELECT 'pg_proc'::regclass, p.oid FROM pg_proc p, ns WHERE p.pronamespace = ns.oid AND p.proname = ANY($4)
       UNION ALL SELECT 'pg_collation'::regclass, l.oid FROM pg_collation l, ns WHERE l.collnamespace = ns.oid AND l.collname = ANY($5)),
     members AS (
       SELECT d.classid, d.objid FROM pg_depend d, ns
        WHERE d.refclassid = 'pg_namespace'::regclass AND d.refobjid = ns.oid AND d.deptype = 'n')
     SELECT pg_describe_object(m.classid, m.objid, 0) AS x FROM members m
      WHERE NOT EXISTS (SELECT 1 FROM listed l WHERE l.cls = m.classid AND l.oid = m.objid)
        AND NOT EXISTS (SELECT 1 FROM pg_depend d JOIN listed l ON l.cls = d.refclassid AND l.oid = d.refobjid
                         WHERE d.classid = m.classid AND d.objid = m.objid AND d.deptype IN ('a', 'i'))
      ORDER BY 1`,
    [schema, relations, created?.types ?? [], routines, o?.collations ?? []],
  );
  return rows.map((r) => r.x);
}

/** This manifest's shadow schema and what it recorded; refuses another owner's or another target's. */
async function recorded(s: SourceSession, ctx: Context): Promise<Shadow | undefined> {
  const owner = await s.storeOwner();
  if (owner === undefined) return undefined;
  if (owner === null)
    throw new FallbackRefused(
      `schema ${ctx.shadow} on the source is not the shadow schema of migration ${ctx.settings.name}; not touching it`,
    );
  const me = claimantOf(ctx.settings);
  if (!isOwnedBy(owner, me)) throw new ForeignShadowError(ctx.shadow, owner, me);
  const stored = await s.getState<Identity>('identity');
  const moved = stored && whereMismatch(readIdentity(stored), me);
  if (moved)
    throw new FallbackRefused(
      `${describeOwner(owner)} was ${moved}; fall back with the manifest it was started with. Nothing dropped`,
    );
  const move = await s.getState<MoveState>('move');
  return {
    owner,
    created: (await s.getState<Created>('created')) ?? null,
    ...(move && { move }),
    exportId: stored ? readIdentity(stored).uid : '',
  };
}

/**
 * Undoes PreProcessing on the target for `owner`, inside the caller's transaction: every target
 * schema cleaned up as the single one is, the bookkeeping dropped once. Returns what was dropped.
 */
export async function cleanTarget(
  c: Client,
  ctx: Context,
  owner: Recorded,
  created: Created | null,
): Promise<string[]> {
  const targets = [
    { schema: ctx.settings.target.schema, created },
    ...(created?.moreSchemas ?? []).map((m) => ({ schema: m.targetSchema, created: m as Created })),
  ];
  const bookkeeping = await schemaMarker(c, ctx.shadow, BOOKKEEPING_MARKER);
  const plans: TargetCleanup[] = [];
  for (const [i, t] of targets.entries()) {
    const plan = targetCleanup(
      owner,
      t.created,
      {
        bookkeeping,
        targetSchema: await schemaMarker(c, t.schema, TARGET_SCHEMA_MARKER),
        strangers: await strangers(c, t.schema, t.created),
      },
      t.schema,
      ctx.shadow,
    );
    if ('refuse' in plan) throw new FallbackRefused(plan.refuse);
    const once = i === 0 || !plan.statements.length;
    plans.push(once ? plan : { statements: plan.statements.slice(1), dropped: plan.dropped.slice(1) });
  }
  for (const sql of plans.flatMap((p) => p.statements)) await c.query(sql);
  return plans.flatMap((p) => p.dropped);
}

export async function fallback(ctx: Context): Promise<FallbackResult> {
  const rec = await withSource(ctx.source, 'fallback', (s) => recorded(s, ctx));
  if (!rec)
    return {
      done: false,
      reason: `no shadow schema ${ctx.shadow} on the source: nothing to fall back (never started, or completed)`,
    };
  // ferry export created nothing on a target (ferry import falls back its own side).
  const dropped = rec.move
    ? []
    : await withClient(ctx.target, 'fallback', (c) =>
        inTransaction(c, () => cleanTarget(c, ctx, rec.owner, rec.created)),
      );
  // The dump's files go before the shadow schema that tells whose they are.
  const files = await removeOwnDump(ctx, rec.exportId);
  if (files !== undefined) dropped.push(`dump ${ctx.settings.dumpDir} (${files} files)`);
  let fenced = false;
  await withSource(ctx.source, 'fallback', async (s) => {
    fenced = (await readFence(s)).state !== 'open';
    // Dropping the store drops ferry's triggers, the fence with them.
    await s.dropStore();
  });
  if (fenced) dropped.push('source write fence');
  dropped.push(`source shadow schema ${ctx.shadow}`);
  ctx.log.info({ dropped }, 'fallback done: the source is as it was');
  return { done: true, dropped };
}

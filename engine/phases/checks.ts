// Checks: nothing in the way. The target has room and none of the objects ferry will create; the
// source has no shadow schema but possibly ours. Read-only: a failed check changes nothing.
import { targetSchemaOf } from '../api/settings.ts';
import { schemaParts, tableKey } from '../catalog/schemas.ts';
import { statfs } from 'node:fs/promises';
import { holdsRows, recordsRows } from '../catalog/relations.ts';
import { anyManifest, freeBytesAt } from '../dump/directory.ts';
import { dumpBytesNeeded, dumpSpaceProblem } from '../dump/format.ts';
import type { Catalog } from '../catalog/types.ts';
import { checkObjects } from './check-objects.ts';
import { targetVersionProblems } from './target-version.ts';
import { describeEndpoint, majorVersion, withClient, type Client } from '../db/connect.ts';
import { qualified } from '../db/ident.ts';
import { ConfigError } from '../db/password.ts';
import { formatBytes } from '../progress.ts';
import { BOOKKEEPING_MARKER, claimantOf, describeOwner, foreignShadow, isOwnedBy } from '../state/owner.ts';
import { schemaMarker } from '../db/schemas.ts';
import { withSource, type SourceSession } from '../source/dialect.ts';
import { need, type Context } from './context.ts';

export class CheckError extends Error {
  override name = 'CheckError';
}

async function checkShadow(s: SourceSession, ctx: Context): Promise<void> {
  const me = claimantOf(ctx.settings);
  for (const other of await s.stores()) {
    // Same name, another namespace or uid: the same schema name, someone else's state.
    if (other.schema === ctx.shadow && !isOwnedBy(other.owner, me))
      throw new CheckError(foreignShadow(other.schema, other.owner, me));
    if (other.owner.name !== ctx.settings.name)
      throw new CheckError(
        `source holds the shadow schema ${other.schema} of another migration (${other.owner.name}); ` +
          `complete it or fall back (ferry fallback) before starting ${ctx.settings.name}`,
      );
  }
  const owner = await s.storeOwner();
  // Ours but without a phase: PreProcessing was cut short creating it (a source whose DDL is not
  // transactional) and makes it again.
  const unfinished = owner && isOwnedBy(owner, me) && (await s.getState('phase')) === undefined;
  if (owner !== undefined && !unfinished)
    throw new CheckError(
      `source already has a schema named ${ctx.shadow} that holds no resumable state of migration ${ctx.settings.name}; ` +
        'drop it (ferry fallback) or rename the migration',
    );
}

async function checkTargetObjects(c: Client, ctx: Context, whole: Catalog): Promise<void> {
  const bookkeeping = await schemaMarker(c, ctx.shadow, BOOKKEEPING_MARKER);
  if (bookkeeping !== undefined)
    throw new CheckError(
      `target already has a schema ${ctx.shadow}, ` +
        (bookkeeping
          ? `the bookkeeping of ${describeOwner(bookkeeping)}; complete or fall back that migration first`
          : 'not made by ferry; ferry would take it for its bookkeeping: rename it or this migration'),
    );
  for (const catalog of schemaParts(whole))
    await checkTargetSchema(c, targetSchemaOf(ctx.settings, catalog.schema), catalog);
}

/** Nothing in the way in one target schema: no table, sequence or type of the names ferry creates there. */
async function checkTargetSchema(c: Client, schema: string, catalog: Catalog): Promise<void> {
  const { rows } = await c.query<{ name: string; kind: string }>(
    `SELECT c.relname AS name, c.relkind::text AS kind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = ANY($2)`,
    [schema, [...catalog.tables.map((t) => t.name), ...catalog.sequences.map((s) => s.name)]],
  );
  for (const r of rows) {
    if (r.kind === 'r' || r.kind === 'p') {
      // Counted only where the role may read it: the refusal must not turn into a permission error. A
      // partitioned table's rows are its partitions'; a plain table's own (ONLY: not its children's).
      const table = qualified(schema, r.name);
      const { rows: may } = await c.query<{ ok: boolean }>("SELECT has_table_privilege($1, 'SELECT') AS ok", [
        table,
      ]);
      const count = may[0]!.ok
        ? Number(
            (
              await c.query<{ n: string }>(
                `SELECT count(*)::text AS n FROM ${r.kind === 'p' ? '' : 'ONLY '}${table}`,
              )
            ).rows[0]!.n,
          )
        : undefined;
      const holds =
        count === undefined ? '' : count ? ` and holds ${count.toLocaleString('en-US')} rows` : ' (empty)';
      throw new CheckError(
        `target table ${schema}.${r.name} already exists${holds}` +
          `${r.kind === 'p' ? ' (a partitioned table)' : ''}; drop it or choose another target schema`,
      );
    }
    throw new CheckError(
      `target already has an object named ${schema}.${r.name}; drop it or choose another target schema`,
    );
  }
  const { rows: types } = await c.query<{ name: string }>(
    `SELECT t.typname AS name FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = $1 AND t.typname = ANY($2)`,
    [schema, catalog.types.map((t) => t.name)],
  );
  if (types[0])
    throw new CheckError(
      `target already has a type named ${schema}.${types[0].name}; drop it or choose another target schema`,
    );
}

const isLoopback = (host: string) => host === 'localhost' || host.startsWith('127.') || host === '::1';

/** PostgreSQL does not report free disk over SQL; it can be checked where the target's data directory is local. */
async function checkSpace(c: Client, ctx: Context, needed: number): Promise<void> {
  if (!isLoopback(ctx.settings.target.host)) {
    ctx.log.info(
      { needed },
      `target free space not checkable remotely: it needs about ${formatBytes(needed)}`,
    );
    return;
  }
  let dir: string;
  try {
    dir = (await c.query<{ d: string }>('SHOW data_directory')).rows[0]!.d;
  } catch {
    ctx.log.info(
      { needed },
      `target data directory not visible to ${ctx.settings.target.user}; free space not checked`,
    );
    return;
  }
  const fs = await statfs(dir).catch(() => undefined);
  if (!fs) return;
  const free = fs.bavail * fs.bsize;
  if (free < needed)
    throw new CheckError(
      `${describeEndpoint(ctx.target)}: ${formatBytes(free)} free on the target's disk, the migration needs about ${formatBytes(needed)}`,
    );
  ctx.log.info({ free, needed }, 'target free space checked');
}

/** What the catalog itself rules out, whatever the servers hold. */
function checkCatalog(ctx: Context, catalog: Catalog): void {
  if (catalog.unrewritable?.length)
    throw new CheckError(
      `references between the migrated schemas that ferry cannot point at the renamed target schemas: ${catalog.unrewritable.join('; ')}. ` +
        'Keep those schemas their names (spec.schemas[].target), or change the definitions (see README, Several schemas)',
    );
  if (catalog.refused?.length)
    throw new CheckError(`the source holds what ferry cannot migrate: ${catalog.refused.join('; ')}`);
  if (ctx.settings.mode === 'DowntimeOptimized') {
    // Only the tables whose changes are replayed need a key: a partition's go through its root's.
    const keyless = catalog.tables.filter((t) => recordsRows(t) && t.key.length === 0).map(tableKey);
    if (keyless.length)
      throw new ConfigError(
        `spec.mode: DowntimeOptimized needs a primary key or a unique NOT NULL key on every table to replay changes; ` +
          `without one: ${keyless.join(', ')} (exclude them with spec.tables.exclude, or migrate them in Standard mode)`,
      );
  }
}

/** Dump method: the directory holds no dump yet, and its filesystem has room for the export. */
async function checkDumpSpace(ctx: Context, catalog: Catalog): Promise<void> {
  const dir = ctx.settings.dumpDir;
  if (ctx.settings.method !== 'Dump' || !dir) return;
  const there = (await anyManifest(dir)) as { migration?: { name?: string }; createdAt?: string } | undefined;
  if (there !== undefined)
    throw new CheckError(
      `spec.transfer.dumpDir ${dir} already holds a ferry dump (of migration ${there.migration?.name ?? 'unknown'}, ` +
        `created ${there.createdAt ?? 'at an unknown time'}): remove it or choose another directory`,
    );
  const heap = catalog.tables.filter(holdsRows).reduce((a, t) => a + t.heapBytes, 0);
  const { at, free } = await freeBytesAt(dir);
  const problem = dumpSpaceProblem(dir, at, free, heap);
  if (problem) throw new CheckError(problem);
  ctx.log.info({ free, needed: dumpBytesNeeded(heap), dir }, 'dump directory free space checked');
}

/** The source side: no foreign shadow schema; with the Dump method, room for the files. */
async function checkSource(ctx: Context, catalog: Catalog): Promise<void> {
  await withSource(ctx.source, 'check', (s) => checkShadow(s, ctx));
  await checkDumpSpace(ctx, catalog);
}

/** The target side: a version that can build the tables, nothing in the way, the objects it can take, room for the data. */
export async function checkTarget(ctx: Context): Promise<void> {
  const catalog = need(ctx.catalog, 'catalog');
  const needed = catalog.tables.reduce((a, t) => a + t.totalBytes, 0);
  await withClient(ctx.target, 'check', async (c) => {
    const unbuildable = targetVersionProblems(catalog, await majorVersion(c));
    if (unbuildable.length)
      throw new CheckError(
        `the target cannot create what the source defines: ${unbuildable.join('; ')}. Upgrade the target, or change the definitions on the source`,
      );
    await checkTargetObjects(c, ctx, catalog);
    ctx.catalog = await checkObjects(c, ctx, catalog);
    await checkSpace(c, ctx, needed);
  });
}

export async function checks(ctx: Context): Promise<void> {
  const catalog = need(ctx.catalog, 'catalog');
  checkCatalog(ctx, catalog);
  await checkSource(ctx, catalog);
  await checkTarget(ctx);
}

/** ferry export's Checks: the source side, and the objects as far as no target is needed (ferry import checks the rest). */
export async function checkExport(ctx: Context): Promise<void> {
  const catalog = need(ctx.catalog, 'catalog');
  checkCatalog(ctx, catalog);
  await checkSource(ctx, catalog);
  ctx.catalog = await checkObjects(undefined, ctx, catalog);
}

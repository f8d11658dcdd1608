// Checks: nothing in the way. The target has room and none of the objects ferry will create; the
// source has no shadow schema but possibly ours. Read-only: a failed check changes nothing.
import { statfs } from 'node:fs/promises';
import type { Catalog } from '../catalog/types.ts';
import { checkObjects } from './check-objects.ts';
import { describeEndpoint, withClient, type Client } from '../db/connect.ts';
import { qualified } from '../db/ident.ts';
import { ConfigError } from '../db/password.ts';
import { formatBytes } from '../progress.ts';
import { listShadowSchemas, schemaExists } from '../state/shadow.ts';
import { need, type Context } from './context.ts';

export class CheckError extends Error {
  override name = 'CheckError';
}

async function checkShadow(c: Client, ctx: Context): Promise<void> {
  for (const other of await listShadowSchemas(c)) {
    if (other.migration !== ctx.settings.name)
      throw new CheckError(
        `source holds the shadow schema ${other.schema} of another migration (${other.migration}); ` +
          `complete it or fall back (ferry fallback) before starting ${ctx.settings.name}`,
      );
  }
  if (await schemaExists(c, ctx.shadow))
    throw new CheckError(
      `source already has a schema named ${ctx.shadow} that holds no resumable state of migration ${ctx.settings.name}; ` +
        'drop it (ferry fallback) or rename the migration',
    );
}

async function checkTargetObjects(c: Client, ctx: Context, catalog: Catalog): Promise<void> {
  const schema = ctx.settings.target.schema;
  if (await schemaExists(c, ctx.shadow))
    throw new CheckError(
      `target already has ferry's bookkeeping schema ${ctx.shadow} from an earlier run; run ferry fallback first`,
    );
  const { rows } = await c.query<{ name: string; kind: string }>(
    `SELECT c.relname AS name, c.relkind::text AS kind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = ANY($2)`,
    [schema, [...catalog.tables.map((t) => t.name), ...catalog.sequences.map((s) => s.name)]],
  );
  for (const r of rows) {
    if (r.kind === 'r' || r.kind === 'p') {
      const { rows: n } = await c.query<{ n: string }>(
        `SELECT count(*)::text AS n FROM ${qualified(schema, r.name)}`,
      );
      const count = Number(n[0]!.n);
      throw new CheckError(
        `target table ${schema}.${r.name} already exists` +
          (count ? ` and holds ${count.toLocaleString('en-US')} rows` : ' (empty)') +
          '; drop it or choose another target schema',
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

/** Recording needs triggers on the tables; the cutover's write lock needs the database's owner or a superuser. */
async function checkUptimePrivileges(c: Client, ctx: Context, catalog: Catalog): Promise<void> {
  const s = ctx.settings.source;
  const { rows } = await c.query<{ table: string }>(
    `SELECT t AS table FROM unnest($2::text[]) t WHERE NOT has_table_privilege(quote_ident($1) || '.' || quote_ident(t), 'TRIGGER')`,
    [s.schema, catalog.tables.map((t) => t.name)],
  );
  if (rows.length)
    throw new CheckError(
      `source user ${s.user} may not create triggers on ${rows.map((r) => r.table).join(', ')} (DowntimeOptimized records changes with triggers)`,
    );
  const { rows: own } = await c.query<{ ok: boolean }>(
    `SELECT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
         OR pg_has_role(current_user, (SELECT datdba FROM pg_database WHERE datname = current_database()), 'USAGE') AS ok`,
  );
  if (!own[0]!.ok)
    throw new CheckError(
      `source user ${s.user} must own database ${s.database} (or be a superuser) to lock writes at the cutover`,
    );
}

export async function checks(ctx: Context): Promise<void> {
  const catalog = need(ctx.catalog, 'catalog');
  if (ctx.settings.mode === 'DowntimeOptimized') {
    const keyless = catalog.tables.filter((t) => t.key.length === 0).map((t) => t.name);
    if (keyless.length)
      throw new ConfigError(
        `spec.mode: DowntimeOptimized needs a primary key or a unique NOT NULL key on every table to replay changes; ` +
          `without one: ${keyless.join(', ')} (exclude them with spec.tables.exclude, or migrate them in Standard mode)`,
      );
  }
  await withClient(ctx.source, 'check', async (c) => {
    await checkShadow(c, ctx);
    if (ctx.settings.mode === 'DowntimeOptimized') await checkUptimePrivileges(c, ctx, catalog);
  });
  const needed = catalog.tables.reduce((a, t) => a + t.totalBytes, 0);
  await withClient(ctx.target, 'check', async (c) => {
    await checkTargetObjects(c, ctx, catalog);
    ctx.catalog = await checkObjects(c, ctx, catalog);
    await checkSpace(c, ctx, needed);
  });
}

// Preparation: the spec makes sense, both servers answer, their versions are supported and the
// users hold the privileges the migration needs (all that is knowable without the catalog). Read-only.
import { randomUUID } from 'node:crypto';
import { withClient, describeEndpoint, inTransaction, type Client } from '../db/connect.ts';
import { ConfigError } from '../db/password.ts';
import { missingGrantsOn } from '../db/privileges.ts';
import { schemaExists } from '../state/shadow.ts';
import type { Context } from './context.ts';
import { selectedBySchema, selectedTables } from './extraction.ts';
import { privilegeError, sourceNeedsOf, targetNeedsOf } from './privileges.ts';
import { multiSchema, type SchemaPair } from '../api/settings.ts';

export const MIN_SOURCE_VERSION = 12;
export const MIN_TARGET_VERSION = 12;

async function version(c: Client): Promise<number> {
  const { rows } = await c.query<{ v: string }>("SELECT current_setting('server_version_num') AS v");
  return Math.floor(Number(rows[0]!.v) / 10000);
}

/**
 * Whether both endpoints reach the same database, however the host is spelled (localhost,
 * 127.0.0.1, a DNS alias): a source session shows a random application_name for the length of a
 * transaction, and the target looks for it among its server's sessions, which every user may see.
 */
async function sameDatabase(ctx: Context): Promise<boolean> {
  return withClient(ctx.source, 'prepare', (src) =>
    inTransaction(src, async () => {
      const probe = `ferry-probe-${randomUUID()}`;
      const { rows } = await src.query<{ db: string }>(
        "SELECT set_config('application_name', $1, true), current_database() AS db",
        [probe],
      );
      return withClient(ctx.target, 'prepare', async (dst) => {
        const seen = await dst.query(
          'SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database() AND datname = $2',
          [probe, rows[0]!.db],
        );
        return seen.rowCount !== 0;
      });
    }),
  );
}

export async function preparation(ctx: Context): Promise<void> {
  const s = ctx.settings;
  if (s.method === 'Dump')
    throw new ConfigError('spec.transfer.method: Dump is not supported by this version of ferry; use Pipe');
  for (const [i, p] of s.schemas.entries())
    if (p.target.startsWith('ferry_'))
      throw new ConfigError(
        `${multiSchema(s) ? `spec.schemas[${i}].target` : 'spec.target.schema'}: ${p.target} is named like ferry's own schemas (ferry_*; this migration's is ${ctx.shadow}), ` +
          'which fallback drops: choose another target schema',
      );
  const sameSchema = (p: SchemaPair) =>
    `spec.target: source and target are the same schema${multiSchema(s) ? ` (${p.source})` : ''} of the same database`;
  const sameServer =
    s.source.host === s.target.host &&
    s.source.port === s.target.port &&
    s.source.database === s.target.database;
  // With several schemas a target may also not be another migrated source schema of that database.
  const clash = s.schemas.find((p) => s.schemas.some((q) => q.source === p.target));
  if (sameServer && clash) throw new ConfigError(sameSchema(clash));

  const source = await withClient(ctx.source, 'prepare', async (c) => {
    const v = await version(c);
    if (v < MIN_SOURCE_VERSION)
      throw new ConfigError(
        `${describeEndpoint(ctx.source)}: PostgreSQL ${v} is not supported (${MIN_SOURCE_VERSION} or newer)`,
      );
    for (const [i, p] of s.schemas.entries())
      if (!(await schemaExists(c, p.source)))
        throw new ConfigError(
          `${multiSchema(s) ? `spec.schemas[${i}].source` : 'spec.source.schema'}: schema ${p.source} does not exist on the source`,
        );
    const bySchema = multiSchema(s)
      ? await selectedBySchema(c, s)
      : new Map([[s.source.schema, await selectedTables(c, s)]]);
    const needs = sourceNeedsOf(
      s.source.database,
      [...bySchema].map(([schema, tables]) => ({ schema, tables })),
    );
    return { v, missing: await missingGrantsOn(c, ctx.source, needs) };
  });
  const target = await withClient(ctx.target, 'prepare', async (c) => {
    const v = await version(c);
    if (v < MIN_TARGET_VERSION)
      throw new ConfigError(
        `${describeEndpoint(ctx.target)}: PostgreSQL ${v} is not supported (${MIN_TARGET_VERSION} or newer)`,
      );
    const schemas = [];
    for (const p of s.schemas)
      schemas.push({ schema: p.target, schemaExists: await schemaExists(c, p.target) });
    const needs = targetNeedsOf(s.target.database, schemas);
    return { v, missing: await missingGrantsOn(c, ctx.target, needs) };
  });
  if (clash && (await sameDatabase(ctx)))
    throw new ConfigError(
      `${sameSchema(clash)} (${describeEndpoint(ctx.source)} and ${describeEndpoint(ctx.target)} reach the same server)`,
    );
  const refused = privilegeError([source.missing, target.missing]);
  if (refused) throw refused;
  if (target.v < source.v)
    ctx.log.warn(
      { sourceVersion: source.v, targetVersion: target.v },
      'the target runs an older PostgreSQL than the source',
    );
  ctx.log.info({ sourceVersion: source.v, targetVersion: target.v }, 'both servers reachable');
}

// Preparation: the spec makes sense, both servers answer, their versions are supported and the
// users hold the privileges the migration needs (all that is knowable without the catalog). Read-only.
import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import zlib from 'node:zlib';
import { withClient, describeEndpoint, inTransaction, type Client } from '../db/connect.ts';
import { ConfigError } from '../db/password.ts';
import { nearestExisting } from '../dump/directory.ts';
import { missingGrantsOn } from '../db/privileges.ts';
import { schemaExists } from '../state/shadow.ts';
import type { Context } from './context.ts';
import { selectedBySchema, selectedTables } from './extraction.ts';
import { privilegeError, sourceNeedsOf, targetNeedsOf, type SideGrants } from './privileges.ts';
import { multiSchema, type SchemaPair, type Settings } from '../api/settings.ts';

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

/** What one side's Preparation found: the server's version and what the role lacks there. */
interface Side {
  v: number;
  missing: SideGrants;
}

/** The spec's own sense, before any server is asked; returns a target that is also a migrated source schema. */
function checkSpec(ctx: Context): SchemaPair | undefined {
  const s = ctx.settings;
  for (const [i, p] of s.schemas.entries())
    if (p.target.startsWith('ferry_'))
      throw new ConfigError(
        `${multiSchema(s) ? `spec.schemas[${i}].target` : 'spec.target.schema'}: ${p.target} is named like ferry's own schemas (ferry_*; this migration's is ${ctx.shadow}), ` +
          'which fallback drops: choose another target schema',
      );
  if (s.method === 'Dump' && typeof zlib.createZstdCompress !== 'function')
    throw new ConfigError(
      `spec.transfer.method: Dump compresses with zstd, which this Node.js (${process.version}) lacks; run ferry on Node.js 22.15 or newer`,
    );
  // With several schemas a target may also not be another migrated source schema of that database.
  return s.schemas.find((p) => s.schemas.some((q) => q.source === p.target));
}

const sameSchema = (s: Settings, p: SchemaPair) =>
  `spec.target: source and target are the same schema${multiSchema(s) ? ` (${p.source})` : ''} of the same database`;

/** The dump directory can be made: its nearest existing ancestor is a directory ferry may write. */
async function checkDumpWritable(dir: string): Promise<void> {
  const { at, isDirectory } = await nearestExisting(dir);
  if (!isDirectory)
    throw new ConfigError(`spec.transfer.dumpDir: ${at} is not a directory (dumpDir is ${dir})`);
  await access(at, constants.W_OK | constants.X_OK).catch(() => {
    throw new ConfigError(`spec.transfer.dumpDir: ferry may not write into ${at} (dumpDir is ${dir})`);
  });
}

async function prepareSource(ctx: Context): Promise<Side> {
  const s = ctx.settings;
  if (s.method === 'Dump' && s.dumpDir) await checkDumpWritable(s.dumpDir);
  return withClient(ctx.source, 'prepare', async (c) => {
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
}

async function prepareTarget(ctx: Context): Promise<Side> {
  const s = ctx.settings;
  return withClient(ctx.target, 'prepare', async (c) => {
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
}

export async function preparation(ctx: Context): Promise<void> {
  const s = ctx.settings;
  const clash = checkSpec(ctx);
  const sameServer =
    s.source.host === s.target.host &&
    s.source.port === s.target.port &&
    s.source.database === s.target.database;
  if (sameServer && clash) throw new ConfigError(sameSchema(s, clash));
  const source = await prepareSource(ctx);
  const target = await prepareTarget(ctx);
  if (clash && (await sameDatabase(ctx)))
    throw new ConfigError(
      `${sameSchema(s, clash)} (${describeEndpoint(ctx.source)} and ${describeEndpoint(ctx.target)} reach the same server)`,
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

/** Preparation of one side of a system move: ferry export asks the source only, ferry import the target only. */
export async function prepareSide(ctx: Context, side: 'source' | 'target'): Promise<void> {
  checkSpec(ctx);
  const found = side === 'source' ? await prepareSource(ctx) : await prepareTarget(ctx);
  const refused = privilegeError([found.missing]);
  if (refused) throw refused;
  ctx.log.info({ [`${side}Version`]: found.v }, `${side} reachable`);
}

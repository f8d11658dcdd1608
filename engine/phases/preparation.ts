// Preparation: the spec makes sense, both servers answer, their versions are supported and the
// users hold the privileges the migration needs (all that is knowable without the catalog). Read-only.
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import zlib from 'node:zlib';
import { withClient, describeEndpoint, majorVersion } from '../db/connect.ts';
import { ConfigError } from '../db/password.ts';
import { nearestExisting } from '../dump/directory.ts';
import { missingGrantsOn } from '../db/privileges.ts';
import { schemaExists } from '../db/schemas.ts';
import type { Prepared } from '../source/dialect.ts';
import type { Context } from './context.ts';
import { privilegeError, targetNeedsOf, type SideGrants } from './privileges.ts';
import { multiSchema, type SchemaPair, type Settings } from '../api/settings.ts';

export const MIN_TARGET_VERSION = 12;

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

async function prepareSource(ctx: Context): Promise<Prepared> {
  const s = ctx.settings;
  if (s.method === 'Dump' && s.dumpDir) await checkDumpWritable(s.dumpDir);
  return ctx.source.prepare();
}

async function prepareTarget(ctx: Context): Promise<{ v: number; missing: SideGrants }> {
  const s = ctx.settings;
  return withClient(ctx.target, 'prepare', async (c) => {
    const v = await majorVersion(c);
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
  if (clash && (await ctx.source.sameDatabase(ctx.target)))
    throw new ConfigError(
      `${sameSchema(s, clash)} (${ctx.source.where} and ${describeEndpoint(ctx.target)} reach the same server)`,
    );
  const refused = privilegeError([source.missing, target.missing]);
  if (refused) throw refused;
  if (source.postgresMajor !== undefined && target.v < source.postgresMajor)
    ctx.log.warn(
      { sourceVersion: source.postgresMajor, targetVersion: target.v },
      'the target runs an older PostgreSQL than the source',
    );
  ctx.log.info(
    { sourceVersion: source.postgresMajor ?? source.server, targetVersion: target.v },
    'both servers reachable',
  );
}

/** Preparation of one side of a system move: ferry export asks the source only, ferry import the target only. */
export async function prepareSide(ctx: Context, side: 'source' | 'target'): Promise<void> {
  checkSpec(ctx);
  const found =
    side === 'source'
      ? await prepareSource(ctx).then((p) => ({ version: p.postgresMajor ?? p.server, missing: p.missing }))
      : await prepareTarget(ctx).then((p) => ({ version: p.v, missing: p.missing }));
  const refused = privilegeError([found.missing]);
  if (refused) throw refused;
  ctx.log.info({ [`${side}Version`]: found.version }, `${side} reachable`);
}

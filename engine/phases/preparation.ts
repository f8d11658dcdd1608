// Preparation: the spec makes sense, both servers answer, their versions are supported and the
// users hold the privileges the migration needs (all that is knowable without the catalog). Read-only.
import { withClient, describeEndpoint, majorVersion } from '../db/connect.ts';
import { ConfigError } from '../db/password.ts';
import { missingGrantsOn } from '../db/privileges.ts';
import { schemaExists } from '../db/schemas.ts';
import type { Context } from './context.ts';
import { privilegeError, targetNeedsOf } from './privileges.ts';
import { multiSchema, type SchemaPair } from '../api/settings.ts';

export const MIN_TARGET_VERSION = 12;

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

  const source = await ctx.source.prepare();
  const target = await withClient(ctx.target, 'prepare', async (c) => {
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
  if (clash && (await ctx.source.sameDatabase(ctx.target)))
    throw new ConfigError(
      `${sameSchema(clash)} (${ctx.source.where} and ${describeEndpoint(ctx.target)} reach the same server)`,
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

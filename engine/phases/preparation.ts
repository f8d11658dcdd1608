// Preparation: the spec makes sense, both servers answer, their versions are supported and the
// users hold the privileges the migration needs (all that is knowable without the catalog). Read-only.
import { withClient, describeEndpoint, type Client } from '../db/connect.ts';
import { ConfigError } from '../db/password.ts';
import { missingGrantsOn } from '../db/privileges.ts';
import { selectTables } from '../plan/select.ts';
import { schemaExists } from '../state/shadow.ts';
import type { Context } from './context.ts';
import { listTables } from './extraction.ts';
import { privilegeError, sourceNeeds, targetNeeds } from './privileges.ts';

export const MIN_SOURCE_VERSION = 12;
export const MIN_TARGET_VERSION = 12;

async function version(c: Client): Promise<number> {
  const { rows } = await c.query<{ v: string }>("SELECT current_setting('server_version_num') AS v");
  return Math.floor(Number(rows[0]!.v) / 10000);
}

export async function preparation(ctx: Context): Promise<void> {
  const s = ctx.settings;
  if (s.method === 'Dump')
    throw new ConfigError('spec.transfer.method: Dump is not supported by this version of ferry; use Pipe');
  const sameServer =
    s.source.host === s.target.host &&
    s.source.port === s.target.port &&
    s.source.database === s.target.database;
  if (sameServer && s.source.schema === s.target.schema)
    throw new ConfigError('spec.target: source and target are the same schema of the same database');

  const source = await withClient(ctx.source, 'prepare', async (c) => {
    const v = await version(c);
    if (v < MIN_SOURCE_VERSION)
      throw new ConfigError(
        `${describeEndpoint(ctx.source)}: PostgreSQL ${v} is not supported (${MIN_SOURCE_VERSION} or newer)`,
      );
    if (!(await schemaExists(c, s.source.schema)))
      throw new ConfigError(`spec.source.schema: schema ${s.source.schema} does not exist on the source`);
    const tables = selectTables(await listTables(c, s.source.schema), s.include, s.exclude);
    const needs = sourceNeeds({ database: s.source.database, schema: s.source.schema, tables });
    return { v, missing: await missingGrantsOn(c, ctx.source, needs) };
  });
  const target = await withClient(ctx.target, 'prepare', async (c) => {
    const v = await version(c);
    if (v < MIN_TARGET_VERSION)
      throw new ConfigError(
        `${describeEndpoint(ctx.target)}: PostgreSQL ${v} is not supported (${MIN_TARGET_VERSION} or newer)`,
      );
    const schema = s.target.schema;
    const needs = targetNeeds({
      database: s.target.database,
      schema,
      schemaExists: await schemaExists(c, schema),
    });
    return { v, missing: await missingGrantsOn(c, ctx.target, needs) };
  });
  const refused = privilegeError([source.missing, target.missing]);
  if (refused) throw refused;
  if (target.v < source.v)
    ctx.log.warn(
      { sourceVersion: source.v, targetVersion: target.v },
      'the target runs an older PostgreSQL than the source',
    );
  ctx.log.info({ sourceVersion: source.v, targetVersion: target.v }, 'both servers reachable');
}

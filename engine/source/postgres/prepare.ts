// What Preparation, Extraction and Configuration ask of a PostgreSQL source: its version, the
// migrated schemas, the privileges of the migration role, its catalog and its free connections.
import { randomUUID } from 'node:crypto';
import { multiSchema, type Settings } from '../../api/settings.ts';
import type { Catalog } from '../../catalog/types.ts';
import {
  describeEndpoint,
  inTransaction,
  majorVersion,
  withClient,
  type Client,
  type Endpoint,
} from '../../db/connect.ts';
import { ConfigError } from '../../db/password.ts';
import { missingGrantsOn } from '../../db/privileges.ts';
import { schemaExists } from '../../db/schemas.ts';
import { privilegeError, sequenceNeeds, sourceNeedsOf } from '../../phases/privileges.ts';
import type { Prepared } from '../dialect.ts';
import { extractCatalog, extractSchemas } from './extract.ts';
import { selectedBySchema, selectedTables } from './select.ts';
import { UnreadableSequences } from './sequences.ts';

export const MIN_SOURCE_VERSION = 12;

export async function prepare(c: Client, e: Endpoint, s: Settings): Promise<Prepared> {
  const v = await majorVersion(c);
  if (v < MIN_SOURCE_VERSION)
    throw new ConfigError(
      `${describeEndpoint(e)}: PostgreSQL ${v} is not supported (${MIN_SOURCE_VERSION} or newer)`,
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
  return { server: `PostgreSQL ${v}`, postgresMajor: v, missing: await missingGrantsOn(c, e, needs) };
}

/** The catalog of the selected tables; sequences the role may not read are refused with their GRANTs. */
export async function extract(c: Client, e: Endpoint, s: Settings): Promise<Catalog> {
  try {
    if (multiSchema(s)) return await extractSchemas(c, s.schemas, await selectedBySchema(c, s));
    return await extractCatalog(c, s.source.schema, await selectedTables(c, s));
  } catch (err) {
    // Which sequences migrate is known only here, where their values are read (Preparation checked the rest).
    if (!(err instanceof UnreadableSequences)) throw err;
    throw privilegeError([await missingGrantsOn(c, e, sequenceNeeds(err.sequences))]) ?? err;
  }
}

/**
 * Whether both endpoints reach the same database, however the host is spelled (localhost,
 * 127.0.0.1, a DNS alias): a source session shows a random application_name for the length of a
 * transaction, and the target looks for it among its server's sessions, which every user may see.
 */
export async function sameDatabase(src: Client, target: Endpoint): Promise<boolean> {
  return inTransaction(src, async () => {
    const probe = `ferry-probe-${randomUUID()}`;
    const { rows } = await src.query<{ db: string }>(
      "SELECT set_config('application_name', $1, true), current_database() AS db",
      [probe],
    );
    return withClient(target, 'prepare', async (dst) => {
      const seen = await dst.query(
        'SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database() AND datname = $2',
        [probe, rows[0]!.db],
      );
      return seen.rowCount !== 0;
    });
  });
}

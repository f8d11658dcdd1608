// ferry's state on a PostgreSQL source: the shadow schema, marked as ferry's by its COMMENT, with a
// key/value table of state.
import type { Client } from '../../db/connect.ts';
import { quoteIdent } from '../../db/ident.ts';
import { markSchema, schemaMarker } from '../../db/schemas.ts';
import { parseMarker, SHADOW_MARKER, type Recorded } from '../../state/owner.ts';
import type { Identity } from '../../state/shadow.ts';
import { createStateTable, putState } from '../../state/table.ts';
import type { StoreInfo } from '../dialect.ts';

/** Every ferry shadow schema on the server, recognised by the marker ferry puts on it. */
export async function listShadowSchemas(c: Client): Promise<StoreInfo[]> {
  const { rows } = await c.query<{ schema: string; comment: string }>(
    `SELECT nspname AS schema, obj_description(oid, 'pg_namespace') AS comment
       FROM pg_namespace WHERE obj_description(oid, 'pg_namespace') LIKE $1 ORDER BY 1`,
    [`${SHADOW_MARKER} of migration %`],
  );
  return rows.flatMap((r) => {
    const owner = parseMarker(SHADOW_MARKER, r.comment);
    return owner ? [{ schema: r.schema, owner }] : [];
  });
}

export const shadowOwner = (c: Client, schema: string): Promise<Recorded | null | undefined> =>
  schemaMarker(c, schema, SHADOW_MARKER);

export async function createShadow(c: Client, schema: string, identity: Identity): Promise<void> {
  await c.query(`CREATE SCHEMA ${quoteIdent(schema)}`);
  await markSchema(c, schema, SHADOW_MARKER, identity);
  await createStateTable(c, schema);
  await putState(c, schema, 'identity', identity);
}

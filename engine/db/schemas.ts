// PostgreSQL schemas ferry creates and recognises by the marker in their COMMENT (state/owner.ts):
// the bookkeeping and target schemas on the target, the shadow schema on a PostgreSQL source.
import type { Client } from './connect.ts';
import { quoteIdent, quoteLiteral } from './ident.ts';
import { markerComment, parseMarker, type MarkerKind, type Recorded } from '../state/owner.ts';

/** The owner a schema's marker names; undefined when the schema does not exist, null when it carries no such marker. */
export async function schemaMarker(
  c: Client,
  schema: string,
  kind: MarkerKind,
): Promise<Recorded | null | undefined> {
  const { rows } = await c.query<{ comment: string | null }>(
    `SELECT obj_description(oid, 'pg_namespace') AS comment FROM pg_namespace WHERE nspname = $1`,
    [schema],
  );
  if (!rows[0]) return undefined;
  return parseMarker(kind, rows[0].comment) ?? null;
}

export async function markSchema(
  c: Client,
  schema: string,
  kind: MarkerKind,
  owner: Recorded,
): Promise<void> {
  await c.query(`COMMENT ON SCHEMA ${quoteIdent(schema)} IS ${quoteLiteral(markerComment(kind, owner))}`);
}

export async function schemaExists(c: Client, schema: string): Promise<boolean> {
  const { rowCount } = await c.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
  return rowCount === 1;
}

export async function dropSchema(c: Client, schema: string): Promise<void> {
  await c.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
}

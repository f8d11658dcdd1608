// The shadow schema on the source: ferry's own state (phase, catalog, plan, what it created on the
// target), never the application's data. Dropping it is the fallback on the source side.
import type { Client } from '../db/connect.ts';
import { qualified, quoteIdent, quoteLiteral } from '../db/ident.ts';

export const MARKER = 'ferry shadow schema';

export const shadowSchemaName = (migration: string) => `ferry_${migration.replaceAll('-', '_')}`;

export interface Identity {
  migration: string;
  /** The source schema and target location the migration was started for. */
  sourceSchema: string;
  target: string;
  /** Hash of the settings that shape the plan: a resumed run must not silently change them. */
  planHash: string;
}

export interface ShadowSchema {
  schema: string;
  migration: string;
}

/** Every ferry shadow schema on the server, recognised by the comment ferry puts on it. */
export async function listShadowSchemas(c: Client): Promise<ShadowSchema[]> {
  const { rows } = await c.query<{ schema: string; comment: string }>(
    `SELECT nspname AS schema, obj_description(oid, 'pg_namespace') AS comment
       FROM pg_namespace WHERE obj_description(oid, 'pg_namespace') LIKE $1 ORDER BY 1`,
    [`${MARKER} of migration %`],
  );
  return rows.map((r) => ({
    schema: r.schema,
    migration: r.comment.slice(`${MARKER} of migration `.length).split(';')[0]!,
  }));
}

export async function schemaExists(c: Client, schema: string): Promise<boolean> {
  const { rowCount } = await c.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
  return rowCount === 1;
}

export async function createShadow(c: Client, schema: string, identity: Identity): Promise<void> {
  await c.query(`CREATE SCHEMA ${quoteIdent(schema)}`);
  await c.query(
    `COMMENT ON SCHEMA ${quoteIdent(schema)} IS ${quoteLiteral(`${MARKER} of migration ${identity.migration}; drop it to fall back`)}`,
  );
  await c.query(
    `CREATE TABLE ${qualified(schema, 'state')} (key text PRIMARY KEY, value jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())`,
  );
  await putState(c, schema, 'identity', identity);
}

export async function getState<T>(c: Client, schema: string, key: string): Promise<T | undefined> {
  const { rows } = await c.query<{ value: T }>(
    `SELECT value FROM ${qualified(schema, 'state')} WHERE key = $1`,
    [key],
  );
  return rows[0]?.value;
}

export async function putState(c: Client, schema: string, key: string, value: unknown): Promise<void> {
  await c.query(
    `INSERT INTO ${qualified(schema, 'state')} (key, value) VALUES ($1, $2)
     ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`,
    [key, JSON.stringify(value)],
  );
}

export async function dropSchema(c: Client, schema: string): Promise<void> {
  await c.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
}

// The shadow schema on the source: ferry's own state (phase, catalog, plan, what it created on the
// target), never the application's data. Dropping it is the fallback on the source side.
import type { Client } from '../db/connect.ts';
import { qualified, quoteIdent, quoteLiteral } from '../db/ident.ts';
import {
  markerComment,
  parseMarker,
  SHADOW_MARKER,
  type MarkerKind,
  type Owner,
  type Recorded,
  ForeignShadowError,
  isOwnedBy,
  type Claimant,
} from './owner.ts';

export const shadowSchemaName = (migration: string) => `ferry_${migration.replaceAll('-', '_')}`;

/** What the shadow schema records about the migration: its owner, and the plan-shaping settings. */
export interface Identity extends Owner {
  /** Hash of the settings that shape the plan: a resumed run must not silently change them. */
  planHash: string;
}

/** The identity row an earlier ferry wrote: the target as host:port/database/schema. */
interface LegacyIdentity {
  migration: string;
  sourceSchema: string;
  target: string;
  planHash: string;
}

/** The stored identity, an earlier ferry's converted to today's shape (its owner stays name-only in the marker). */
export function readIdentity(stored: Identity | LegacyIdentity): Identity {
  if ('uid' in stored) return stored;
  const cut = stored.target.lastIndexOf('/');
  return {
    namespace: '',
    name: stored.migration,
    uid: '',
    source: '',
    sourceSchema: stored.sourceSchema,
    target: stored.target.slice(0, cut),
    targetSchema: stored.target.slice(cut + 1),
    planHash: stored.planHash,
  };
}

export interface ShadowSchema {
  schema: string;
  owner: Recorded;
}

/** Every ferry shadow schema on the server, recognised by the marker ferry puts on it. */
export async function listShadowSchemas(c: Client): Promise<ShadowSchema[]> {
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

/** The key-value state table (getState, putState): in the shadow schema, or in ferry import's bookkeeping. */
export async function createStateTable(c: Client, schema: string): Promise<void> {
  await c.query(
    `CREATE TABLE IF NOT EXISTS ${qualified(schema, 'state')} (key text PRIMARY KEY, value jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())`,
  );
}

export async function createShadow(c: Client, schema: string, identity: Identity): Promise<void> {
  await c.query(`CREATE SCHEMA ${quoteIdent(schema)}`);
  await markSchema(c, schema, SHADOW_MARKER, identity);
  await createStateTable(c, schema);
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

/**
 * The owner of the migration's shadow schema when it is this manifest's; undefined when there is none
 * or the schema carries no shadow marker (Checks names it). Another owner's is refused.
 */
export async function ownShadow(
  c: Client,
  schema: string,
  claimant: Claimant,
): Promise<Recorded | undefined> {
  const owner = await schemaMarker(c, schema, SHADOW_MARKER);
  if (!owner) return undefined;
  if (!isOwnedBy(owner, claimant)) throw new ForeignShadowError(schema, owner, claimant);
  return owner;
}

// Test helpers that describe a database completely enough to prove it unchanged: every object
// outside the system schemas, every trigger and event trigger, and an ordered digest of every
// table's rows. Independent of the engine's own checksum, so a test does not trust what it tests.
import pg from 'pg';
import { qualified, quoteIdent } from '../../engine/db/ident.ts';

export interface DatabaseSnapshot {
  objects: string[];
  triggers: string[];
  functions: string[];
  eventTriggers: string[];
  settings: string[];
  tables: Record<string, { rows: number; digest: string }>;
}

const USER_SCHEMAS = `n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND n.nspname NOT LIKE 'pg_temp%' AND n.nspname NOT LIKE 'pg_toast_temp%'`;

export async function snapshotDatabase(url: string): Promise<DatabaseSnapshot> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const col = async (sql: string) => (await c.query<{ x: string }>(sql)).rows.map((r) => r.x);
    const objects = await col(
      `SELECT n.nspname || '.' || c.relname || ':' || c.relkind::text AS x FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${USER_SCHEMAS}
       UNION ALL SELECT 'schema ' || nspname FROM pg_namespace n WHERE ${USER_SCHEMAS}
       UNION ALL SELECT 'type ' || n.nspname || '.' || t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE ${USER_SCHEMAS} AND t.typtype IN ('e', 'd', 'c') AND t.typrelid = 0
       ORDER BY 1`,
    );
    const triggers = await col(
      `SELECT tgrelid::regclass::text || ' ' || tgname AS x FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1`,
    );
    const functions = await col(
      `SELECT n.nspname || '.' || p.proname AS x FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE ${USER_SCHEMAS} ORDER BY 1`,
    );
    const eventTriggers = await col('SELECT evtname AS x FROM pg_event_trigger ORDER BY 1');
    const settings = await col(
      `SELECT coalesce(d.datname, '*') || ' ' || array_to_string(s.setconfig, ',') AS x FROM pg_db_role_setting s LEFT JOIN pg_database d ON d.oid = s.setdatabase ORDER BY 1`,
    );
    const tables: DatabaseSnapshot['tables'] = {};
    const { rows } = await c.query<{ schema: string; name: string }>(
      `SELECT n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE ${USER_SCHEMAS} AND c.relkind = 'r' ORDER BY 1, 2`,
    );
    for (const t of rows) tables[`${t.schema}.${t.name}`] = await tableDigest(c, t.schema, t.name);
    return { objects, triggers, functions, eventTriggers, settings, tables };
  } finally {
    await c.end();
  }
}

/** Count and digest of a table's own rows (ONLY: an inheritance parent without its children's). */
export async function tableDigest(
  c: pg.ClientBase,
  schema: string,
  table: string,
): Promise<{ rows: number; digest: string }> {
  await c.query("SET TimeZone = 'UTC'; SET extra_float_digits = 1; SET bytea_output = 'hex'");
  const { rows } = await c.query<{ n: string; d: string | null }>(
    `SELECT count(*)::text AS n, md5(string_agg(md5(t::text), '' ORDER BY md5(t::text))) AS d FROM ONLY ${qualified(schema, table)} t`,
  );
  return { rows: Number(rows[0]!.n), digest: rows[0]!.d ?? '' };
}

/** Per-table digests of one schema, keyed by table name, for comparing source and target. */
export async function schemaDigests(
  url: string,
  schema: string,
): Promise<Record<string, { rows: number; digest: string }>> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r' ORDER BY 1`,
      [schema],
    );
    const out: Record<string, { rows: number; digest: string }> = {};
    for (const t of rows) out[t.name] = await tableDigest(c, schema, t.name);
    return out;
  } finally {
    await c.end();
  }
}

/**
 * Every relation of a schema as the server describes it, keyed by name: kind, partition key and
 * bound, inheritance parents, columns in order with types and NOT NULL, and every constraint (NOT NULL
 * entries aside) and index with whether it is the relation's own or inherited. Comparing two of these
 * proves a rebuilt tree the same relation by relation, inherited pieces included.
 */
export async function schemaRelations(url: string, schema: string): Promise<Record<string, unknown>> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(`SET search_path = ${quoteIdent(schema)}`);
    const { rows } = await c.query<{ name: string } & Record<string, unknown>>(
      `SELECT c.relname AS name, c.relkind::text AS kind,
              CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partkey,
              pg_get_expr(c.relpartbound, c.oid) AS bound,
              array(SELECT p.relname FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent
                     WHERE i.inhrelid = c.oid ORDER BY i.inhseqno)::text[] AS parents,
              array(SELECT a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
                      FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                     ORDER BY a.attnum)::text[] AS columns,
              -- A foreign key to a partitioned table has a clone per referenced partition on the same
              -- table, named by the server (fkey1 up to 17, fkey_1 from 18): shown without the name.
              array(SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_constraint q WHERE q.oid = k.conparentid AND q.conrelid = k.conrelid)
                                THEN '(clone)' ELSE k.conname END
                           || ' ' || pg_get_constraintdef(k.oid) || CASE WHEN k.conislocal THEN '' ELSE ' (inherited)' END
                      FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype <> 'n' ORDER BY 1)::text[] AS constraints,
              array(SELECT pg_get_indexdef(i.indexrelid, 0, true)
                           || coalesce(' (of ' || (SELECT h.inhparent::regclass::text FROM pg_inherits h WHERE h.inhrelid = i.indexrelid) || ')', '')
                      FROM pg_index i WHERE i.indrelid = c.oid ORDER BY 1)::text[] AS indexes
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') ORDER BY 1`,
      [schema],
    );
    return Object.fromEntries(rows.map(({ name, ...r }) => [name, r]));
  } finally {
    await c.end();
  }
}

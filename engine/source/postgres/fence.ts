// The write fence on a PostgreSQL source (fence-ddl.ts): who holds uncommitted writes on the
// migrated tables, ending such sessions, and whether ferry's triggers still fire.
import type { Client } from '../../db/connect.ts';
import type { WriteHolder } from '../dialect.ts';

/** Modes that write to the source's application tables: what holds such a lock has uncommitted writes. */
const WRITE_LOCKS = ['RowExclusiveLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock'];

/**
 * Sessions of others holding write locks on the given tables (pg_locks needs no privilege);
 * `qualify` names the tables `schema.name` in what it returns.
 */
export async function writeHolders(
  c: Client,
  tables: readonly { schema: string; name: string }[],
  qualify: boolean,
): Promise<WriteHolder[]> {
  const { rows } = await c.query<{ pid: number; tables: string[] }>(
    `SELECT l.pid, array_agg(DISTINCT CASE WHEN $4 THEN n.nspname || '.' || r.relname ELSE r.relname END
                             ORDER BY CASE WHEN $4 THEN n.nspname || '.' || r.relname ELSE r.relname END)::text[] AS tables
       FROM pg_locks l JOIN pg_class r ON r.oid = l.relation JOIN pg_namespace n ON n.oid = r.relnamespace
      WHERE l.granted AND l.mode = ANY($3) AND l.pid <> pg_backend_pid()
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND (n.nspname, r.relname) IN (SELECT * FROM unnest($1::text[], $2::text[]))
      GROUP BY l.pid ORDER BY l.pid`,
    [tables.map((t) => t.schema), tables.map((t) => t.name), WRITE_LOCKS, qualify],
  );
  return rows.map((r) => ({ id: String(r.pid), name: `pid ${r.pid}`, tables: r.tables }));
}

/** Ends a session where the migration role may (pg_signal_backend, or its own); false where it may not. */
export async function terminate(c: Client, pid: string): Promise<boolean> {
  try {
    return (await c.query<{ ok: boolean }>('SELECT pg_terminate_backend($1) AS ok', [Number(pid)])).rows[0]!
      .ok;
  } catch (err) {
    if ((err as { code?: string }).code === '42501') return false;
    throw err;
  }
}

/** A trigger of ferry's on a table: `schema` when the table is not in the default schema given alongside. */
export interface ExpectedTrigger {
  schema?: string;
  table: string;
  trigger: string;
}

/**
 * ferry's triggers that are missing or disabled on the given tables (the tables' owner can disable
 * them: then changes go unrecorded or the fence is open, and the run must stop rather than be wrong).
 */
export async function triggersNotFiring(
  src: Client,
  schema: string,
  expected: ExpectedTrigger[],
): Promise<string[]> {
  const { rows } = await src.query<{ table: string; trigger: string }>(
    `SELECT CASE WHEN e.sch IS NULL THEN e.tbl ELSE e.sch || '.' || e.tbl END AS table, e.trg AS trigger
       FROM unnest($2::text[], $3::text[], $4::text[]) AS e(tbl, trg, sch)
      WHERE NOT EXISTS (SELECT 1 FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                         WHERE n.nspname = coalesce(e.sch, $1) AND c.relname = e.tbl AND g.tgname = e.trg
                           AND g.tgenabled IN ('O', 'A'))`,
    [
      schema,
      expected.map((e) => e.table),
      expected.map((e) => e.trigger),
      expected.map((e) => e.schema ?? null),
    ],
  );
  return rows.map((r) => `${r.trigger} on ${r.table}`);
}

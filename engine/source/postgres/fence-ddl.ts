// The write fence on the source, as SQL. Pure.
//
// Every migrated table carries a BEFORE statement trigger (INSERT, UPDATE, DELETE, TRUNCATE) that
// calls one function in the shadow schema. While the source is open, the function does nothing.
// To put the fence up, ferry replaces the function's body (CREATE OR REPLACE: no lock on the
// application's tables, effective for the next statement of every session) with one that refuses
// the statement; lowering it puts the no-op back. Unlike default_transaction_read_only, a trigger
// cannot be overridden by a role or session setting or by BEGIN READ WRITE: only by a superuser
// (session_replication_role = replica) or by the tables' owner disabling it, which ferry detects.
// `detect` is for a source the user guarantees quiet: writes are let through but noted, and the run
// fails naming the tables rather than produce a target that silently differs.
import type { Table } from '../../catalog/types.ts';
import { qualified, quoteIdent, quoteLiteral } from '../../db/ident.ts';
import { SAFE_PATH } from './record.ts';
import type { FenceState } from '../dialect.ts';

export const FENCE_FN = 'fence';
export const WRITES_SEEN = 'writes_seen';

export const fenceTriggerName = (migration: string) => `ferry_${migration.replaceAll('-', '_')}_fence`;

function body(shadow: string, migration: string, state: FenceState): string {
  if (state === 'open') return 'RETURN NULL;';
  if (state === 'detect')
    return `INSERT INTO ${qualified(shadow, WRITES_SEEN)} (tbl) VALUES (TG_TABLE_NAME) ON CONFLICT DO NOTHING;
       RETURN NULL;`;
  // 25006 read_only_sql_transaction: what an application sees from a read-only server too.
  return `RAISE EXCEPTION USING ERRCODE = 'read_only_sql_transaction',
         MESSAGE = format('ferry: %I.%I is fenced for the downtime of migration %s; writes are refused until it completes or falls back', TG_TABLE_SCHEMA, TG_TABLE_NAME, ${quoteLiteral(migration)});`;
}

/**
 * The fence function in a given state; CREATE OR REPLACE keeps its owner and grants. Open, it runs
 * before every write in uptime and names nothing: neither definer nor pinned search_path, whose
 * switching would cost every write.
 */
export function fenceFunctionDdl(shadow: string, migration: string, state: FenceState): string {
  const security = state === 'open' ? '' : ` SECURITY DEFINER ${SAFE_PATH}`;
  return `CREATE OR REPLACE FUNCTION ${qualified(shadow, FENCE_FN)}() RETURNS trigger LANGUAGE plpgsql${security} AS $fn$
     BEGIN
       ${body(shadow, migration, state)}
     END $fn$`;
}

/**
 * What PreProcessing creates: the table of detected writes, the open fence, and its triggers (on
 * `sourceSchema`, or the table's own schema in a multi-schema catalog).
 */
export function fenceDdl(
  shadow: string,
  migration: string,
  sourceSchema: string,
  tables: readonly Table[],
): string[] {
  const fn = qualified(shadow, FENCE_FN);
  return [
    `CREATE TABLE ${qualified(shadow, WRITES_SEEN)} (tbl text PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())`,
    fenceFunctionDdl(shadow, migration, 'open'),
    `REVOKE EXECUTE ON FUNCTION ${fn}() FROM PUBLIC`,
    ...tables.map(
      (t) =>
        `CREATE TRIGGER ${quoteIdent(fenceTriggerName(migration))} BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON ${qualified(t.schema ?? sourceSchema, t.name)} FOR EACH STATEMENT EXECUTE FUNCTION ${fn}()`,
    ),
  ];
}

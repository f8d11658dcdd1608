// Recording changes in uptime (DMO's record-and-replay, as SAP's SLT and Bucardo do it): a trigger on
// every uptime table logs only WHICH row changed (table, operation, key), never its values; the
// replayer re-reads the rows' current values from the source with COPY, so every value travels the
// same exact path as the bulk copy. TRUNCATE, which fires no row trigger, is logged by a statement
// trigger. No logical decoding, so the same design carries to SQL Server and MySQL sources.
//
// The trigger functions are SECURITY DEFINER, owned by ferry's migration role, with every object
// qualified: the application writes through them without any grant on ferry's schema, and nobody
// can hijack them with objects of their own. The TRUNCATE recorder also pins its search_path; the
// row recorders, which run on every write, do not (pinning one costs a configuration change and
// back on every call): their bodies name every relation, type and operator with its schema, so the
// writer's search_path resolves nothing in them. They live in the shadow schema: dropping it
// (fallback, or the end of the cutover) drops the triggers with it.
import { tableKey } from '../../catalog/schemas.ts';
import type { Table } from '../../catalog/types.ts';
import { recordsRows } from '../../catalog/relations.ts';
import { RENDERING } from '../../db/connect.ts';
import { qualified, quoteIdent, quoteLiteral } from '../../db/ident.ts';

export const LOG_TABLE = 'change_log';
const TRUNCATE_FN = 'record_truncate';
const GUARD_FN = 'guard_ddl';

const migrationTag = (migration: string) => `ferry_${migration.replaceAll('-', '_')}`;
export const triggerName = (migration: string) => `${migrationTag(migration)}_record`;
export const truncateTriggerName = (migration: string) => `${migrationTag(migration)}_truncate`;
export const eventTriggerName = (shadow: string) => `${shadow}_guard_ddl`;
/** One recording function per table (its key columns are compiled in): `record_<n>`, n its catalog position. */
export const recordFunction = (index: number) => `record_${index}`;

/** The search_path ferry's functions on the source pin, except those on the application's write path. */
export const SAFE_PATH = 'SET search_path = pg_catalog, pg_temp';

/** Types whose text form depends on no setting: their keys need no pinned rendering settings. */
const PLAIN_TYPES = new Set([
  'smallint',
  'integer',
  'bigint',
  'numeric',
  'text',
  'character varying',
  'character',
  'uuid',
  'boolean',
  '"char"',
  'name',
  'oid',
  'inet',
  'cidr',
  'macaddr',
  'macaddr8',
  'bit',
  'bit varying',
]);
const SETTINGS_OF: Record<string, string[]> = {
  date: ['DateStyle'],
  'timestamp without time zone': ['DateStyle'],
  'timestamp with time zone': ['DateStyle', 'TimeZone'],
  'time without time zone': ['DateStyle'],
  'time with time zone': ['DateStyle'],
  interval: ['IntervalStyle'],
  real: ['extra_float_digits'],
  'double precision': ['extra_float_digits'],
  bytea: ['bytea_output'],
};

/**
 * The rendering settings a table's key columns need pinned so that the key's text reads back exactly
 * whatever the writing session set (its DateStyle, extra_float_digits...). Pinning costs a little on
 * every write, so plain keys (integers, uuid, text) pin nothing. Pure.
 */
export function keyRenderingSettings(keyTypes: readonly string[]): string[] {
  const needed = new Set<string>();
  for (const type of keyTypes) {
    const base = type.replace(/\[\]$/, '').replace(/\(.*\)/, '');
    if (PLAIN_TYPES.has(base)) continue;
    for (const s of SETTINGS_OF[base] ?? Object.keys(RENDERING)) needed.add(s);
  }
  return Object.keys(RENDERING).filter((s) => needed.has(s));
}

const definer = (settings: readonly string[]) =>
  ['SECURITY DEFINER', ...settings.map((s) => `SET ${s} = ${quoteLiteral(RENDERING[s]!)}`)].join(' ');

/** The log table and the TRUNCATE recorder shared by every table. */
export function recorderDdl(shadow: string): string[] {
  const log = qualified(shadow, LOG_TABLE);
  const fn = qualified(shadow, TRUNCATE_FN);
  return [
    // No index: the application's writes only append; the replayer reads it whole.
    `CREATE TABLE ${log} (
       tbl text NOT NULL,
       op "char" NOT NULL,
       key text[],
       at timestamptz NOT NULL DEFAULT clock_timestamp())`,
    `CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER ${SAFE_PATH} AS $fn$
     BEGIN
       INSERT INTO ${log} (tbl, op) VALUES (TG_ARGV[0], 'T');
       RETURN NULL;
     END $fn$`,
    `REVOKE EXECUTE ON FUNCTION ${fn}() FROM PUBLIC`,
  ];
}

/**
 * The recording function and triggers of one table. Row changes are recorded on plain tables and on
 * the roots of partition trees (the root's row trigger is cloned to every partition, and the change
 * is logged under the root, which the replay reads through); TRUNCATE on every table, partitions
 * included (statement triggers are not cloned, and a partition can be truncated alone).
 */
export function tableRecorderDdl(
  shadow: string,
  migration: string,
  sourceSchema: string,
  t: Table,
  index: number,
): string[] {
  // Logged under the table's key (schemas.ts): its name, or `schema.name` with several schemas.
  const on = qualified(t.schema ?? sourceSchema, t.name);
  const truncate = `CREATE TRIGGER ${quoteIdent(truncateTriggerName(migration))} AFTER TRUNCATE ON ${on} FOR EACH STATEMENT EXECUTE FUNCTION ${qualified(shadow, TRUNCATE_FN)}(${quoteLiteral(tableKey(t))})`;
  if (!recordsRows(t)) return [truncate];
  const log = qualified(shadow, LOG_TABLE);
  const fn = qualified(shadow, recordFunction(index));
  const types = t.key.map((k) => t.columns.find((c) => c.name === k)?.type ?? 'text');
  // No search_path is pinned (see the top): types and operators are named with their schema.
  const key = (rec: string) =>
    `ARRAY[${t.key.map((k) => `${rec}.${quoteIdent(k)}::pg_catalog.text`).join(', ')}]`;
  const insert = (op: string, rec: string) =>
    `INSERT INTO ${log} (tbl, op, key) VALUES (${quoteLiteral(tableKey(t))}, '${op}', ${key(rec)});`;
  const is = (op: string) => `TG_OP OPERATOR(pg_catalog.=) '${op}'`;
  return [
    // A key change logs the new key too. Keys are compared as the text the replay finds rows by
    // (rendered under pinned settings): keys with the same text are one key to the replay.
    `CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql ${definer(keyRenderingSettings(types))} AS $fn$
     BEGIN
       IF ${is('UPDATE')} THEN
         ${insert('U', 'OLD')}
         IF ${key('NEW')} OPERATOR(pg_catalog.<>) ${key('OLD')} THEN
           ${insert('U', 'NEW')}
         END IF;
       ELSIF ${is('INSERT')} THEN
         ${insert('I', 'NEW')}
       ELSE
         ${insert('D', 'OLD')}
       END IF;
       RETURN NULL;
     END $fn$`,
    `REVOKE EXECUTE ON FUNCTION ${fn}() FROM PUBLIC`,
    `CREATE TRIGGER ${quoteIdent(triggerName(migration))} AFTER INSERT OR UPDATE OR DELETE ON ${on} FOR EACH ROW EXECUTE FUNCTION ${fn}()`,
    truncate,
  ];
}

/**
 * An event trigger (superuser only) that refuses schema changes to the tables being replayed: such
 * a change would corrupt the replay. Where it cannot be installed, the replayer detects changes instead.
 */
export function ddlGuardDdl(
  shadow: string,
  migration: string,
  tables: readonly { schema: string; name: string }[],
): string[] {
  // object_identity quotes names only where needed, as quote_ident does: compare in the same form.
  const names = `ARRAY[${tables.map((t) => `quote_ident(${quoteLiteral(t.schema)}) || '.' || quote_ident(${quoteLiteral(t.name)})`).join(', ')}]`;
  return [
    `CREATE FUNCTION ${qualified(shadow, GUARD_FN)}() RETURNS event_trigger LANGUAGE plpgsql ${SAFE_PATH} AS $fn$
     DECLARE r record; n text;
     BEGIN
       FOR r IN SELECT * FROM pg_event_trigger_ddl_commands() LOOP
         FOREACH n IN ARRAY ${names} LOOP
           IF r.object_identity = n OR starts_with(r.object_identity, n || '.') THEN
             RAISE EXCEPTION 'ferry: table % is being migrated by % (downtime-optimized); schema changes are blocked until cutover or fallback',
               n, ${quoteLiteral(migration)};
           END IF;
         END LOOP;
       END LOOP;
     END $fn$`,
    `CREATE EVENT TRIGGER ${quoteIdent(eventTriggerName(shadow))} ON ddl_command_end EXECUTE FUNCTION ${qualified(shadow, GUARD_FN)}()`,
  ];
}

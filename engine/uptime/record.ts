// Recording changes in uptime (DMO's record-and-replay): plain row triggers on every uptime table
// write each insert, update and delete to a log table in the shadow schema, ordered by a sequence.
// No logical decoding, so the same design carries to SQL Server and MySQL sources. The trigger
// function lives in the shadow schema: dropping the schema (fallback, or the end of the cutover)
// drops the triggers with it.
import type { Table } from '../catalog/types.ts';
import { qualified, quoteIdent, quoteLiteral } from '../db/ident.ts';

export const LOG_TABLE = 'change_log';
const RECORD_FN = 'record_change';
const GUARD_FN = 'guard_ddl';

export function triggerName(migration: string): string {
  return `ferry_${migration.replaceAll('-', '_')}_record`;
}

export function eventTriggerName(shadow: string): string {
  return `${shadow}_guard_ddl`;
}

/** The log table and the trigger function; the table name and key columns come as trigger arguments. */
export function recorderDdl(shadow: string): string[] {
  const log = qualified(shadow, LOG_TABLE);
  return [
    `CREATE TABLE ${log} (
       seq bigserial PRIMARY KEY,
       tbl text NOT NULL,
       op "char" NOT NULL,
       old_key jsonb,
       new_row jsonb,
       at timestamptz NOT NULL DEFAULT clock_timestamp())`,
    `CREATE FUNCTION ${qualified(shadow, RECORD_FN)}() RETURNS trigger LANGUAGE plpgsql AS $fn$
     DECLARE
       keys text[] := TG_ARGV[1:];
       old_key jsonb;
     BEGIN
       IF TG_OP <> 'INSERT' THEN
         SELECT jsonb_object_agg(k, to_jsonb(OLD) -> k) INTO old_key FROM unnest(keys) AS k;
       END IF;
       INSERT INTO ${log} (tbl, op, old_key, new_row)
       VALUES (TG_ARGV[0], left(TG_OP, 1), old_key, CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE to_jsonb(NEW) END);
       RETURN NULL;
     END $fn$`,
  ];
}

export function triggerDdl(shadow: string, migration: string, sourceSchema: string, t: Table): string {
  const args = [t.name, ...t.key].map(quoteLiteral).join(', ');
  return (
    `CREATE TRIGGER ${quoteIdent(triggerName(migration))} AFTER INSERT OR UPDATE OR DELETE ON ${qualified(sourceSchema, t.name)} ` +
    `FOR EACH ROW EXECUTE FUNCTION ${qualified(shadow, RECORD_FN)}(${args})`
  );
}

/**
 * An event trigger (superuser only) that refuses schema changes to the tables being replayed: such
 * a change would corrupt the replay. Where it cannot be installed, the replayer detects changes instead.
 */
export function ddlGuardDdl(
  shadow: string,
  migration: string,
  sourceSchema: string,
  tables: string[],
): string[] {
  // object_identity quotes names only where needed, as quote_ident does: compare in the same form.
  const names = `ARRAY[${tables.map((t) => `quote_ident(${quoteLiteral(sourceSchema)}) || '.' || quote_ident(${quoteLiteral(t)})`).join(', ')}]`;
  return [
    `CREATE FUNCTION ${qualified(shadow, GUARD_FN)}() RETURNS event_trigger LANGUAGE plpgsql AS $fn$
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

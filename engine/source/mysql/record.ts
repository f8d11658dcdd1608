// Recording changes on a MySQL/MariaDB source (DowntimeOptimized), as on PostgreSQL: AFTER INSERT,
// UPDATE and DELETE row triggers log WHICH row changed, never its values, into a log table per
// table in ferry's database (`log_<n>`, n the table's catalog position), whose key columns have the
// table's own key types, charsets and collations, so the replay re-reads the rows by an indexed join.
// An UPDATE that changes the key logs the old and the new key; "changes" compares bytes, not the
// collation (which may call 'a' and 'A' equal). The trigger writes in the application's transaction:
// its entry commits or rolls back with the change. MySQL fires no trigger on TRUNCATE nor on the
// rows a cascading foreign key changes: the first is detected (fence.ts), the second refused.
import type { Table } from '../../catalog/types.ts';
import { mysqlLiteral } from './connect.ts';
import { EVENTS, triggerName } from './fence.ts';
import { mysqlIdent } from './read.ts';
import { mysqlQualified } from './store.ts';

export const logTable = (index: number) => `log_${index}`;
/** The log's column for the j-th key column (the table's own names could clash with id, op, at). */
export const logKey = (j: number) => `k${j}`;

/** A key column's definition as information_schema.COLUMNS has it. */
export interface KeyColumn {
  name: string;
  columnType: string;
  charset: string | null;
  collation: string | null;
}

export function logTableDdl(store: string, index: number, key: readonly KeyColumn[]): string {
  const cols = key.map(
    (k, j) =>
      `${mysqlIdent(logKey(j))} ${k.columnType}${k.charset ? ` CHARACTER SET ${k.charset}` : ''}${k.collation ? ` COLLATE ${k.collation}` : ''} NOT NULL`,
  );
  return `CREATE TABLE ${mysqlQualified(store, logTable(index))} (
     id bigint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY,
     op char(1) NOT NULL,
     ${cols.join(',\n     ')},
     at timestamp(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)) ENGINE=InnoDB`;
}

/** The three recording triggers of one table. */
export function recorderTriggersDdl(store: string, database: string, t: Table, index: number): string[] {
  const log = mysqlQualified(store, logTable(index));
  const cols = t.key.map((_, j) => mysqlIdent(logKey(j))).join(', ');
  const insert = (op: string, row: 'NEW' | 'OLD') =>
    `INSERT INTO ${log} (op, ${cols}) VALUES (${mysqlLiteral(op)}, ${t.key.map((k) => `${row}.${mysqlIdent(k)}`).join(', ')});`;
  const keyMoved = t.key
    .map((k) => `NOT (BINARY NEW.${mysqlIdent(k)} <=> BINARY OLD.${mysqlIdent(k)})`)
    .join(' OR ');
  const body: Record<string, string> = {
    i: insert('I', 'NEW'),
    d: insert('D', 'OLD'),
    u: `${insert('U', 'OLD')}
        IF ${keyMoved} THEN
          ${insert('U', 'NEW')}
        END IF;`,
  };
  return EVENTS.map(
    ([e, event]) =>
      `CREATE TRIGGER ${mysqlQualified(database, triggerName(store, 'a', e, index))} AFTER ${event} ON ${mysqlQualified(database, t.name)} FOR EACH ROW
       BEGIN
         ${body[e]}
       END`,
  );
}

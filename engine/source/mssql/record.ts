// Recording changes on a SQL Server source (DowntimeOptimized), as on PostgreSQL and MySQL: ferry's
// trigger on each recorded table (fence.ts: the fence's trigger records too, one trigger firing per
// statement instead of two) logs WHICH rows changed, never their values, into a log table per table
// in the shadow schema (`log_<n>`, n the table's catalog position) whose key columns have the
// table's own key types and collations, so the replay re-reads the rows by an indexed join.
//
// SQL Server fires the trigger once per statement (MERGE included) with every row in `inserted`
// and `deleted`. Old and new rows cannot be paired, so the trigger logs every old key and every new
// key not among the old ones. "Among" compares bytes, not the collation or SQL Server's padding
// rules (which call 'a' and 'A', or 0x01 and 0x0100, equal, where PostgreSQL does not).
//
// TRUNCATE fires no trigger: each table with a key gets a guard, an always empty shadow table with
// a FOREIGN KEY to that key, so that SQL Server refuses TRUNCATE TABLE (and DROP TABLE, partition
// SWITCH) while ferry's store exists; fence.ts's bypassed() reports a guard that went missing.
import type { Table } from '../../catalog/types.ts';
import { mssqlInfo, type MssqlColumnInfo, type MssqlType } from './column.ts';
import { mssqlIdent, mssqlQualified } from './connect.ts';

export const logTable = (index: number) => `log_${index}`;
export const guardTable = (index: number) => `guard_${index}`;
export const guardKey = (index: number) => `guard_${index}_key`;
/** The log's column for the j-th key column (the table's own names could clash with id and at). */
export const logKey = (j: number) => `k${j}`;

/** A key column of a table: its name and SQL Server type, from the catalog. */
export interface KeyColumn {
  name: string;
  info: MssqlColumnInfo;
}

export function keyColumns(t: Table): KeyColumn[] {
  if (!t.key.length) throw new Error(`internal: table ${t.name} has no key to record changes by`);
  return t.key.map((k) => {
    const col = t.columns.find((c) => c.name === k);
    if (!col) throw new Error(`internal: key column ${k} is not a column of ${t.name}`);
    return { name: k, info: mssqlInfo(col) };
  });
}

const SQL_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

/** A column's type as T-SQL declares it, its collation included: the log's copy of a key column. */
export function columnTypeSql(type: MssqlType): string {
  if (!SQL_NAME.test(type.name)) throw new Error(`internal: unexpected SQL Server type name ${type.name}`);
  const size = (n: number) => (type.maxLength === -1 ? 'max' : String(n));
  const name = type.name.toLowerCase();
  let sql: string;
  switch (name) {
    case 'char':
    case 'varchar':
    case 'binary':
    case 'varbinary':
      sql = `${name}(${size(type.maxLength)})`;
      break;
    case 'nchar':
    case 'nvarchar':
      sql = `${name}(${size(type.maxLength / 2)})`;
      break;
    case 'decimal':
    case 'numeric':
      sql = `${name}(${type.precision}, ${type.scale})`;
      break;
    case 'datetime2':
    case 'datetimeoffset':
    case 'time':
      sql = `${name}(${type.scale})`;
      break;
    case 'float':
      sql = `float(${type.precision})`;
      break;
    case 'timestamp':
    case 'rowversion':
      // A rowversion column cannot be inserted into: its 8 bytes are kept as they are.
      sql = 'binary(8)';
      break;
    default:
      sql = name;
  }
  if (type.collation === null) return sql;
  if (!SQL_NAME.test(type.collation))
    throw new Error(`internal: unexpected SQL Server collation name ${type.collation}`);
  return `${sql} COLLATE ${type.collation}`;
}

/** Whether values compare by more than their bytes (collations, trailing-zero padding of binary). */
const comparesLoosely = (info: MssqlColumnInfo) => info.encoding === 'text' || info.encoding === 'bytea';

/** `a` and `b` (expressions of one key column's type) hold the same value, byte for byte where it matters. */
export function exactEquals(a: string, b: string, info: MssqlColumnInfo): string {
  if (!comparesLoosely(info)) return `${a} = ${b}`;
  return `CONVERT(varbinary(8000), ${a}) = CONVERT(varbinary(8000), ${b}) AND DATALENGTH(${a}) = DATALENGTH(${b})`;
}

/** What GROUP BY needs to tell apart the values exactEquals tells apart. */
export function exactGroup(expr: string, info: MssqlColumnInfo): string[] {
  return comparesLoosely(info) ? [expr, `CONVERT(varbinary(8000), ${expr})`, `DATALENGTH(${expr})`] : [expr];
}

/** The log table of a recorded table: entry id, the key, when it was logged (lag()). */
export function logTableDdl(store: string, t: Table, index: number): string {
  const cols = keyColumns(t).map((k, j) => `${mssqlIdent(logKey(j))} ${columnTypeSql(k.info.type)} NOT NULL`);
  return `CREATE TABLE ${mssqlQualified(store, logTable(index))} (
     id bigint IDENTITY(1, 1) NOT NULL PRIMARY KEY,
     ${cols.join(',\n     ')},
     [at] datetime2(7) NOT NULL DEFAULT SYSUTCDATETIME())`;
}

/**
 * The TRUNCATE guard of a table: empty, keyed like the table, with a foreign key to exactly the
 * table's key columns (its primary key or a unique index over them). It stays empty, so the foreign
 * key never refuses a write of the application; a DELETE checks it with one index seek per row.
 */
export function guardDdl(store: string, schema: string, t: Table, index: number): string {
  const key = keyColumns(t);
  const cols = key.map((k, j) => `${mssqlIdent(logKey(j))} ${columnTypeSql(k.info.type)} NOT NULL`);
  const mine = key.map((_, j) => mssqlIdent(logKey(j))).join(', ');
  return `CREATE TABLE ${mssqlQualified(store, guardTable(index))} (
     ${cols.join(',\n     ')},
     CONSTRAINT ${mssqlIdent(`${guardTable(index)}_pk`)} PRIMARY KEY (${mine}),
     CONSTRAINT ${mssqlIdent(guardKey(index))} FOREIGN KEY (${mine})
       REFERENCES ${mssqlQualified(schema, t.name)} (${key.map((k) => mssqlIdent(k.name)).join(', ')}))`;
}

/**
 * The trigger's recording statement: every key in `deleted` (old rows), and every key in
 * `inserted` (new rows) that is not byte for byte an old one. An INSERT has no old rows, a DELETE no
 * new ones; an UPDATE that moves a key logs the old and the new.
 */
export function recordSql(store: string, t: Table, index: number): string {
  const key = keyColumns(t);
  const cols = key.map((_, j) => mssqlIdent(logKey(j))).join(', ');
  const of = (alias: string) => key.map((k) => `${alias}.${mssqlIdent(k.name)}`).join(', ');
  const same = key
    .map((k) => exactEquals(`o.${mssqlIdent(k.name)}`, `n.${mssqlIdent(k.name)}`, k.info))
    .join(' AND ');
  return `INSERT INTO ${mssqlQualified(store, logTable(index))} (${cols})
    SELECT ${of('o')} FROM deleted AS o
    UNION ALL
    SELECT ${of('n')} FROM inserted AS n WHERE NOT EXISTS (SELECT 1 FROM deleted AS o WHERE ${same});`;
}

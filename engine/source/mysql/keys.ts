// Keys of replayed rows between MySQL and PostgreSQL. The replay hands the target each changed key as
// text (its batch keys, uptime/replay.ts), which the target casts to the column's PostgreSQL type;
// the cutover's validation hands those texts back to MySQL. So each key column needs its value
// rendered as the text PostgreSQL reads for its target type, and that text read back as the MySQL
// value, exactly. Pure: SQL expressions only. Key types without such a round trip are refused for
// DowntimeOptimized (keyRefusal).
import type { Column } from '../../catalog/types.ts';
import { mysqlInfo } from './catalog.ts';

/** Why a column cannot be a key the replay re-reads by, or undefined when it can. */
export function keyRefusal(col: Column): string | undefined {
  const { type, encoding } = mysqlInfo(col);
  switch (encoding.kind) {
    case 'number':
    case 'date':
    case 'text':
    case 'bytes':
      return undefined;
    default:
      return `its type ${type.columnType} cannot key the replay (keys of numbers, text, bytes, dates and timestamps can)`;
  }
}

/** MySQL: the value of `expr` (the column's type) as the text PostgreSQL reads for the column's target type. */
export function keyText(col: Column, expr: string): string {
  const { type, encoding: e } = mysqlInfo(col);
  switch (e.kind) {
    case 'number':
      return `CAST(${expr} AS CHAR)`;
    case 'date':
      return type.dataType.toLowerCase() === 'date'
        ? `DATE_FORMAT(${expr}, '%Y-%m-%d')`
        : `CONCAT(DATE_FORMAT(${expr}, '%Y-%m-%d %H:%i:%s.%f')${e.utc ? ", '+00'" : ''})`;
    case 'text':
      return `CONVERT(${expr} USING utf8mb4)`;
    case 'bytes':
      return e.as === 'bytea' ? `CONCAT('\\\\x', LOWER(HEX(${expr})))` : `LOWER(HEX(${expr}))`;
    default:
      throw new Error(`internal: column ${col.name} cannot key the replay`);
  }
}

/** MySQL: a key text (keyText's) back as a value to compare with the column. */
export function keyValue(col: Column, text: string): string {
  const { type, encoding: e } = mysqlInfo(col);
  switch (e.kind) {
    case 'number':
      return `CAST(${text} AS DECIMAL(65,30))`;
    case 'date':
      return type.dataType.toLowerCase() === 'date'
        ? `CAST(${text} AS DATE)`
        : `CAST(${e.utc ? `LEFT(${text}, CHAR_LENGTH(${text}) - 3)` : text} AS DATETIME(6))`;
    case 'text':
      return `CONVERT(${text} USING ${type.charset ?? 'utf8mb4'})`;
    case 'bytes':
      return e.as === 'bytea' ? `UNHEX(SUBSTRING(${text}, 3))` : `UNHEX(REPLACE(${text}, '-', ''))`;
    default:
      throw new Error(`internal: column ${col.name} cannot key the replay`);
  }
}

/**
 * A key column equal to a value, exactly: text compares under the column's collation (which may
 * ignore case or trailing spaces), so the bytes must match too.
 */
export function keyEquals(col: Column, column: string, value: string): string {
  return mysqlInfo(col).encoding.kind === 'text'
    ? `${column} = ${value} AND BINARY ${column} = BINARY ${value}`
    : `${column} = ${value}`;
}

import { describe, expect, it } from 'vitest';
import { column, table } from '../../../test/support/catalog.ts';
import type { Column, Table } from '../../catalog/types.ts';
import type { MysqlColumn } from './catalog.ts';
import { keyRow } from '../key-row.ts';
import { keyRefusal, keyText, keyValue } from './keys.ts';
import { recorderTriggersDdl } from './record.ts';
import { idRuns } from './replay.ts';
import { unrecordable } from './dialect.ts';
import type { Encoding } from './types.ts';

const mysqlColumn = (
  name: string,
  type: string,
  columnType: string,
  encoding: Encoding,
  charset: string | null = null,
): Column =>
  ({
    ...column(name, { type }),
    mysql: { type: { dataType: columnType.split('(')[0]!, columnType, charset }, encoding },
  }) as MysqlColumn;

const id = mysqlColumn('id', 'bigint', 'bigint(20)', { kind: 'number' });
const name = mysqlColumn(
  'name',
  'character varying(40)',
  'varchar(40)',
  { kind: 'text', charset: 'latin1' },
  'latin1',
);
const at = mysqlColumn('at', 'timestamp(6) with time zone', 'timestamp(6)', { kind: 'date', utc: true });
const data = mysqlColumn('data', 'bytea', 'varbinary(16)', { kind: 'bytes', as: 'bytea' });
const score = mysqlColumn('score', 'double precision', 'double', { kind: 'float' });

describe('the MySQL replay', () => {
  it('forgets exactly the ids a snapshot showed: consecutive ids as runs, the gaps of open transactions kept', () => {
    expect(idRuns([1n, 2n, 3n, 5n, 6n, 9n])).toEqual([
      ['1', '3'],
      ['5', '6'],
      ['9', '9'],
    ]);
    expect(idRuns([18446744073709551614n, 18446744073709551615n])).toEqual([
      ['18446744073709551614', '18446744073709551615'],
    ]);
    expect(idRuns([])).toEqual([]);
  });

  it('hands the target each key as the text PostgreSQL reads for its type, and reads it back', () => {
    expect(keyText(at, 'k0')).toBe("CONCAT(DATE_FORMAT(k0, '%Y-%m-%d %H:%i:%s.%f'), '+00')");
    expect(keyValue(at, 'v')).toBe('CAST(LEFT(v, CHAR_LENGTH(v) - 3) AS DATETIME(6))');
    expect(keyText(data, 'k0')).toBe("CONCAT('\\\\x', LOWER(HEX(k0)))");
    expect(keyValue(data, 'v')).toBe('UNHEX(SUBSTRING(v, 3))');
    expect(keyValue(name, 'v')).toBe('CONVERT(v USING latin1)');
    expect(keyValue(id, 'v')).toBe('CAST(v AS DECIMAL(65,30))');
    expect(keyRefusal(score)).toMatch(/its type double cannot key the replay/);
  });

  it('writes batch keys as COPY text of a text[]: quoted elements, escapes for COPY', () => {
    expect(keyRow('tags', ['a "b"', 'c\\d', 'e\tf'])).toBe('tags\t{"a \\\\"b\\\\"","c\\\\\\\\d","e\\tf"}\n');
  });

  it('logs the old and, when its bytes change, the new key of an update', () => {
    const t: Table = { ...table('tags'), columns: [name], key: ['name'] };
    const [, update] = recorderTriggersDdl('ferry_m', 'shop', t, 4);
    expect(update).toContain('AFTER UPDATE ON `shop`.`tags`');
    expect(update).toContain("INSERT INTO `ferry_m`.`log_4` (op, `k0`) VALUES ('U', OLD.`name`);");
    expect(update).toContain('IF NOT (BINARY NEW.`name` <=> BINARY OLD.`name`) THEN');
  });

  it('refuses tables whose changes no trigger sees: a float key, a child of a cascading foreign key', () => {
    const catalog = {
      schema: 'shop',
      serverVersion: 101100,
      types: [],
      sequences: [],
      tables: [
        { ...table('scores'), columns: [score], key: ['score'] },
        {
          ...table('lines'),
          columns: [id],
          constraints: [
            {
              name: 'lines_order',
              kind: 'f' as const,
              definition: 'FOREIGN KEY (order_id) REFERENCES orders(id) ON UPDATE RESTRICT ON DELETE CASCADE',
              references: 'orders',
            },
          ],
        },
        { ...table('other'), columns: [id], key: ['id'] },
      ],
    };
    expect(unrecordable(catalog, ['*'])).toEqual([
      'table scores, key column score: its type double cannot key the replay (keys of numbers, text, bytes, dates and timestamps can)',
      'table lines: its foreign key lines_order changes rows by cascade, which fires no trigger in MySQL, so DowntimeOptimized cannot record them: leave the table out of spec.uptime.tables (it is then copied in the downtime)',
    ]);
    expect(unrecordable(catalog, ['other'])).toEqual([]);
  });
});

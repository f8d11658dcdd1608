// The cross-engine validation digest on real servers: equal on MariaDB and on its PostgreSQL copy
// for every type (floats at every magnitude, every latin1 byte, 4-byte characters, zero dates,
// overrides), and different as soon as one byte of one value of one row differs on the target.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RowDataPacket } from 'mysql2';
import type pg from 'pg';
import type { Validation } from '../../api/migration.ts';
import type { Table } from '../../catalog/types.ts';
import type { Range } from '../../plan/chunks.ts';
import {
  migrate,
  mysqlRun,
  pgConnect,
  startMysqlPair,
  type MigrateOptions,
  type MysqlPair,
} from '../../../test/support/mysql.ts';
import { EVERY_TYPE_MYSQL } from '../../../test/support/mysql-every-type.ts';
import { mysqlMeasureSql, postgresMeasureSql } from './digest.ts';
import { openReader, query } from './read.ts';

let pair: MysqlPair;
beforeAll(async () => {
  pair = await startMysqlPair();
  await mysqlRun(pair.my, EVERY_TYPE_MYSQL);
}, 120_000);
afterAll(async () => pair?.stop());

interface Measure {
  rows: string;
  checksum: string | null;
}

async function sourceMeasure(
  database: string,
  t: Table,
  range: Range | null = null,
  how: Validation = 'Checksum',
  zeroDates: 'Refuse' | 'Nullify' | 'Sentinel' = 'Refuse',
): Promise<Measure> {
  const c = await openReader(pair.my.connection());
  try {
    const [row] = await query<RowDataPacket[]>(c, mysqlMeasureSql(database, t, range, how, { zeroDates }));
    const text = (v: unknown) => (v === null ? null : Buffer.isBuffer(v) ? v.toString() : String(v));
    return { rows: text(row!['rows'])!, checksum: text(row!['checksum']) };
  } finally {
    c.end();
  }
}

const targetMeasure = async (
  c: pg.Client,
  schema: string,
  t: Table,
  range: Range | null = null,
  how: Validation = 'Checksum',
) => (await c.query<Measure>(postgresMeasureSql(schema, t, range, how))).rows[0]!;

/** Migrates and returns the table with the digests of both sides. */
async function both(database: string, table: string, opts: MigrateOptions = {}) {
  const { catalog } = await migrate(pair, database, database, opts);
  const t = catalog.tables.find((x) => x.name === table)!;
  const c = await pgConnect(pair.pg);
  try {
    return {
      t,
      source: await sourceMeasure(database, t, null, 'Checksum', opts.conversion?.zeroDates),
      target: await targetMeasure(c, database, t),
    };
  } finally {
    await c.end();
  }
}

/** A one-byte (or one-unit) change of row 1's value, per column of every_type.t. */
const CHANGES: Record<string, string> = {
  b: 'NOT b',
  ti: 'ti - 1',
  tiu: 'tiu - 1',
  si: 'si - 1',
  siu: 'siu - 1',
  mi: 'mi - 1',
  miu: 'miu - 1',
  i: 'i - 1',
  iu: 'iu - 1',
  bi: 'bi - 1',
  biu: 'biu - 1',
  d65: 'd65 - 0.000000000000000000000000000001',
  d: 'd + 0.01',
  f: "'3.4028233e38'::real",
  dbl: "'1.7976931348623155e308'::float8",
  bt1: 'NOT bt1',
  bt10: "B'1010101011'",
  bt64: "(repeat('1', 63) || '0')::bit(64)",
  y: 'y - 1',
  dt: 'dt - 1',
  dtm: "dtm - interval '1 second'",
  dtm6: "dtm6 - interval '1 microsecond'",
  ts: "ts - interval '1 microsecond'",
  tm: "tm - interval '1 second'",
  tm6: "tm6 + interval '1 microsecond'",
  ch: "'Zb'",
  vc: "overlay(vc placing 'T' from 1 for 1)",
  tx: "overlay(tx placing 'L' from 1 for 1)",
  lt: "overlay(lt placing 'y' from 100000 for 1)",
  bin: 'set_byte(bin, 3, get_byte(bin, 3) # 1)',
  vb: 'set_byte(vb, 0, get_byte(vb, 0) # 1)',
  bl: "'\\x01'::bytea",
  e: "'large'",
  s: "'{red,green}'",
  j: "(j::text || ' ')::json",
  u: "'123e4567-e89b-12d3-a456-426614174001'",
  ip: "'2001:db8::2'",
};

describe('validation digest across engines', () => {
  it('is equal after the load, per chunk too, and names nothing but counts with Count', async () => {
    const { t, source, target } = await both('every_type', 't');
    expect(source.rows).toBe('4');
    expect(source.checksum).toMatch(/^\d+:\d+$/);
    expect(target).toEqual(source);
    const c = await pgConnect(pair.pg);
    try {
      const range: Range = { kind: 'key', column: 'id', type: 'integer', lo: '2', hi: '4', portable: true };
      const part = await sourceMeasure('every_type', t, range);
      expect(part.rows).toBe('2');
      expect(await targetMeasure(c, 'every_type', t, range)).toEqual(part);
      expect(part.checksum).not.toBe(source.checksum);
      expect(await targetMeasure(c, 'every_type', t, null, 'Count')).toEqual({ rows: '4', checksum: null });
      expect(await sourceMeasure('every_type', t, null, 'Count')).toEqual({ rows: '4', checksum: null });
    } finally {
      await c.end();
    }
  });

  it('changes when one value of one row changes on the target, in any column', async () => {
    const { t, source } = await both('every_type', 't');
    const c = await pgConnect(pair.pg);
    try {
      const columns = t.columns.filter((x) => x.name !== 'id').map((x) => x.name);
      expect(Object.keys(CHANGES).sort()).toEqual([...columns].sort());
      for (const col of columns) {
        await c.query('BEGIN');
        try {
          const { rowCount } = await c.query(
            `UPDATE every_type.t SET ${col} = ${CHANGES[col]} WHERE id = 1 AND ${col}::text IS DISTINCT FROM (${CHANGES[col]})::text`,
          );
          expect(rowCount, col).toBe(1);
          const changed = await targetMeasure(c, 'every_type', t);
          expect(changed.rows, col).toBe('4');
          expect(changed.checksum, col).not.toBe(source.checksum);
        } finally {
          await c.query('ROLLBACK');
        }
      }
      // A NULL that becomes an empty value, and a duplicated row.
      await c.query('BEGIN');
      await c.query(`UPDATE every_type.t SET vc = '' WHERE id = 3`);
      expect((await targetMeasure(c, 'every_type', t)).checksum).not.toBe(source.checksum);
      await c.query('ROLLBACK');
      expect(await targetMeasure(c, 'every_type', t)).toEqual(source);
    } finally {
      await c.end();
    }
  });

  it('is equal for floats of every magnitude, every latin1 byte, 4-byte characters', async () => {
    await mysqlRun(
      pair.my,
      `CREATE DATABASE mixed; USE mixed;
       CREATE TABLE floats (id int PRIMARY KEY, f float, d double);
       INSERT INTO floats SELECT seq, RAND(seq) * POW(10, FLOOR(RAND(seq * 7) * 70) - 35) * IF(seq % 3 = 0, -1, 1),
                                 RAND(seq * 3) * POW(10, FLOOR(RAND(seq * 11) * 600) - 300) * IF(seq % 2 = 0, -1, 1)
         FROM seq_1_to_3000;
       INSERT INTO floats VALUES (0, 0, 0), (-1, -0.0, -0.0), (-2, 1e-45, 5e-324), (-3, 3.4028234e38, 1.7976931348623157e308),
                                 (-4, 16777217, 9007199254740993), (-5, 0.1, 0.1), (-6, 100, 1e21), (-7, 1e-5, 1e-7);
       CREATE TABLE latin (id int PRIMARY KEY, v varchar(300) CHARACTER SET latin1, c char(3) CHARACTER SET latin1);
       INSERT INTO latin VALUES (1, CAST(UNHEX('${Buffer.from(Array.from({ length: 255 }, (_, i) => i + 1)).toString('hex')}') AS CHAR CHARACTER SET latin1), 'é€ ');
       CREATE TABLE wide (id int PRIMARY KEY, v varchar(50) CHARACTER SET utf8mb4);
       INSERT INTO wide VALUES (1, '😀👍🏽 𪚥 𠜎 é'), (2, ''), (3, NULL);`,
    );
    for (const table of ['floats', 'latin', 'wide']) {
      const { source, target } = await both('mixed', table, { select: (n) => n === table });
      expect(target, table).toEqual(source);
    }
  });

  it('is equal with zero dates made NULL or -infinity, and with type map overrides', async () => {
    await mysqlRun(
      pair.my,
      `SET SESSION sql_mode = '';
       CREATE DATABASE odd; USE odd;
       CREATE TABLE dates (id int PRIMARY KEY, d date, dt datetime(6), ts timestamp(6) NULL);
       INSERT INTO dates VALUES (1, '2024-01-31', '2024-01-31 10:00:00.5', '2024-01-31 10:00:00.000001'),
                                (2, '0000-00-00', '2024-00-10 00:00:00', '0000-00-00 00:00:00');
       CREATE TABLE overrides (id bigint unsigned PRIMARY KEY, flag tinyint(1), at time(3), kind enum('a','b'), g binary(16));
       INSERT INTO overrides VALUES (9223372036854775807, 5, '23:59:59.5', 'b', UNHEX('0123456789abcdef0123456789abcdef'));`,
    );
    for (const zeroDates of ['Nullify', 'Sentinel'] as const) {
      const { source, target } = await both('odd', 'dates', {
        select: (n) => n === 'dates',
        conversion: { zeroDates },
      });
      expect(target, zeroDates).toEqual(source);
    }
    const { source, target } = await both('odd', 'overrides', {
      select: (n) => n === 'overrides',
      typeMap: [
        { sourceType: 'tinyint(1)', targetType: 'smallint' },
        { sourceType: 'bigint unsigned', targetType: 'bigint' },
        { sourceType: 'time', targetType: 'time' },
        { column: 'kind', targetType: 'text' },
        { column: 'g', targetType: 'uuid' },
      ],
    });
    expect(target).toEqual(source);
  });
});

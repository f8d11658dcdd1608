// Every MySQL type ferry maps, read from a real MariaDB through the snapshot reader and the COPY
// encoder, loaded into PostgreSQL and read back as text: exactly the values expected, in binary COPY
// as in COPY text. Charsets (latin1 as cp1252, 4-byte UTF-8), invalid bytes, zero dates and a
// type-map override too.
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RowDataPacket } from 'mysql2/promise';
import { from as copyFrom } from 'pg-copy-streams';
import { columnList } from '../../db/ident.ts';
import { copyFormat } from '../../transfer/table-copy.ts';
import { openSnapshot, readChunk } from './read.ts';
import {
  migrate,
  mysqlConnect,
  mysqlRun,
  pgConnect,
  startMysqlPair,
  type MysqlPair,
} from '../../../test/support/mysql.ts';
import { EVERY_TYPE_MYSQL } from '../../../test/support/mysql-every-type.ts';

let pair: MysqlPair;

beforeAll(async () => {
  pair = await startMysqlPair();
}, 120_000);
afterAll(async () => pair?.stop());

/** Rows of a target table as text, ordered by id. */
async function pgRows(sql: string): Promise<Record<string, string | null>[]> {
  const c = await pgConnect(pair.pg);
  try {
    return (await c.query<Record<string, string | null>>(sql)).rows;
  } finally {
    await c.end();
  }
}

describe('every MySQL type into PostgreSQL', () => {
  it('creates the PostgreSQL types of the README table and loads every value exactly', async () => {
    await mysqlRun(pair.my, EVERY_TYPE_MYSQL);
    const { catalog, refused } = await migrate(pair, 'every_type', 'every_type');
    expect(refused).toEqual([]);
    const types = await pgRows(
      `SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute
        WHERE attrelid = 'every_type.t'::regclass AND attnum > 0 ORDER BY attnum`,
    );
    expect(Object.fromEntries(types.map((r) => [r['name'], r['type']]))).toEqual({
      id: 'integer',
      b: 'boolean',
      ti: 'smallint',
      tiu: 'smallint',
      si: 'smallint',
      siu: 'integer',
      mi: 'integer',
      miu: 'integer',
      i: 'integer',
      iu: 'bigint',
      bi: 'bigint',
      biu: 'numeric(20,0)',
      d65: 'numeric(65,30)',
      d: 'numeric(10,2)',
      f: 'real',
      dbl: 'double precision',
      bt1: 'boolean',
      bt10: 'bit(10)',
      bt64: 'bit(64)',
      y: 'smallint',
      dt: 'date',
      dtm: 'timestamp(0) without time zone',
      dtm6: 'timestamp(6) without time zone',
      ts: 'timestamp(6) with time zone',
      tm: 'interval',
      tm6: 'interval',
      ch: 'character(5)',
      vc: 'character varying(40)',
      tx: 'text',
      lt: 'text',
      bin: 'bytea',
      vb: 'bytea',
      bl: 'bytea',
      e: 'every_type.t_e',
      s: 'text[]',
      j: 'json',
      u: 'uuid',
      ip: 'inet',
    });
    expect(catalog.types).toEqual([
      { name: 't_e', definition: `CREATE TYPE "t_e" AS ENUM ('small', 'medium', 'large', 'it''s')` },
    ]);
    const rows = await pgRows('SELECT * FROM every_type.t ORDER BY id');
    expect(rows[0]).toEqual({
      id: '1',
      b: 't',
      ti: '127',
      tiu: '255',
      si: '32767',
      siu: '65535',
      mi: '8388607',
      miu: '16777215',
      i: '2147483647',
      iu: '4294967295',
      bi: '9223372036854775807',
      biu: '18446744073709551615',
      d65: '99999999999999999999999999999999999.999999999999999999999999999999',
      d: '-12345678.99',
      f: '3.4028235e+38',
      dbl: '1.7976931348623157e+308',
      bt1: 't',
      bt10: '1010101010',
      bt64: '1'.repeat(64),
      y: '2155',
      dt: '9999-12-31',
      dtm: '9999-12-31 23:59:59',
      dtm6: '2024-02-29 12:34:56.789012',
      ts: '2038-01-19 03:14:07.999999+00',
      tm: '838:59:59',
      tm6: '-838:59:59',
      ch: 'ab   ',
      vc: 'tab\there "q" \\ back',
      tx: 'line1\nline2\r\n',
      lt: 'x'.repeat(100000),
      bin: '\\x00ff1020',
      vb: '\\x5c0a09',
      bl: '\\x00',
      e: "it's",
      s: '{red,blue}',
      j: '{"b": 1,  "a": [1, 2.50, "x"], "b": 2}',
      u: '123e4567-e89b-12d3-a456-426614174000',
      ip: '2001:db8::1',
    });
    expect(rows[1]).toEqual({
      id: '2',
      b: 'f',
      ti: '-128',
      tiu: '0',
      si: '-32768',
      siu: '0',
      mi: '-8388608',
      miu: '0',
      i: '-2147483648',
      iu: '0',
      bi: '-9223372036854775808',
      biu: '0',
      d65: '-0.000000000000000000000000000001',
      d: '0.00',
      f: '1e-45',
      dbl: '5e-324',
      bt1: 'f',
      bt10: '0000000001',
      bt64: '0'.repeat(64),
      y: '1901',
      dt: '1000-01-01',
      dtm: '1000-01-01 00:00:00',
      dtm6: '0001-01-01 00:00:00.000001',
      ts: '1970-01-01 00:00:01+00',
      tm: '-838:59:59',
      tm6: '00:00:00.000001',
      ch: '     ',
      vc: '',
      tx: '',
      lt: '',
      bin: '\\x00000000',
      vb: '\\x',
      bl: '\\x',
      e: 'small',
      s: '{}',
      j: '[]',
      u: '00000000-0000-0000-0000-000000000000',
      ip: '::ffff:1.2.3.4',
    });
    expect(Object.entries(rows[2]!).filter(([k, v]) => k !== 'id' && v !== null)).toEqual([]);
    expect(rows[3]).toMatchObject({
      ti: '0',
      d65: '1.500000000000000000000000000000',
      d: '0.10',
      f: '1.2345678',
      dbl: '0.1',
      y: '0',
      tm: '-00:00:01',
      tm6: '-00:00:01.5',
      ch: '  x  ',
      vc: 'é',
      e: 'medium',
      s: '{green}',
      j: '"x"',
    });
  });

  it('writes every type with a binary form in binary COPY exactly as COPY text writes it', async () => {
    // every_type.t holds floats, bits, times, sets: its own format is text. Its other columns are
    // read again in binary into a copy of the table; both must hold the same values.
    const { catalog } = await migrate(pair, 'every_type', 'every_type');
    const t = catalog.tables[0]!;
    expect(copyFormat(t)).toBe('text');
    const binary = t.columns.filter((c) => c.builtinType).map((c) => c.name);
    expect(binary).toEqual([
      'id',
      'b',
      'ti',
      'tiu',
      'si',
      'siu',
      'mi',
      'miu',
      'i',
      'iu',
      'bi',
      'biu',
      'd65',
      'd',
      'y',
      'dt',
      'dtm',
      'dtm6',
      'ts',
      'ch',
      'vc',
      'tx',
      'lt',
      'bin',
      'vb',
      'bl',
      'e',
      'j',
    ]);
    const c = await pgConnect(pair.pg);
    try {
      await c.query('CREATE TABLE every_type.b (LIKE every_type.t)');
      const snapshot = await openSnapshot(pair.my.connection(), 'every_type', ['t'], 1);
      try {
        const rows = readChunk(snapshot.readers[0]!, 'every_type', t, binary, null, {
          conversion: { zeroDates: 'Refuse', invalidCharacters: 'Refuse' },
          format: 'binary',
        });
        await pipeline(
          rows,
          c.query(copyFrom(`COPY every_type.b (${columnList(binary)}) FROM STDIN (FORMAT binary)`)),
        );
      } finally {
        await snapshot.close();
      }
    } finally {
      await c.end();
    }
    const list = columnList(binary);
    const fromText = await pgRows(`SELECT ${list} FROM every_type.t ORDER BY id`);
    expect(fromText).toHaveLength(4);
    expect(await pgRows(`SELECT ${list} FROM every_type.b ORDER BY id`)).toEqual(fromText);
  });

  it('writes decimals of every shape and timestamps of every precision alike in binary and text', async () => {
    // Pseudo-random digits at every grouping around the point, negative and zero; instants before
    // 1970 and 2000, on leap days, with 0 to 6 fractional digits.
    await mysqlRun(
      pair.my,
      `CREATE DATABASE shapes; USE shapes;
       CREATE TABLE t (id int PRIMARY KEY, n38 decimal(38,10), n20 decimal(20,0), n65 decimal(65,30),
         n4 decimal(4,4), d date, t0 datetime, t3 datetime(3), t6 datetime(6), z2 timestamp(2) NULL,
         big bigint, small smallint, u bigint unsigned, g binary(16), js json);
       INSERT INTO t SELECT seq,
         CAST(CONCAT(IF(seq % 3 = 0, '-', ''), SUBSTR(CONCAT(CRC32(seq), CRC32(seq * 7), CRC32(seq * 13)), 1, 1 + seq % 28),
           '.', LPAD(SUBSTR(CRC32(seq * 31), 1, seq % 11), seq % 11, '0')) AS DECIMAL(38,10)),
         CAST(SUBSTR(CONCAT(CRC32(seq), CRC32(seq * 3), '0000'), 1, 1 + seq % 20) AS DECIMAL(20,0)) * IF(seq % 2, -1, 1),
         CAST(CONCAT('0.', REPEAT('0', seq % 29), CRC32(seq)) AS DECIMAL(65,30)) * POW(10, seq % 35),
         (seq % 10000) / 10000 * IF(seq % 4 = 1, -1, 1),
         DATE'1000-01-01' + INTERVAL (seq * 1237) % 3287181 DAY,
         TIMESTAMP'1000-01-01 00:00:00' + INTERVAL (seq * 2699) % 283996800 MINUTE + INTERVAL seq % 60 SECOND,
         TIMESTAMP'1969-12-31 23:59:59.999' + INTERVAL (seq * 7919) % 100000000 SECOND_MICROSECOND - INTERVAL seq DAY,
         TIMESTAMP'2000-02-29 23:59:59.999999' + INTERVAL (seq * 104729) % 1000000000 MICROSECOND + INTERVAL seq * 11 DAY,
         IF(seq % 7 = 0, NULL, TIMESTAMP'1970-01-01 00:00:01.01' + INTERVAL (seq * 86413) % 2147483640 SECOND),
         IF(seq % 2, -1, 1) * CAST(CRC32(seq) * (CRC32(seq * 17) DIV 4) DIV (1 + seq % 1000000) AS SIGNED),
         seq % 65536 - 32768,
         CAST(CRC32(seq) AS UNSIGNED) * 4294967296 + CRC32(seq * 5),
         UNHEX(MD5(seq)), JSON_OBJECT('n', seq, 's', CONCAT('é', seq), 'a', JSON_ARRAY(seq % 7, seq / 8))
         FROM (SELECT CAST(seq AS SIGNED) AS seq FROM seq_1_to_3000) s;
       INSERT INTO t VALUES (0, 0, 0, 0, 0, '2024-02-29', '9999-12-31 23:59:59', '1000-01-01 00:00:00.001',
         '1999-12-31 23:59:59.999999', '1970-01-01 00:00:01', -9223372036854775808, -32768, 18446744073709551615,
         0x00000000000000000000000000000000, '{"b": 1,  "a": [1, 2.50], "b": 2}');`,
    );
    // binary(16) as uuid by rule: it has a binary form too.
    const typeMap = [{ column: 'g', targetType: 'uuid' }];
    const { catalog } = await migrate(pair, 'shapes', 'shapes_binary', { typeMap });
    expect(copyFormat(catalog.tables[0]!)).toBe('binary');
    await migrate(pair, 'shapes', 'shapes_text', { typeMap, text: true });
    const binary = await pgRows('SELECT * FROM shapes_binary.t ORDER BY id');
    expect(binary).toHaveLength(3001);
    expect(binary[0]).toEqual({
      id: '0',
      n38: '0.0000000000',
      n20: '0',
      n65: '0.000000000000000000000000000000',
      n4: '0.0000',
      d: '2024-02-29',
      t0: '9999-12-31 23:59:59',
      t3: '1000-01-01 00:00:00.001',
      t6: '1999-12-31 23:59:59.999999',
      z2: '1970-01-01 00:00:01+00',
      big: '-9223372036854775808',
      small: '-32768',
      u: '18446744073709551615',
      g: '00000000-0000-0000-0000-000000000000',
      js: '{"b": 1,  "a": [1, 2.50], "b": 2}',
    });
    expect(binary).toEqual(await pgRows('SELECT * FROM shapes_text.t ORDER BY id'));
  });

  it('refuses in binary what the target type cannot hold, naming table, column and key', async () => {
    await mysqlRun(
      pair.my,
      `SET SESSION sql_mode = 'ALLOW_INVALID_DATES';
       CREATE DATABASE narrow; USE narrow;
       CREATE TABLE big (id int PRIMARY KEY, v bigint unsigned);
       CREATE TABLE mid (id int PRIMARY KEY, v int unsigned);
       CREATE TABLE cal (id int PRIMARY KEY, d datetime);
       CREATE TABLE flag (id int PRIMARY KEY, f tinyint(1));
       INSERT INTO big VALUES (1, 9223372036854775807), (2, 9223372036854775808);
       INSERT INTO mid VALUES (1, 2147483647), (2, 2147483648);
       INSERT INTO cal VALUES (1, '2024-02-29 10:00:00'), (2, '2023-02-29 10:00:00');
       INSERT INTO flag VALUES (1, 1), (2, 2);`,
    );
    const typeMap = [
      { sourceType: 'bigint unsigned', targetType: 'bigint' },
      { sourceType: 'int unsigned', targetType: 'integer' },
    ];
    const only = (name: string) => ({ typeMap, select: (t: string) => t === name });
    await expect(migrate(pair, 'narrow', 'narrow', only('big'))).rejects.toThrow(
      "table big, column v, key (id)=(2): the value 9223372036854775808 is outside the target type's range [-9223372036854775808, 9223372036854775807]",
    );
    await expect(migrate(pair, 'narrow', 'narrow', only('mid'))).rejects.toThrow(
      "table mid, column v, key (id)=(2): the value 2147483648 is outside the target type's range [-2147483648, 2147483647]",
    );
    await expect(migrate(pair, 'narrow', 'narrow', only('cal'))).rejects.toThrow(
      'table cal, column d, key (id)=(2): the date 2023-02-29 10:00:00, which is not on the calendar',
    );
    await expect(migrate(pair, 'narrow', 'narrow', only('flag'))).rejects.toThrow(
      'table flag, column f, key (id)=(2): the value 2 is not a boolean',
    );
    // COPY text refuses the same date alike (PostgreSQL would refuse it without naming the row).
    await expect(migrate(pair, 'narrow', 'narrow', { ...only('cal'), text: true })).rejects.toThrow(
      'table cal, column d, key (id)=(2): the date 2023-02-29 10:00:00, which is not on the calendar',
    );
  });

  it('turns latin1 (Windows cp1252) text into UTF-8 as MariaDB itself converts it', async () => {
    const accented = [
      'Crème brûlée à la française',
      'Ærøskøbing, Håkon, Ångström',
      'Straße, Größe, Müller',
      'niño, año, ¿qué?, ¡sí!',
      '€ – “quotes” ‘single’ … ‰ • ™ Š š Ž ž Œ œ Ÿ',
      'Ça coûte 5 £, 10 ¥, © ® ° ± ² ³ µ ¶ · ¹ º » ¼ ½ ¾',
    ];
    await mysqlRun(
      pair.my,
      `CREATE DATABASE latin CHARACTER SET latin1;
       CREATE TABLE latin.t (id int PRIMARY KEY, name varchar(200), note text) CHARACTER SET latin1;`,
    );
    const my = await mysqlConnect(pair.my, 'latin');
    try {
      for (const [i, s] of accented.entries())
        await my.query('INSERT INTO t VALUES (?, ?, ?)', [i + 1, s, [...s].reverse().join('')]);
      // Every byte but NUL, the undefined cp1252 positions included.
      await my.query(`INSERT INTO t VALUES (100, NULL, CAST(UNHEX(?) AS CHAR CHARACTER SET latin1))`, [
        Buffer.from(Array.from({ length: 255 }, (_, i) => i + 1)).toString('hex'),
      ]);
      await migrate(pair, 'latin', 'latin');
      const [expected] = await my.query<RowDataPacket[]>(
        'SELECT id, CONVERT(name USING utf8mb4) AS name, CONVERT(note USING utf8mb4) AS note FROM t ORDER BY id',
      );
      const rows = await pgRows('SELECT id, name, note FROM latin.t ORDER BY id');
      expect(rows).toEqual(expected.map((r) => ({ id: String(r['id']), name: r['name'], note: r['note'] })));
      expect(rows.slice(0, accented.length).map((r) => r['name'])).toEqual(accented);
      expect(rows.at(-1)!['note']!.slice(0x7e, 0x9f)).toBe(
        '\u007f€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008dŽ\u008f\u0090‘’“”•–—˜™š›œ\u009džŸ',
      );
    } finally {
      await my.end();
    }
  });

  it('keeps 4-byte UTF-8 characters of utf8mb4 columns', async () => {
    const first10 = (s: string) => Array.from(s).slice(0, 10).join('');
    const texts = [
      '😀👍🏽👨‍👩‍👧 emoji',
      '𪚥 𠜎 𠀋 rare CJK',
      '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 math',
      'مرحبا עברית',
      'e\u0301 combining',
      '漢字かなカナ',
    ];
    await mysqlRun(
      pair.my,
      `CREATE DATABASE wide CHARACTER SET utf8mb4;
       CREATE TABLE wide.t (id int PRIMARY KEY, v varchar(100), m mediumtext, k char(20)) CHARACTER SET utf8mb4;`,
    );
    const my = await mysqlConnect(pair.my, 'wide');
    try {
      for (const [i, s] of texts.entries())
        await my.query('INSERT INTO t VALUES (?, ?, ?, ?)', [i + 1, s, s, first10(s)]);
    } finally {
      await my.end();
    }
    await migrate(pair, 'wide', 'wide');
    const rows = await pgRows('SELECT v, m, rtrim(k) AS k FROM wide.t ORDER BY id');
    expect(rows).toEqual(texts.map((s) => ({ v: s, m: s, k: first10(s) })));
  });

  it('refuses bytes invalid in the charset and NUL naming table, column and key; replaces them when asked', async () => {
    await mysqlRun(
      pair.my,
      `CREATE DATABASE bad; USE bad;
       CREATE TABLE a (id int PRIMARY KEY, v varchar(10) CHARACTER SET ascii);
       CREATE TABLE n (id int PRIMARY KEY, v varchar(10) CHARACTER SET utf8mb4);
       SET NAMES binary;
       INSERT INTO a VALUES (1, 'ok'), (7, 0x63E9);
       INSERT INTO n VALUES (1, 'ok'), (3, 0x610062);`,
    );
    await expect(migrate(pair, 'bad', 'bad', { select: (t) => t === 'a' })).rejects.toThrow(
      'table a, column v, key (id)=(7): the byte 0xe9, which is not ascii',
    );
    await expect(migrate(pair, 'bad', 'bad', { select: (t) => t === 'n' })).rejects.toThrow(
      'table n, column v, key (id)=(3): a NUL character (PostgreSQL text cannot hold it)',
    );
    await migrate(pair, 'bad', 'bad', { conversion: { invalidCharacters: 'Replace' } });
    expect(
      await pgRows('SELECT a.v AS a, n.v AS n FROM bad.a JOIN bad.n ON true WHERE a.id = 7 AND n.id = 3'),
    ).toEqual([{ a: 'c\uFFFD', n: 'a\uFFFDb' }]);
  });

  it('refuses zero dates naming the key, or makes them NULL or -infinity', async () => {
    await mysqlRun(
      pair.my,
      `SET SESSION sql_mode = '';
       CREATE DATABASE zero; USE zero;
       CREATE TABLE t (id int PRIMARY KEY, d date NOT NULL, dt datetime NOT NULL DEFAULT '0000-00-00 00:00:00', ts timestamp NULL);
       INSERT INTO t VALUES (1, '2024-01-31', '2024-01-31 10:00:00', '2024-01-31 10:00:00'),
                            (2, '0000-00-00', '2024-00-10 00:00:00', '0000-00-00 00:00:00'),
                            (3, '2024-05-00', '0000-00-00 00:00:00', NULL);`,
    );
    await expect(migrate(pair, 'zero', 'zero')).rejects.toThrow(
      'table t, column d, key (id)=(2): the zero date 0000-00-00, which PostgreSQL cannot hold (spec.conversion.zeroDates: Nullify or Sentinel)',
    );
    const nulled = await migrate(pair, 'zero', 'zero', { conversion: { zeroDates: 'Nullify' } });
    expect(nulled.catalog.tables[0]!.columns.map((c) => [c.name, c.notNull, c.default])).toEqual([
      ['id', true, null],
      ['d', false, null],
      ['dt', false, null],
      ['ts', false, null],
    ]);
    expect(await pgRows('SELECT id, d, dt, ts FROM zero.t ORDER BY id')).toEqual([
      { id: '1', d: '2024-01-31', dt: '2024-01-31 10:00:00', ts: '2024-01-31 10:00:00+00' },
      { id: '2', d: null, dt: null, ts: null },
      { id: '3', d: null, dt: null, ts: null },
    ]);
    await migrate(pair, 'zero', 'zero', { conversion: { zeroDates: 'Sentinel' } });
    expect(await pgRows('SELECT id, d, dt, ts FROM zero.t ORDER BY id')).toEqual([
      { id: '1', d: '2024-01-31', dt: '2024-01-31 10:00:00', ts: '2024-01-31 10:00:00+00' },
      { id: '2', d: '-infinity', dt: '-infinity', ts: '-infinity' },
      { id: '3', d: '-infinity', dt: '-infinity', ts: null },
    ]);
    expect(
      await pgRows(
        `SELECT column_default AS d FROM information_schema.columns WHERE table_schema = 'zero' AND column_name = 'dt'`,
      ),
    ).toEqual([{ d: "'-infinity'::timestamp without time zone" }]);
  });

  it('applies type map overrides, and refuses a value the overriding type cannot hold', async () => {
    await mysqlRun(
      pair.my,
      `CREATE DATABASE overrides; USE overrides;
       CREATE TABLE t (id bigint unsigned PRIMARY KEY, flag tinyint(1), at time, kind enum('a','b'), g binary(16));
       INSERT INTO t VALUES (9223372036854775807, 5, '23:59:59', 'b', UNHEX('0123456789abcdef0123456789abcdef'));`,
    );
    const typeMap = [
      { sourceType: 'tinyint(1)', targetType: 'smallint' },
      { sourceType: 'bigint unsigned', targetType: 'bigint' },
      { sourceType: 'time', targetType: 'time' },
      { column: 'kind', targetType: 'text' },
      { table: 't', column: 'g', targetType: 'uuid' },
    ];
    await migrate(pair, 'overrides', 'overrides', { typeMap });
    expect(await pgRows('SELECT * FROM overrides.t')).toEqual([
      {
        id: '9223372036854775807',
        flag: '5',
        at: '23:59:59',
        kind: 'b',
        g: '01234567-89ab-cdef-0123-456789abcdef',
      },
    ]);
    expect(
      await pgRows(
        `SELECT pg_get_constraintdef(oid) AS d FROM pg_constraint WHERE conrelid = 'overrides.t'::regclass AND contype IN ('c', 'p') ORDER BY contype`,
      ),
    ).toEqual([{ d: "CHECK ((kind = ANY (ARRAY['a'::text, 'b'::text])))" }, { d: 'PRIMARY KEY (id)' }]);
    await mysqlRun(pair.my, `INSERT INTO overrides.t VALUES (9223372036854775808, 1, '24:00:00', 'a', NULL)`);
    await expect(migrate(pair, 'overrides', 'overrides', { typeMap })).rejects.toThrow(
      "table t, column id, key (id)=(9223372036854775808): the value 9223372036854775808 is outside the target type's range",
    );
  });
});

import { describe, expect, it } from 'vitest';
import {
  mapColumn,
  normalizeSourceType,
  normalizeTargetType,
  parseLabels,
  TypeMapError,
  type MysqlType,
} from './types.ts';
import type { TypeRule } from '../../api/migration.ts';

const at = { table: 'orders', column: 'c' };
/** A column as information_schema.COLUMNS describes it: DATA_TYPE is COLUMN_TYPE's name. */
const col = (columnType: string, charset: string | null = null, json = false): MysqlType => ({
  dataType: /^[a-z0-9]+/i.exec(columnType)![0].toLowerCase(),
  columnType,
  charset,
  json,
});
const map = (columnType: string, charset: string | null = null, rules: TypeRule[] = []) =>
  mapColumn(col(columnType, charset), at, rules);

describe('MySQL type map', () => {
  it('maps every supported type by default (the README table)', () => {
    const cases: [string, string | null, string][] = [
      ['tinyint(1)', null, 'boolean'],
      ['tinyint(4)', null, 'smallint'],
      ['tinyint(3) unsigned', null, 'smallint'],
      ['smallint(6)', null, 'smallint'],
      ['smallint(5) unsigned', null, 'integer'],
      ['mediumint(9)', null, 'integer'],
      ['mediumint(8) unsigned', null, 'integer'],
      ['int(11)', null, 'integer'],
      ['int(10) unsigned', null, 'bigint'],
      ['int(10) unsigned zerofill', null, 'bigint'],
      ['bigint(20)', null, 'bigint'],
      ['bigint(20) unsigned', null, 'numeric(20,0)'],
      ['decimal(65,30)', null, 'numeric(65,30)'],
      ['decimal(10,0) unsigned', null, 'numeric(10,0)'],
      ['float', null, 'real'],
      ['float(7,4)', null, 'real'],
      ['double', null, 'double precision'],
      ['bit(1)', null, 'boolean'],
      ['bit(10)', null, 'bit(10)'],
      ['year(4)', null, 'smallint'],
      ['date', null, 'date'],
      ['datetime', null, 'timestamp(0) without time zone'],
      ['datetime(6)', null, 'timestamp(6) without time zone'],
      ['timestamp(3)', null, 'timestamp(3) with time zone'],
      ['time(6)', null, 'interval'],
      ['char(5)', 'utf8mb4', 'character(5)'],
      ['varchar(40)', 'latin1', 'character varying(40)'],
      ['mediumtext', 'utf8mb3', 'text'],
      ['longtext', 'ascii', 'text'],
      ['binary(16)', null, 'bytea'],
      ['varbinary(10)', null, 'bytea'],
      ['longblob', null, 'bytea'],
      ["set('a','b')", 'utf8mb4', 'text[]'],
      ['uuid', null, 'uuid'],
      ['inet6', null, 'inet'],
    ];
    for (const [type, charset, pg] of cases) expect(map(type, charset).type, type).toBe(pg);
    expect(mapColumn(col('longtext', 'utf8mb4', true), at).type).toBe('json');
    expect(mapColumn(col('json', 'utf8mb4'), at).type).toBe('json');
  });

  it('encodes exactly: floats as doubles, unsigned bigints as digits, zero dates and UTC per column', () => {
    expect(map('float').encoding).toEqual({ kind: 'float' });
    expect(map('bigint(20) unsigned').encoding).toEqual({ kind: 'number' });
    expect(map('timestamp(6)').encoding).toEqual({ kind: 'date', utc: true });
    expect(map('datetime').encoding).toEqual({ kind: 'date', utc: false });
    expect(map('time').encoding).toEqual({ kind: 'time', as: 'interval' });
    expect(map('bit(10)').encoding).toEqual({ kind: 'bit', width: 10, as: 'bits' });
    expect(map('varchar(3)', 'latin1').encoding).toEqual({ kind: 'text', charset: 'latin1' });
    expect(map('varbinary(3)').encoding).toEqual({ kind: 'bytes', as: 'bytea' });
  });

  it('makes an enum a PostgreSQL enum, or text with a CHECK when a label is too long for one', () => {
    expect(map("enum('new','it''s','a b')", 'utf8mb4')).toEqual({
      type: 'enum',
      encoding: { kind: 'text', charset: 'utf8', members: ['new', "it's", 'a b'] },
      enumLabels: ['new', "it's", 'a b'],
    });
    const long = 'x'.repeat(64);
    expect(map(`enum('a','${long}')`, 'utf8mb4')).toMatchObject({
      type: 'text',
      check: { kind: 'in', values: ['a', long] },
      note: expect.stringMatching(/longer than PostgreSQL's 63 bytes/),
    });
    expect(map("set('a','b')", 'latin1').check).toEqual({ kind: 'subset', values: ['a', 'b'] });
  });

  it('applies the first matching rule: by source type (whole or by name), table and column globs', () => {
    const rules: TypeRule[] = [
      { table: 'legacy_*', column: 'flag*', targetType: 'int4' },
      { sourceType: 'tinyint(1)', targetType: 'smallint' },
      { sourceType: 'BIGINT UNSIGNED', targetType: 'int8' },
      { sourceType: 'enum', targetType: 'varchar(20)' },
      { sourceType: 'time', targetType: 'time' },
    ];
    expect(map('tinyint(1)', null, rules)).toMatchObject({
      type: 'smallint',
      encoding: { kind: 'number' },
      note: 'type map rule: tinyint(1) → smallint',
    });
    expect(mapColumn(col('tinyint(1)'), { table: 'legacy_a', column: 'flags' }, rules).type).toBe('integer');
    expect(mapColumn(col('tinyint(1)'), { table: 'legacy_a', column: 'other' }, rules).type).toBe('smallint');
    // A checked bigint: values above 2^63-1 are refused when read.
    expect(map('bigint(20) unsigned', null, rules)).toMatchObject({
      type: 'bigint',
      encoding: { kind: 'number', range: ['-9223372036854775808', '9223372036854775807'] },
    });
    expect(map("enum('a','b')", 'utf8mb4', rules)).toMatchObject({
      type: 'character varying(20)',
      check: { kind: 'in', values: ['a', 'b'] },
    });
    expect(map('time(3)', null, rules)).toMatchObject({
      type: 'time without time zone',
      encoding: { kind: 'time', as: 'time' },
    });
    expect(map('binary(16)', null, [{ column: 'c', targetType: 'uuid' }]).encoding).toEqual({
      kind: 'bytes',
      as: 'hex',
    });
    // A narrower integer target is range-checked, a wider one is not.
    expect(map('int(10) unsigned', null, [{ column: 'c', targetType: 'integer' }]).encoding).toEqual({
      kind: 'number',
      range: ['-2147483648', '2147483647'],
    });
    expect(map('smallint', null, [{ column: 'c', targetType: 'bigint' }]).encoding).toEqual({
      kind: 'number',
    });
  });

  it('maps spatial types to PostGIS geometry in the schema Checks requires it in, each value keeping its SRID', () => {
    const spatial: [string, string][] = [
      ['geometry', 'public.geometry'],
      ['point', 'public.geometry(Point)'],
      ['linestring', 'public.geometry(LineString)'],
      ['polygon', 'public.geometry(Polygon)'],
      ['multipoint', 'public.geometry(MultiPoint)'],
      ['multilinestring', 'public.geometry(MultiLineString)'],
      ['multipolygon', 'public.geometry(MultiPolygon)'],
      ['geometrycollection', 'public.geometry(GeometryCollection)'],
    ];
    for (const [source, target] of spatial)
      expect(map(source), source).toEqual({ type: target, encoding: { kind: 'geometry' } });
    // A rule narrows it (PostGIS then refuses a value of another SRID); its schema is still PostGIS's.
    expect(map('point', null, [{ column: 'c', targetType: 'geometry(Point, 4326)' }])).toMatchObject({
      type: 'public.geometry(Point,4326)',
      encoding: { kind: 'geometry' },
    });
  });

  it('refuses what it cannot move exactly, naming the type', () => {
    const refused: [string, string | null, TypeRule[], RegExp][] = [
      [
        'point',
        null,
        [{ column: 'c', targetType: 'bytea' }],
        /spatial type point can only become a PostGIS geometry, not bytea/,
      ],
      ['varchar(10)', 'gbk', [], /character set gbk is not supported .* ALTER TABLE orders MODIFY c/],
      ['double', null, [{ column: 'c', targetType: 'real' }], /double cannot be converted to real exactly/],
      ['decimal(10,2)', null, [{ column: 'c', targetType: 'float8' }], /decimal\(10,2\) cannot be converted/],
      ['int(11)', null, [{ column: 'c', targetType: 'real' }], /int cannot be converted to real/],
      ['bit(2)', null, [{ column: 'c', targetType: 'boolean' }], /bit\(2\) cannot be converted to boolean/],
      ['datetime', null, [{ column: 'c', targetType: 'date' }], /cannot be converted to date/],
      [
        'varbinary(3)',
        null,
        [{ column: 'c', targetType: 'uuid' }],
        /varbinary\(3\) cannot be converted to uuid/,
      ],
    ];
    for (const [type, charset, rules, message] of refused) {
      expect(() => map(type, charset, rules), type).toThrow(TypeMapError);
      expect(() => map(type, charset, rules), type).toThrow(message);
    }
  });

  it('normalizes source and target type names', () => {
    expect(normalizeSourceType('INT(10)  UNSIGNED ZEROFILL')).toBe('int unsigned');
    expect(normalizeSourceType('tinyint(1)')).toBe('tinyint(1)');
    expect(normalizeSourceType('tinyint(4)')).toBe('tinyint');
    expect(normalizeSourceType('year(4)')).toBe('year');
    expect(normalizeSourceType('decimal(10, 2) unsigned')).toBe('decimal(10,2) unsigned');
    expect(normalizeSourceType("enum('A b','c''d')")).toBe("enum('A b','c''d')");
    expect(normalizeTargetType('int8')).toBe('bigint');
    expect(normalizeTargetType('VARCHAR(20)')).toBe('character varying(20)');
    expect(normalizeTargetType('timestamptz(3)')).toBe('timestamp(3) with time zone');
    expect(normalizeTargetType('timestamp')).toBe('timestamp without time zone');
    expect(normalizeTargetType('decimal(20, 0)')).toBe('numeric(20,0)');
    expect(normalizeTargetType('text[]')).toBe('text[]');
    expect(normalizeTargetType('shop.money_t')).toBe('shop.money_t');
    expect(parseLabels("set('a','it''s','x,y')")).toEqual(['a', "it's", 'x,y']);
  });
});

import { describe, expect, it } from 'vitest';
import type { Conversion } from '../../api/settings.ts';
import { column } from '../../../test/support/catalog.ts';
import { mssqlType } from '../../../test/support/mssql-values.ts';
import type { MssqlColumn, MssqlColumnInfo, MssqlType } from './column.ts';
import {
  canonicalText,
  copyLine,
  float4Text,
  float8Text,
  rowEncoder,
  selectExpression,
  ValueError,
} from './encode.ts';
import { mapColumn } from './types.ts';

const strict: Conversion = { zeroDates: 'Refuse', invalidCharacters: 'Refuse' };
const replace: Conversion = { ...strict, invalidCharacters: 'Replace' };
const at = { table: 'dbo.t', column: 'c' };
const type = mssqlType;
/** The column info of a source type as the catalog maps it (default, or by a rule to `target`). */
const info = (t: MssqlType, target?: string): MssqlColumnInfo => ({
  type: t,
  encoding: mapColumn(t, at, target ? [{ column: 'c', targetType: target }] : []).encoding,
});
const text = (t: MssqlType, values: unknown[], target?: string, conversion = strict) =>
  values.map((v) => canonicalText(v, info(t, target), at, conversion));

describe('canonical text of the values tedious returns', () => {
  it('writes booleans, integers (bigint as tedious’ string) at their limits, and NULL', () => {
    expect(text(type('bit'), [true, false, null])).toEqual(['t', 'f', null]);
    expect(text(type('bit'), [true, false], 'int2')).toEqual(['1', '0']);
    expect(text(type('tinyint'), [0, 255])).toEqual(['0', '255']);
    expect(text(type('smallint'), [-32768, 32767])).toEqual(['-32768', '32767']);
    expect(text(type('int'), [-2147483648, 2147483647])).toEqual(['-2147483648', '2147483647']);
    expect(text(type('bigint'), ['-9223372036854775808', '9223372036854775807'])).toEqual([
      '-9223372036854775808',
      '9223372036854775807',
    ]);
    expect(() => text(type('bigint'), [9007199254740993])).toThrow(/expected an integer as text/);
    expect(() => text(type('int'), [1.5])).toThrow(/expected an integer/);
  });

  it('keeps decimals and money digit for digit, their scale’s zeros included', () => {
    const d = type('decimal', { precision: 38, scale: 10 });
    expect(
      text(d, ['-9999999999999999999999999999.9999999999', '0.0000000001', '-0.0000000000', '.5000000000']),
    ).toEqual(['-9999999999999999999999999999.9999999999', '0.0000000001', '0.0000000000', '0.5000000000']);
    expect(text(type('numeric', { precision: 38, scale: 0 }), ['9'.repeat(38)])).toEqual(['9'.repeat(38)]);
    expect(text(type('money'), ['-922337203685477.5808', '922337203685477.5807', '0.0000'])).toEqual([
      '-922337203685477.5808',
      '922337203685477.5807',
      '0.0000',
    ]);
    expect(text(type('smallmoney'), ['-214748.3648'])).toEqual(['-214748.3648']);
    expect(() => text(d, ['1e5'])).toThrow(ValueError);
    expect(() => text(d, [1.5])).toThrow(/expected a decimal as text/);
  });

  it('prints floats and reals as PostgreSQL 12+ does: shortest round trip, its exponent layout', () => {
    expect(
      [1e308, -Number.MAX_VALUE, 5e-324, 2.2250738585072014e-308, 0.1, 1e15, 1e14, 1e-5, 1e-4, -0, 0].map(
        float8Text,
      ),
    ).toEqual([
      '1e+308',
      '-1.7976931348623157e+308',
      '5e-324',
      '2.2250738585072014e-308',
      '0.1',
      '1e+15',
      '100000000000000',
      '1e-05',
      '0.0001',
      '-0',
      '0',
    ]);
    // 1e23 lies exactly between two doubles: JS writes 1e+23, PostgreSQL (bounds excluded) other digits.
    expect(float8Text(1e23)).toBe('9.999999999999999e+22');
    expect(
      [
        3.4028234663852886e38,
        1.401298464324817e-45,
        Math.fround(0.1),
        123456,
        1234567,
        Math.fround(-59135928),
      ].map(float4Text),
    ).toEqual(['3.4028235e+38', '1e-45', '0.1', '123456', '1.234567e+06', '-5.9135928e+07']);
    expect(text(type('real'), [Math.fround(0.1)], 'float8')).toEqual(['0.10000000149011612']);
    expect(() => float4Text(0.1)).toThrow(/is not a real/);
  });

  it('writes dates and times as PostgreSQL does, refusing a non-zero 100-ns digit unless mapped to text', () => {
    expect(text(type('date'), ['0001-01-01', '9999-12-31'])).toEqual(['0001-01-01', '9999-12-31']);
    const dt2 = type('datetime2', { scale: 7 });
    expect(
      text(dt2, [
        '0001-01-01 00:00:00.0000000',
        '9999-12-31 23:59:59.9999990',
        '2024-01-02 03:04:05.1200000',
      ]),
    ).toEqual(['0001-01-01 00:00:00', '9999-12-31 23:59:59.999999', '2024-01-02 03:04:05.12']);
    expect(() => text(dt2, ['9999-12-31 23:59:59.9999999'])).toThrow(
      'table dbo.t, column c: the value has a non-zero 100-nanosecond digit (.9999999), which PostgreSQL',
    );
    expect(text(dt2, ['9999-12-31 23:59:59.9999999', '2024-01-02 03:04:05.0000000'], 'text')).toEqual([
      '9999-12-31 23:59:59.9999999',
      '2024-01-02 03:04:05',
    ]);
    expect(text(type('time', { scale: 7 }), ['00:00:00.0000000', '23:59:59.9999990'])).toEqual([
      '00:00:00',
      '23:59:59.999999',
    ]);
    expect(() => text(type('time', { scale: 7 }), ['23:59:59.9999999'])).toThrow(/100-nanosecond digit/);
    expect(text(type('datetime'), ['1753-01-01 00:00:00.000', '9999-12-31 23:59:59.997'])).toEqual([
      '1753-01-01 00:00:00',
      '9999-12-31 23:59:59.997',
    ]);
    expect(text(type('smalldatetime'), ['2079-06-06 23:59:00.000'])).toEqual(['2079-06-06 23:59:00']);
    expect(text(type('date'), ['2024-02-29'], 'timestamp')).toEqual(['2024-02-29 00:00:00']);
  });

  it('writes a datetimeoffset as its UTC instant, across days and years (BC included); text keeps the offset', () => {
    const dto = type('datetimeoffset', { scale: 7 });
    expect(
      text(dto, [
        '0001-01-01 00:00:00.0000000 +14:00',
        '9999-12-31 23:59:59.9999990 -12:00',
        '2024-03-01 01:30:00.5000000 +05:30',
        '2024-01-02 03:04:05.0000000 +00:00',
      ]),
    ).toEqual([
      '0001-12-31 10:00:00+00 BC',
      '10000-01-01 11:59:59.999999+00',
      '2024-02-29 20:00:00.5+00',
      '2024-01-02 03:04:05+00',
    ]);
    expect(text(dto, ['2024-03-01 01:30:00.1234567 -05:30'], 'text')).toEqual([
      '2024-03-01 01:30:00.1234567-05:30',
    ]);
    expect(() => text(dto, ['2024-03-01 01:30:00'])).toThrow(/has no offset/);
  });

  it('keeps every Unicode plane and surrogate pair, refuses or replaces NUL and unpaired surrogates', () => {
    const nv = type('nvarchar', { maxLength: 200 });
    const planes = [
      'a',
      'é',
      '€',
      '中',
      '😀',
      '\u{20000}',
      '\u{E0001}',
      '\u{10FFFF}',
      '\uFFFD',
      'a\tb\nc\\d',
    ];
    expect(text(nv, planes)).toEqual(planes);
    for (const bad of ['a\0b', 'x\uD800', '\uDC00y', '\uDBFF\uDBFF\uDC00']) {
      expect(() => text(nv, [bad]), JSON.stringify(bad)).toThrow(ValueError);
      expect(() => text(nv, [bad]), JSON.stringify(bad)).toThrow(
        /^table dbo\.t, column c: (a NUL|an unpaired UTF-16 surrogate)/,
      );
    }
    expect(text(nv, ['a\0b', 'x\uD800', '\uDC00y', '\uDBFF\uDBFF\uDC00'], undefined, replace)).toEqual([
      'a\uFFFDb',
      'x\uFFFD',
      '\uFFFDy',
      '\uFFFD\u{10FC00}',
    ]);
    expect(() => text(type('xml', { maxLength: -1 }), ['<a>\0</a>'])).toThrow(/NUL/);
  });

  it('writes bytes as bytea hex, uuids lower case, and other types mapped to text as their default type prints them', () => {
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    expect(text(type('varbinary', { maxLength: -1 }), [bytes, Buffer.alloc(0)])).toEqual([
      `\\x${bytes.toString('hex')}`,
      '\\x',
    ]);
    expect(text(type('uniqueidentifier'), ['6F9619FF-8B86-D011-B42D-00C04FC964FF'])).toEqual([
      '6f9619ff-8b86-d011-b42d-00c04fc964ff',
    ]);
    expect(text(type('char', { maxLength: 38 }), ['{6F9619FF-8B86-D011-B42D-00C04FC964FF}'], 'uuid')).toEqual(
      ['6f9619ff-8b86-d011-b42d-00c04fc964ff'],
    );
    expect(() => text(type('char', { maxLength: 36 }), ['not-a-uuid'], 'uuid')).toThrow(/is not a uuid/);
    expect(text(type('bit'), [true], 'text')).toEqual(['t']);
    expect(text(type('float', { precision: 53 }), [0.1], 'text')).toEqual(['0.1']);
    expect(text(type('varbinary', { maxLength: 4 }), [Buffer.from([1, 2])], 'text')).toEqual(['\\x0102']);
    expect(text(type('geography'), ['SRID=4326;POINT (1 2)'], 'text')).toEqual(['SRID=4326;POINT (1 2)']);
  });
});

describe('COPY lines', () => {
  it('escapes what COPY TO escapes (backslash, tab, newline, CR, backspace, form feed, vertical tab) and writes NULL as \\N', () => {
    expect(copyLine(['a\\b\tc\nd\re\bf\fg\vh\x01i', null, '', '\\N'])).toBe(
      'a\\\\b\\tc\\nd\\re\\bf\\fg\\vh\x01i\t\\N\t\t\\\\N\n',
    );
  });

  it('encodes rows in select order and names the refused value’s table, column and key', () => {
    const cols = [
      { ...column('id'), mssql: info(type('int')) },
      {
        ...column('at', { type: 'timestamp(6) without time zone' }),
        mssql: info(type('datetime2', { scale: 7 })),
      },
      { ...column('name', { type: 'text' }), mssql: info(type('nvarchar', { maxLength: -1 })) },
    ] satisfies MssqlColumn[];
    const encode = rowEncoder(cols, 'dbo.t', strict, ['id']);
    expect(encode([7, '2024-01-02 03:04:05.1000000', 'x\ty'])).toBe('7\t2024-01-02 03:04:05.1\tx\\ty\n');
    expect(encode([8, null, null])).toBe('8\t\\N\t\\N\n');
    expect(() => encode([9, '2024-01-02 03:04:05.0000001', 'x'])).toThrow(
      /^table dbo\.t, column at, key \(id\)=\(9\): the value has a non-zero 100-nanosecond digit/,
    );
    expect(() => rowEncoder(cols, 'dbo.t', strict)([9, null, 'a\0'])).toThrow(
      /^table dbo\.t, column name: a NUL/,
    );
  });
});

describe('select expressions', () => {
  const hostile = ['a]b', 'with space', "it's", 'x]]', '];DROP TABLE t;--'];
  it('quotes any column name as a bracketed identifier', () => {
    for (const name of hostile) {
      const sql = selectExpression(name, info(type('decimal', { precision: 10, scale: 2 })));
      const quoted = `[${name.replaceAll(']', ']]')}]`;
      expect(sql).toBe(`CONVERT(varchar(41), ${quoted})`);
    }
  });

  it('reads inexact JS values through exact text, code pages through the server’s Unicode conversion', () => {
    const sel = (t: MssqlType, target?: string) => selectExpression('c', info(t, target));
    expect(sel(type('int'))).toBe('[c]');
    expect(sel(type('float', { precision: 53 }))).toBe('[c]');
    expect(sel(type('money'))).toBe('CONVERT(varchar(41), CONVERT(decimal(19,4), [c]))');
    expect(sel(type('smallmoney'))).toBe('CONVERT(varchar(41), CONVERT(decimal(10,4), [c]))');
    for (const t of ['date', 'time', 'datetime', 'smalldatetime', 'datetime2', 'datetimeoffset'])
      expect(sel(type(t, { scale: 7 }))).toBe('CONVERT(varchar(40), [c], 121)');
    expect(sel(type('varchar', { maxLength: 300, codePage: 1252 }))).toBe('CONVERT(nvarchar(300), [c])');
    expect(sel(type('varchar', { maxLength: 8000, codePage: 932 }))).toBe('CONVERT(nvarchar(max), [c])');
    expect(sel(type('text', { maxLength: 16 }))).toBe('CONVERT(nvarchar(max), [c])');
    expect(sel(type('nvarchar', { maxLength: 20 }))).toBe('[c]');
    expect(sel(type('xml', { maxLength: -1 }))).toBe('CONVERT(nvarchar(max), [c])');
    expect(sel(type('uniqueidentifier'))).toBe('CONVERT(char(36), [c])');
    expect(sel(type('varbinary', { maxLength: -1 }))).toBe('[c]');
    expect(sel(type('datetime2', { scale: 7 }), 'text')).toBe('CONVERT(varchar(40), [c], 121)');
    expect(sel(type('geometry'), 'text')).toMatch(
      /^CASE WHEN \[c\] IS NULL THEN NULL ELSE CONCAT\(N'SRID=', \[c\]\.STSrid, N';', \[c\]\.AsTextZM\(\)\) END$/,
    );
    expect(sel(type('hierarchyid'), 'bytea')).toBe('CONVERT(varbinary(max), [c])');
    expect(sel(type('hierarchyid'), 'text')).toBe('CONVERT(nvarchar(max), [c])');
    expect(sel(type('sql_variant'), 'text')).toMatch(
      /SQL_VARIANT_PROPERTY\(\[c\], 'BaseType'\).*CONVERT\(float, \[c\]\), 3\)/,
    );
  });
});

// Values of every SQL Server type as tedious returns them from encode.ts's select expressions (a
// string where a JS value would lose, a number where it is exact), with the column's type: what the
// SQL Server encoder and digests are checked with against a real PostgreSQL.
import type { TypeRule } from '../../engine/api/migration.ts';
import type { MssqlColumn, MssqlType } from '../../engine/source/mssql/column.ts';
import { mapColumn } from '../../engine/source/mssql/types.ts';
import { column } from './catalog.ts';

export interface ValueCase {
  /** A name for the case (its table's). */
  name: string;
  type: MssqlType;
  /** A spec.typeMap target, else the default mapping. */
  target?: string;
  values: unknown[];
}

export const mssqlType = (name: string, o: Partial<MssqlType> = {}): MssqlType => ({
  name,
  alias: null,
  maxLength: 0,
  precision: 0,
  scale: 0,
  collation: null,
  codePage: null,
  ...o,
});

export const rulesOf = (c: ValueCase): TypeRule[] => (c.target ? [{ targetType: c.target }] : []);

const floats = [
  1e308,
  -Number.MAX_VALUE,
  5e-324,
  -2.2250738585072014e-308,
  2.225073858507201e-308,
  0.1,
  1 / 3,
  1e15,
  1e14,
  1e-5,
  1e-4,
  1e23,
  2 ** 60,
  2 ** 53 + 2,
  123456789012345680000,
  -0,
  0,
];
const reals = [
  3.4028234663852886e38,
  1.401298464324817e-45,
  1.1754943508222875e-38,
  1.1754942106924411e-38,
  0.1,
  1 / 3,
  123456,
  1234567,
  16777216,
  -59135928,
  -0,
].map(Math.fround);

/** Strings from every Unicode plane, surrogate pairs, COPY's and records' special characters. */
export const STRINGS = [
  'a',
  'é€中',
  '😀 \u{1F600}\u{1F3FD}',
  '\u{20000}\u{2A6D6}',
  '\u{E0001}\u{F0000}\u{10FFFF}',
  '\uFFFD\uFEFF\u00A0\u2028',
  'tab\there',
  'new\nline\r\n',
  'back\\slash\\N',
  'ctl\b\f\v\x01\x1f\x7f',
  'quote" \'(paren), comma',
  '{brace}',
  'NULL',
  'null',
  '',
  ' ',
  ' lead and trail ',
  // Each character that makes PostgreSQL quote a record's or array's element, alone.
  ...['"', '\\', '(', ')', ',', '{', '}', ' ', '\t', '\n', '\v', '\f', '\r'].map((ch) => `a${ch}b`),
];

export const VALUE_CASES: ValueCase[] = [
  { name: 'bit', type: mssqlType('bit'), values: [true, false, null] },
  { name: 'bit_int', type: mssqlType('bit'), target: 'smallint', values: [true, false] },
  { name: 'tinyint', type: mssqlType('tinyint'), values: [0, 255] },
  { name: 'smallint', type: mssqlType('smallint'), values: [-32768, 32767, 0] },
  { name: 'int', type: mssqlType('int'), values: [-2147483648, 2147483647] },
  { name: 'bigint', type: mssqlType('bigint'), values: ['-9223372036854775808', '9223372036854775807', '0'] },
  {
    name: 'bigint_num',
    type: mssqlType('bigint'),
    target: 'numeric(19,0)',
    values: ['-9223372036854775808'],
  },
  {
    name: 'dec38_10',
    type: mssqlType('decimal', { precision: 38, scale: 10 }),
    values: [
      '-9999999999999999999999999999.9999999999',
      '0.0000000001',
      '0.0000000000',
      '-0.0000000000',
      '1.5000000000',
    ],
  },
  {
    name: 'dec38_0',
    type: mssqlType('numeric', { precision: 38, scale: 0 }),
    values: ['9'.repeat(38), '-1', '0'],
  },
  {
    name: 'dec9_int',
    type: mssqlType('decimal', { precision: 9, scale: 0 }),
    target: 'integer',
    values: ['999999999'],
  },
  {
    name: 'money',
    type: mssqlType('money'),
    values: ['-922337203685477.5808', '922337203685477.5807', '0.0000'],
  },
  { name: 'smallmoney', type: mssqlType('smallmoney'), values: ['-214748.3648', '214748.3647'] },
  { name: 'float', type: mssqlType('float', { precision: 53 }), values: floats },
  { name: 'real', type: mssqlType('real', { precision: 24 }), values: reals },
  { name: 'real_double', type: mssqlType('real', { precision: 24 }), target: 'float8', values: reals },
  { name: 'float_text', type: mssqlType('float', { precision: 53 }), target: 'text', values: floats },
  { name: 'date', type: mssqlType('date'), values: ['0001-01-01', '9999-12-31', '2024-02-29'] },
  { name: 'date_ts', type: mssqlType('date'), target: 'timestamp', values: ['0001-01-01', '9999-12-31'] },
  {
    name: 'time7',
    type: mssqlType('time', { scale: 7 }),
    values: ['00:00:00.0000000', '23:59:59.9999990', '12:34:56.1200000'],
  },
  { name: 'time0', type: mssqlType('time', { scale: 0 }), values: ['23:59:59', '00:00:00'] },
  {
    name: 'datetime',
    type: mssqlType('datetime'),
    values: ['1753-01-01 00:00:00.000', '9999-12-31 23:59:59.997', '2024-01-02 03:04:05.003'],
  },
  {
    name: 'smalldatetime',
    type: mssqlType('smalldatetime'),
    values: ['1900-01-01 00:00:00.000', '2079-06-06 23:59:00.000'],
  },
  {
    name: 'datetime2_7',
    type: mssqlType('datetime2', { scale: 7 }),
    values: ['0001-01-01 00:00:00.0000000', '9999-12-31 23:59:59.9999990', '2024-01-02 03:04:05.1000000'],
  },
  { name: 'datetime2_0', type: mssqlType('datetime2', { scale: 0 }), values: ['2024-01-02 03:04:05'] },
  {
    name: 'datetime2_text',
    type: mssqlType('datetime2', { scale: 7 }),
    target: 'text',
    values: ['9999-12-31 23:59:59.9999999', '2024-01-02 03:04:05.0000000'],
  },
  {
    name: 'dto',
    type: mssqlType('datetimeoffset', { scale: 7 }),
    values: [
      '0001-01-01 00:00:00.0000000 +14:00',
      '0001-01-01 13:59:59.9999990 +14:00',
      '9999-12-31 23:59:59.9999990 -12:00',
      '2024-03-01 01:30:00.5000000 +05:30',
      '2024-01-02 03:04:05.0000000 +00:00',
    ],
  },
  {
    name: 'dto_text',
    type: mssqlType('datetimeoffset', { scale: 7 }),
    target: 'text',
    values: ['2024-03-01 01:30:00.1234567 -05:30', '2024-03-01 01:30:00.0000000 +00:00'],
  },
  { name: 'nvarchar', type: mssqlType('nvarchar', { maxLength: 400 }), values: [...STRINGS, null] },
  { name: 'varchar_max', type: mssqlType('varchar', { maxLength: -1, codePage: 1252 }), values: STRINGS },
  { name: 'nchar', type: mssqlType('nchar', { maxLength: 20 }), values: ['padded   ', '😀        '] },
  {
    name: 'varbinary',
    type: mssqlType('varbinary', { maxLength: -1 }),
    values: [Buffer.from(Array.from({ length: 256 }, (_, i) => i)), Buffer.alloc(0), Buffer.from('\\x00')],
  },
  {
    name: 'rowversion',
    type: mssqlType('timestamp', { maxLength: 8 }),
    values: [Buffer.from('00000000000007d1', 'hex')],
  },
  {
    name: 'uuid',
    type: mssqlType('uniqueidentifier'),
    values: ['6F9619FF-8B86-D011-B42D-00C04FC964FF', '00000000-0000-0000-0000-000000000000'],
  },
  {
    name: 'xml',
    type: mssqlType('xml', { maxLength: -1 }),
    values: ['<a b="1">x &amp; y</a>', 'text<b/><c>é😀</c>', '<r>\ttab\nline</r>', ''],
  },
  {
    name: 'geography_text',
    type: mssqlType('geography'),
    target: 'text',
    values: ['SRID=4326;POINT (1 2 3 4)'],
  },
  {
    name: 'hierarchyid_bytea',
    type: mssqlType('hierarchyid'),
    target: 'bytea',
    values: [Buffer.from('5ac0', 'hex')],
  },
];

/** The case's catalog columns: an integer id and the value column v as the type map maps it. */
export function caseColumns(k: ValueCase): MssqlColumn[] {
  const m = mapColumn(k.type, { table: k.name, column: 'v' }, rulesOf(k));
  return [
    { ...column('id', { notNull: true }), mssql: { type: mssqlType('int'), encoding: 'integer' } },
    { ...column('v', { type: m.type }), mssql: { type: k.type, encoding: m.encoding } },
  ];
}

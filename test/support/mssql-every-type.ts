// A SQL Server table `every_type.t` with a column of every type ferry maps and the values that break
// tools (limits, 38 digits, money, float extremes, offsets, every Unicode plane, a code page, every
// byte, (max) values over 1 MB), and what PostgreSQL must print for each after the migration.
import type { MssqlConnection } from '../../engine/source/mssql/connect.ts';

/** One character of each Unicode plane in use (0-3, 14-16), BMP text around them, and COPY's specials. */
export const PLANES = 'Aé漢\u{1F980}\u{20000}\u{30000}\u{E0041}\u{F0000}\u{10FFFD} tab\there \\ back\nline';
export const EVERY_BYTE = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
/** (max) values: over 1 MB each. */
export const BIG_VARCHAR = 'abcé'.repeat(400_000);
export const BIG_NVARCHAR = '漢\u{1F980}'.repeat(300_000);
export const BIG_VARBINARY = Buffer.from(Array.from({ length: 1_200_000 }, (_, i) => (i * 7) % 256));

const COLUMNS = `
  id int NOT NULL CONSTRAINT t_pkey PRIMARY KEY,
  b bit, ti tinyint, si smallint, i int, bi bigint,
  d38 decimal(38,0), d38s decimal(38,10), m money, sm smallmoney,
  f float, r real,
  dt date, tm time(7), dtm datetime, dt2 datetime2(7), sdt smalldatetime, dto datetimeoffset(7),
  ch char(5), vc varchar(40) COLLATE Latin1_General_100_CI_AS, vcy varchar(40) COLLATE Cyrillic_General_CI_AS,
  nch nchar(3), nvc nvarchar(100), vmax varchar(max) COLLATE Latin1_General_100_CI_AS, nvmax nvarchar(max),
  bin binary(4), vb varbinary(256), vbmax varbinary(max),
  u uniqueidentifier, x xml, rv rowversion`;

const NINES = '9'.repeat(38);

/** Creates and fills the table as the application; parameters carry what a literal could not. */
export async function createEveryType(app: MssqlConnection): Promise<void> {
  await app.run(`CREATE TABLE every_type.t (${COLUMNS})`);
  const list =
    'id, b, ti, si, i, bi, d38, d38s, m, sm, f, r, dt, tm, dtm, dt2, sdt, dto, ch, vc, vcy, nch, nvc, vmax, nvmax, bin, vb, vbmax, u, x';
  await app.run(
    `INSERT INTO every_type.t (${list}) VALUES
      (1, 1, 255, 32767, 2147483647, 9223372036854775807, ${NINES}, 9999999999999999999999999999.9999999999,
       922337203685477.5807, 214748.3647, 1.7976931348623157e308, 3.4028234e38,
       '9999-12-31', '23:59:59.9999990', '2024-02-29 12:34:56.500', '9999-12-31 23:59:59.9999990',
       '2079-06-06 23:59:00', '2024-02-29 23:30:00.1234560 +14:00',
       'ab', N'café €™ “q”', N'Привет', N'漢字', @p1, NULL, NULL, 0x00FF1020, @p2, NULL,
       '123E4567-E89B-12D3-A456-426614174000', N'<a b="1">text &amp; <c/></a>'),
      (2, 0, 0, -32768, -2147483648, -9223372036854775808, -${NINES}, -0.0000000001,
       -922337203685477.5808, -214748.3648, 2.2250738585072014e-308, 1.1754944e-38,
       '0001-01-01', '00:00:00', '1753-01-01 00:00:00', '0001-01-01 00:00:00',
       '1900-01-01 00:00:00', '0001-01-01 05:00:00 +05:00',
       '', '', '', N'', N'', '', N'', 0x00000000, 0x, 0x,
       '00000000-0000-0000-0000-000000000000', N''),
      (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
      (4, NULL, 1, NULL, NULL, NULL, 0, 1.5, 0.01, -0.0001, 0.0, 0.1,
       NULL, '12:00:00.1234560', NULL, '2024-01-01 00:00:00.0000010', NULL, '2024-01-01 00:00:00 -12:00',
       NULL, NULL, NULL, NULL, NULL,
       REPLICATE(CAST('abcé' AS varchar(max)), 400000), REPLICATE(CAST(@p3 AS nvarchar(max)), 300000),
       NULL, NULL, @p4, NULL, NULL)`,
    [PLANES, EVERY_BYTE, '漢\u{1F980}', BIG_VARBINARY],
  );
}

/** What PostgreSQL prints (DateStyle ISO, TimeZone UTC) for each value, by row id and column. */
export const EVERY_TYPE_EXPECTED: Record<string, Record<string, string | null>> = {
  '1': {
    b: 't',
    ti: '255',
    si: '32767',
    i: '2147483647',
    bi: '9223372036854775807',
    d38: NINES,
    d38s: '9999999999999999999999999999.9999999999',
    m: '922337203685477.5807',
    sm: '214748.3647',
    f: '1.7976931348623157e+308',
    r: '3.4028235e+38',
    dt: '9999-12-31',
    tm: '23:59:59.999999',
    dtm: '2024-02-29 12:34:56.5',
    dt2: '9999-12-31 23:59:59.999999',
    sdt: '2079-06-06 23:59:00',
    dto: '2024-02-29 09:30:00.123456+00',
    ch: 'ab   ',
    vc: 'café €™ “q”',
    vcy: 'Привет',
    nch: '漢字 ',
    nvc: PLANES,
    vmax: null,
    nvmax: null,
    bin: '\\x00ff1020',
    vb: `\\x${EVERY_BYTE.toString('hex')}`,
    vbmax: null,
    u: '123e4567-e89b-12d3-a456-426614174000',
  },
  '2': {
    b: 'f',
    ti: '0',
    si: '-32768',
    i: '-2147483648',
    bi: '-9223372036854775808',
    d38: `-${NINES}`,
    d38s: '-0.0000000001',
    m: '-922337203685477.5808',
    sm: '-214748.3648',
    f: '2.2250738585072014e-308',
    r: '1.1754944e-38',
    dt: '0001-01-01',
    tm: '00:00:00',
    dtm: '1753-01-01 00:00:00',
    dt2: '0001-01-01 00:00:00',
    sdt: '1900-01-01 00:00:00',
    dto: '0001-01-01 00:00:00+00',
    ch: '     ',
    vc: '',
    vcy: '',
    nch: '   ',
    nvc: '',
    vmax: '',
    nvmax: '',
    bin: '\\x00000000',
    vb: '\\x',
    vbmax: '\\x',
    u: '00000000-0000-0000-0000-000000000000',
  },
  '4': {
    ti: '1',
    d38: '0',
    d38s: '1.5000000000',
    m: '0.0100',
    sm: '-0.0001',
    f: '0',
    r: '0.1',
    tm: '12:00:00.123456',
    dt2: '2024-01-01 00:00:00.000001',
    dto: '2024-01-01 12:00:00+00',
    vmax: BIG_VARCHAR,
    nvmax: BIG_NVARCHAR,
    vbmax: `\\x${BIG_VARBINARY.toString('hex')}`,
  },
};

/** A datetime2(7) value PostgreSQL's microseconds cannot hold: refused, unless mapped to text. */
export const FINE_TSQL = [
  'CREATE TABLE every_type.fine (id int NOT NULL CONSTRAINT fine_pkey PRIMARY KEY, dt2 datetime2(7) NOT NULL)',
  "INSERT INTO every_type.fine VALUES (1, '2024-01-01 23:59:59.9999999')",
];

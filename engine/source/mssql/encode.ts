// Rows read from SQL Server become PostgreSQL COPY text. The reader selects each column through
// selectExpression, so tedious hands over a value that is exact: a string where its JS value would
// lose (decimals and money as digits, dates and times as ISO text with every digit, text converted
// to Unicode by the server from its code page), a JS number only where it is exact (bit, tinyint,
// smallint, int, float, real). canonicalText turns that value into what PostgreSQL's output function
// prints for the mapped type, so the target's COPY TO writes back the very bytes ferry sent
// (copyDigests). A value PostgreSQL cannot hold exactly is refused naming table and column, never
// rounded; spec.conversion.invalidCharacters may replace NUL and unpaired surrogates with U+FFFD.
import type { Conversion } from '../../api/settings.ts';
import type { Column } from '../../catalog/types.ts';
import { ValueError } from '../mysql/encode.ts';
import { mssqlInfo, type Encoding, type MssqlColumnInfo, type MssqlType } from './column.ts';
import { mssqlIdent } from './connect.ts';
import { defaultEncoding, isCharSource, type Where } from './types.ts';

export { ValueError } from '../mysql/encode.ts';

/** ODBC canonical style: every fractional digit of time, datetime2 and datetimeoffset, and the offset. */
const ISO = 121;

const name = (t: MssqlType) => t.name.toLowerCase();

/** The T-SQL text of a source type's value, where it is not read as the type itself. */
function textExpression(c: string, t: MssqlType): string {
  switch (name(t)) {
    case 'nchar':
    case 'nvarchar':
    case 'sysname':
    case 'xml':
      return name(t) === 'xml' ? `CONVERT(nvarchar(max), ${c})` : c;
    case 'char':
    case 'varchar':
      // The server converts its code page to UTF-16 exactly; max_length bytes hold at most as many characters.
      return `CONVERT(nvarchar(${t.maxLength === -1 || t.maxLength > 4000 ? 'max' : t.maxLength}), ${c})`;
    case 'text':
    case 'ntext':
      return `CONVERT(nvarchar(max), ${c})`;
    case 'geography':
    case 'geometry':
      // Extended WKT, which PostGIS reads: the SRID and every coordinate, Z and M included.
      return `CASE WHEN ${c} IS NULL THEN NULL ELSE CONCAT(N'SRID=', ${c}.STSrid, N';', ${c}.AsTextZM()) END`;
    case 'sql_variant': {
      // Each base type by its lossless style: floats with 17 digits, money with 4 decimals, dates ISO, bytes 0x hex.
      const base = `SQL_VARIANT_PROPERTY(${c}, 'BaseType')`;
      return (
        `CASE WHEN ${base} IN ('float', 'real') THEN CONVERT(nvarchar(max), CONVERT(float, ${c}), 3) ` +
        `WHEN ${base} IN ('money', 'smallmoney') THEN CONVERT(nvarchar(max), CONVERT(money, ${c}), 2) ` +
        `WHEN ${base} IN ('date', 'time', 'datetime', 'smalldatetime', 'datetime2', 'datetimeoffset') THEN CONVERT(nvarchar(max), ${c}, ${ISO}) ` +
        `WHEN ${base} IN ('binary', 'varbinary') THEN CONVERT(nvarchar(max), CONVERT(varbinary(max), ${c}), 1) ` +
        `ELSE CONVERT(nvarchar(max), ${c}) END`
      );
    }
    default:
      // hierarchyid's path (/1/3/), a CLR type's ToString().
      return `CONVERT(nvarchar(max), ${c})`;
  }
}

/**
 * The T-SQL expression reading a column so that tedious returns an exact value (the column named
 * `column` of the row source; alias it yourself).
 */
export function selectExpression(column: string, info: MssqlColumnInfo): string {
  const c = mssqlIdent(column);
  const t = info.type;
  const natural = info.encoding === 'text' && !isCharSource(t) ? defaultEncoding(t) : undefined;
  switch (natural ?? info.encoding) {
    case 'boolean':
    case 'integer':
    case 'bigint':
    case 'float8':
    case 'float4':
      return c;
    case 'decimal':
      return `CONVERT(varchar(41), ${c})`;
    case 'money':
      return `CONVERT(varchar(41), CONVERT(decimal(${name(t) === 'money' ? 19 : 10},4), ${c}))`;
    case 'date':
    case 'time':
    case 'timestamp':
    case 'timestamptz':
      return `CONVERT(varchar(40), ${c}, ${ISO})`;
    case 'uuid':
      return name(t) === 'uniqueidentifier' ? `CONVERT(char(36), ${c})` : textExpression(c, t);
    case 'bytea':
      return /binary$|^image$|^timestamp$|^rowversion$/.test(name(t)) ? c : `CONVERT(varbinary(max), ${c})`;
    case 'text':
    case 'xml':
      return textExpression(c, t);
  }
}

/** Why a value is refused, before the caller names where. */
class Refusal extends Error {}
const refuse = (why: string): never => {
  throw new Refusal(why);
};

// Floats as PostgreSQL 12+ prints them (extra_float_digits >= 1): the shortest decimal that reads
// back as the same value, in positional notation for decimal exponents -4 up to 14 (real: 5),
// otherwise as d.ddde±XX.

/** A decimal string (as toPrecision/String write it) as digits D and exponent k: D·10^k. */
function decimalOf(s: string): [bigint, number] {
  const [mantissa, exp = '0'] = s.split('e');
  const [int, frac = ''] = mantissa!.split('.');
  return [BigInt(int! + frac), Number(exp) - frac.length];
}

/** PostgreSQL's layout of the positive decimal D·10^k; `fixedBelow`: 15 for double precision, 6 for real. */
function floatLayout(d: bigint, k: number, fixedBelow: number): string {
  let digits = d.toString();
  const zeros = digits.length - digits.replace(/0+$/, '').length;
  digits = digits.slice(0, digits.length - zeros);
  const n = digits.length;
  const exp = k + zeros + n - 1;
  if (exp >= -4 && exp < fixedBelow) {
    if (exp >= n - 1) return digits + '0'.repeat(exp - n + 1);
    if (exp >= 0) return `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
    return `0.${'0'.repeat(-exp - 1)}${digits}`;
  }
  const e = Math.abs(exp).toString().padStart(2, '0');
  return `${digits[0]}${n > 1 ? `.${digits.slice(1)}` : ''}e${exp < 0 ? '-' : '+'}${e}`;
}

function special(x: number): string | undefined {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  return undefined;
}

const bits = new DataView(new ArrayBuffer(8));
const pow = (b: bigint, e: number) => b ** BigInt(e);

/**
 * The shortest decimal D·10^k strictly inside the rounding interval of the positive float x =
 * m·2^e (PostgreSQL's Ryu excludes the bounds, unlike JS), the closest to x of that length, ties to
 * an even D. `lowerCloser`: x is a power of two, its lower neighbour half as far. Exact: candidates
 * are compared with the interval in integers.
 */
function shortest(x: number, m: bigint, e: number, lowerCloser: boolean): [bigint, number] {
  // x and its interval's bounds, in units of 2^(e-2).
  const v = 4n * m;
  const [lo, hi] = [lowerCloser ? v - 1n : v - 2n, v + 2n];
  for (let p = 1; p <= 17; p++) {
    const [d, k] = decimalOf(x.toPrecision(p));
    // c·10^k and u·2^(e-2), scaled to integers alike.
    const decimal = (c: bigint) => c * pow(10n, Math.max(k, 0)) * pow(2n, Math.max(2 - e, 0));
    const binary = (u: bigint) => u * pow(2n, Math.max(e - 2, 0)) * pow(10n, Math.max(-k, 0));
    const [l, h, at] = [binary(lo), binary(hi), binary(v)];
    let best: [bigint, bigint] | undefined;
    for (const c of [d - 1n, d, d + 1n]) {
      const y = decimal(c);
      if (c <= 0n || y <= l || y >= h) continue;
      const distance = y > at ? y - at : at - y;
      if (!best || distance < best[1] || (distance === best[1] && c % 2n === 0n)) best = [c, distance];
    }
    if (best) return [best[0], k];
  }
  throw new Error(`internal: no shortest decimal for ${x}`);
}

/**
 * A double as PostgreSQL prints double precision. Below 2^52 no bound of a double's interval has 17
 * or fewer digits, so JS's shortest round-trip text (String) is PostgreSQL's; above, exactly.
 */
export function float8Text(x: number): string {
  const s = special(x);
  if (s !== undefined) return s;
  const a = Math.abs(x);
  let d: bigint;
  let k: number;
  if (a < 2 ** 52) [d, k] = decimalOf(String(a));
  else {
    bits.setFloat64(0, a);
    const exponent = bits.getUint16(0) >>> 4;
    const fraction = bits.getBigUint64(0) & 0xfffffffffffffn;
    [d, k] = shortest(a, fraction | 0x10000000000000n, exponent - 1075, fraction === 0n);
  }
  return `${x < 0 ? '-' : ''}${floatLayout(d, k, 15)}`;
}

/** A real (tedious hands over its value as a double) as PostgreSQL prints real. */
export function float4Text(x: number): string {
  const s = special(x);
  if (s !== undefined) return s;
  bits.setFloat32(0, x);
  if (bits.getFloat32(0) !== x) throw new Error(`internal: ${x} is not a real`);
  const exponent = (bits.getUint32(0) >>> 23) & 0xff;
  const fraction = bits.getUint32(0) & 0x7fffff;
  const m = BigInt(exponent === 0 ? fraction : fraction | 0x800000);
  const [d, k] = shortest(
    Math.abs(x),
    m,
    (exponent === 0 ? 1 : exponent) - 150,
    fraction === 0 && exponent > 1,
  );
  return `${x < 0 ? '-' : ''}${floatLayout(d, k, 6)}`;
}

/** numeric's text: digits as SQL Server wrote them (its scale's zeros kept), no negative zero. */
function decimalText(s: string): string {
  const m = /^(-?)(\d*)(?:\.(\d+))?$/.exec(s.trim());
  if (!m || (m[2] === '' && m[3] === undefined))
    return refuse(`the value ${JSON.stringify(s)} is not a decimal`);
  const [, sign, digits, frac] = m;
  const int = digits!.replace(/^0+/, '') || '0';
  const zero = /^0*$/.test(int + (frac ?? ''));
  return `${zero ? '' : sign}${int}${frac === undefined ? '' : `.${frac}`}`;
}

const TEMPORAL =
  /^(?:(\d{4})-(\d{2})-(\d{2}))?(?:[ T]?(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?)?(?:\s*(Z|[+-]\d{2}:\d{2}))?$/;

interface Temporal {
  date?: [number, number, number];
  time?: [number, number, number];
  /** Fractional-second digits as written (up to 7). */
  fraction: string;
  /** Offset east of UTC in minutes. */
  offset?: number;
}

function parseTemporal(s: string): Temporal {
  const m = TEMPORAL.exec(s.trim());
  if (!m || (m[1] === undefined && m[4] === undefined))
    return refuse(`the value ${JSON.stringify(s)} is not a date or time SQL Server writes`);
  const n = (i: number) => Number(m[i]);
  const offset = m[8] === undefined ? undefined : m[8] === 'Z' ? 0 : offsetMinutes(m[8]);
  return {
    ...(m[1] !== undefined ? { date: [n(1), n(2), n(3)] as [number, number, number] } : {}),
    ...(m[4] !== undefined ? { time: [n(4), n(5), n(6)] as [number, number, number] } : {}),
    fraction: m[7] ?? '',
    ...(offset !== undefined ? { offset } : {}),
  };
}

function offsetMinutes(o: string): number {
  const minutes = Number(o.slice(1, 3)) * 60 + Number(o.slice(4, 6));
  return o[0] === '-' ? -minutes : minutes;
}

const two = (n: number) => String(n).padStart(2, '0');

/** `.ffffff` as PostgreSQL prints it: trailing zeros dropped; a 100-ns digit refused unless kept (text). */
function fractionText(f: string, keep7: boolean): string {
  if (f.length === 7 && f[6] !== '0' && !keep7)
    refuse(
      `the value has a non-zero 100-nanosecond digit (.${f}), which PostgreSQL's microseconds cannot hold: ` +
        'map the column to text to keep it (spec.typeMap)',
    );
  const kept = (keep7 ? f : f.slice(0, 6)).replace(/0+$/, '');
  return kept ? `.${kept}` : '';
}

/** A calendar date as PostgreSQL prints it: 4-digit (or longer) years, year 0 and before as BC. */
function dateText(y: number, mo: number, d: number): [string, string] {
  const bc = y <= 0;
  return [`${String(bc ? 1 - y : y).padStart(4, '0')}-${two(mo)}-${two(d)}`, bc ? ' BC' : ''];
}

function timeText([h, mi, s]: [number, number, number], fraction: string, keep7: boolean): string {
  return `${two(h)}:${two(mi)}:${two(s)}${fractionText(fraction, keep7)}`;
}

/** `+01`, `-05:30`, `+00` as PostgreSQL prints an offset. */
function offsetText(minutes: number): string {
  const a = Math.abs(minutes);
  return `${minutes < 0 ? '-' : '+'}${two(Math.floor(a / 60))}${a % 60 ? `:${two(a % 60)}` : ''}`;
}

/** The same wall-clock moment `minutes` earlier, across days, months and years (BC included). */
function shift(date: [number, number, number], time: [number, number, number], minutes: number) {
  const d = new Date(0);
  d.setUTCFullYear(date[0], date[1] - 1, date[2]);
  d.setUTCHours(time[0], time[1] - minutes, time[2], 0);
  return {
    date: [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()] as [number, number, number],
    time: [d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()] as [number, number, number],
  };
}

/** A date, time, timestamp or timestamptz as PostgreSQL prints it (ISO, session TimeZone UTC). */
function temporalText(s: string, e: Encoding, keep7: boolean): string {
  const v = parseTemporal(s);
  const time = v.time ?? [0, 0, 0];
  if (e === 'time') {
    if (!v.time) return refuse(`the value ${JSON.stringify(s)} is not a time`);
    return timeText(time, v.fraction, keep7);
  }
  if (!v.date) return refuse(`the value ${JSON.stringify(s)} is not a date`);
  if (e === 'date') return dateText(...v.date).join('');
  if (e === 'timestamp') {
    const [date, era] = dateText(...v.date);
    return `${date} ${timeText(time, v.fraction, keep7)}${era}`;
  }
  if (v.offset === undefined) return refuse(`the value ${JSON.stringify(s)} has no offset`);
  // text keeps the offset it was written with; timestamptz is the instant, printed in UTC.
  const at = keep7 ? { date: v.date, time } : shift(v.date, time, v.offset);
  const [date, era] = dateText(...at.date);
  return `${date} ${timeText(at.time, v.fraction, keep7)}${offsetText(keep7 ? v.offset : 0)}${era}`;
}

const UUID = /^\{?([0-9a-f]{8})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{12})\}?$/i;

function uuidText(s: string): string {
  const m = UUID.exec(s.trim());
  if (!m) return refuse(`the value ${JSON.stringify(s)} is not a uuid`);
  return m.slice(1).join('-').toLowerCase();
}

/** NUL (PostgreSQL text cannot hold it) and a lone half of a surrogate pair (no UTF-8 for it). */
const INVALID = /\0|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const SUSPECT = /[\0\uD800-\uDFFF]/;

function unicodeText(s: string, conversion: Conversion): string {
  if (!SUSPECT.test(s)) return s;
  INVALID.lastIndex = 0;
  const bad = INVALID.exec(s);
  if (!bad) return s;
  if (conversion.invalidCharacters === 'Replace') return s.replace(INVALID, '\uFFFD');
  return refuse(
    bad[0] === '\0'
      ? 'a NUL character (PostgreSQL text cannot hold it; spec.conversion.invalidCharacters: Replace makes it U+FFFD)'
      : `an unpaired UTF-16 surrogate (U+${bad[0].charCodeAt(0).toString(16).toUpperCase()}), which is no character ` +
          '(spec.conversion.invalidCharacters: Replace makes it U+FFFD)',
  );
}

function expect<T>(value: unknown, kind: string, ok: (v: unknown) => v is T): T {
  if (!ok(value)) refuse(`internal: expected ${kind} from tedious, got ${typeof value} ${String(value)}`);
  return value as T;
}
const isString = (v: unknown): v is string => typeof v === 'string';
const isNumber = (v: unknown): v is number => typeof v === 'number';

function text(value: unknown, e: Encoding, t: MssqlType, conversion: Conversion, keep7: boolean): string {
  switch (e) {
    case 'boolean':
      return expect(value, 'a boolean', (v): v is boolean => typeof v === 'boolean') ? 't' : 'f';
    case 'integer':
      if (typeof value === 'boolean') return value ? '1' : '0';
      return String(expect(value, 'an integer', (v): v is number => Number.isSafeInteger(v)));
    case 'bigint':
      return expect(value, 'an integer as text', (v): v is string => isString(v) && /^-?\d+$/.test(v));
    case 'decimal':
    case 'money':
      return decimalText(expect(value, 'a decimal as text', isString));
    case 'float8':
      return float8Text(expect(value, 'a float', isNumber));
    case 'float4':
      return float4Text(expect(value, 'a real', isNumber));
    case 'date':
    case 'time':
    case 'timestamp':
    case 'timestamptz':
      return temporalText(expect(value, 'a date or time as text', isString), e, keep7);
    case 'uuid':
      return uuidText(expect(value, 'a uuid as text', isString));
    case 'bytea':
      return `\\x${expect(value, 'bytes', (v): v is Buffer => Buffer.isBuffer(v)).toString('hex')}`;
    case 'xml':
      return unicodeText(expect(value, 'xml as text', isString), conversion);
    case 'text': {
      const natural = isCharSource(t) ? undefined : defaultEncoding(t);
      if (natural && natural !== 'text') return text(value, natural, t, conversion, true);
      return unicodeText(expect(value, 'text', isString), conversion);
    }
  }
}

/**
 * PostgreSQL's text output for the mapped type of a value as tedious returns it from
 * selectExpression (null for NULL). Throws a ValueError naming table and column for a value the
 * target cannot hold exactly.
 */
export function canonicalText(
  value: unknown,
  info: MssqlColumnInfo,
  at: Where,
  conversion: Conversion,
): string | null {
  if (value === null || value === undefined) return null;
  try {
    return text(value, info.encoding, info.type, conversion, false);
  } catch (e) {
    if (!(e instanceof Refusal)) throw e;
    throw new ValueError(`table ${at.table}, column ${at.column}: ${e.message}`);
  }
}

/** What COPY's text format escapes: backslash and the control characters it names. */
const COPY_ESCAPE = /[\\\b\f\n\r\t\v]/g;
const COPY_ESCAPES: Readonly<Record<string, string>> = {
  '\\': '\\\\',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\v': '\\v',
};

/** One value (or a piece of one) as a COPY text field, escaped exactly as PostgreSQL's COPY TO writes it; NULL as \N. */
export const copyField = (t: string | null | undefined): string =>
  t === null || t === undefined ? '\\N' : t.replace(COPY_ESCAPE, (c) => COPY_ESCAPES[c]!);

/** One row as a COPY text line. */
export function copyLine(texts: readonly (string | null)[]): string {
  let line = '';
  for (let i = 0; i < texts.length; i++) {
    if (i > 0) line += '\t';
    line += copyField(texts[i]);
  }
  return `${line}\n`;
}

/**
 * A piece of a text value read apart (large-values.ts) checked as canonicalText checks the whole:
 * the caller never splits a surrogate pair between pieces, so each piece is refused (or has U+FFFD
 * put in) exactly where the whole value would be. `where` names table, column and row.
 */
export function unicodePiece(s: string, conversion: Conversion, where: string): string {
  try {
    return unicodeText(s, conversion);
  } catch (e) {
    if (!(e instanceof Refusal)) throw e;
    throw new ValueError(`${where}: ${e.message}`);
  }
}

/**
 * A row's values (in select order, each column read by selectExpression) as their canonical texts.
 * A refused value names table, column and, where the key is among the columns, the row's key.
 */
export function rowTexts(
  columns: readonly Column[],
  table: string,
  conversion: Conversion,
  key: readonly string[] = [],
): (values: readonly unknown[]) => (string | null)[] {
  const infos = columns.map((c) => mssqlInfo(c));
  const keyAt = key.map((k) => columns.findIndex((c) => c.name === k));
  return (values) => {
    const texts = new Array<string | null>(columns.length);
    for (let i = 0; i < columns.length; i++) {
      const v = values[i];
      try {
        texts[i] =
          v === null || v === undefined
            ? null
            : text(v, infos[i]!.encoding, infos[i]!.type, conversion, false);
      } catch (e) {
        if (!(e instanceof Refusal)) throw e;
        const row =
          keyAt.length && !keyAt.includes(-1)
            ? `, key (${key.join(', ')})=(${keyAt.map((j) => String(values[j])).join(', ')})`
            : '';
        throw new ValueError(`table ${table}, column ${columns[i]!.name}${row}: ${e.message}`);
      }
    }
    return texts;
  };
}

/** The reader's encoder: a row's values (as rowTexts takes them) to its COPY line. */
export function rowEncoder(
  columns: readonly Column[],
  table: string,
  conversion: Conversion,
  key: readonly string[] = [],
): (values: readonly unknown[]) => string {
  const texts = rowTexts(columns, table, conversion, key);
  return (values) => copyLine(texts(values));
}

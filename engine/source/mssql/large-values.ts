// Large varchar(max), nvarchar(max) and varbinary(max) values, read apart so that none is ever held
// whole: tedious assembles a value in memory before handing it over (it cannot stream one column), and
// a value over a few hundred MB cannot even be one JS string. A row's SELECT reads such a column as
// NULL when its DATALENGTH is over a threshold, and the DATALENGTH after the row's columns; the reader
// (read.ts) reads a row with such a value again by its key after the result, and each large value in
// SUBSTRING slices, each slice encoded to COPY text as it arrives. xml, text/ntext/image and (max)
// columns converted to another type are read whole.
import type { Conversion } from '../../api/settings.ts';
import type { MssqlColumnInfo } from './column.ts';
import { mssqlIdent, type MssqlConnection } from './connect.ts';
import { copyField, selectExpression, unicodePiece } from './encode.ts';

/** A (max) value over this many bytes is read apart. */
export const LARGE_VALUE_BYTES = 1024 * 1024;
/** Characters (varchar, nvarchar) or bytes (varbinary) per slice of a value read apart. */
export const SLICE_UNITS = 256 * 1024;

/** How a value read apart is sliced (see sliceExpression). */
export type Slicing = 'nvarchar' | 'varchar' | 'converted' | 'bytes';

/** Single-byte code pages: a varchar's bytes are its characters, so a slice never splits one. */
const SINGLE_BYTE = new Set([437, 850, 874, 1250, 1251, 1252, 1253, 1254, 1255, 1256, 1257, 1258]);

/** How a column's large values are sliced; undefined: its values are read whole. */
export function slicing(info: MssqlColumnInfo): Slicing | undefined {
  const t = info.type;
  if (t.maxLength !== -1) return undefined;
  const name = t.name.toLowerCase();
  // bytea, or text of bytea (`\x...`): the same COPY text.
  if (name === 'varbinary')
    return info.encoding === 'bytea' || info.encoding === 'text' ? 'bytes' : undefined;
  if (info.encoding !== 'text') return undefined;
  if (name === 'nvarchar') return 'nvarchar';
  if (name !== 'varchar') return undefined;
  // A double-byte or UTF-8 code page: slicing the bytes could cut a character in two.
  return t.codePage !== null && SINGLE_BYTE.has(t.codePage) ? 'varchar' : 'converted';
}

/**
 * A row's select list: each column (named as the row source has it) through `expression`, those at
 * the positions `large` as NULL when over `bytes`, then each of those columns' DATALENGTH (NULL for
 * NULL), so a large value arrives as NULL beside a length.
 */
export function largeSelectList(
  names: readonly string[],
  infos: readonly MssqlColumnInfo[],
  large: readonly number[],
  bytes: number,
  expression: (column: string, info: MssqlColumnInfo) => string = selectExpression,
): string[] {
  const list = names.map((n, i) => {
    const e = expression(n, infos[i]!);
    if (!large.includes(i)) return e;
    return `CASE WHEN DATALENGTH(${mssqlIdent(n)}) > ${Math.floor(bytes)} THEN NULL ELSE ${e} END`;
  });
  return [...list, ...large.map((i) => `DATALENGTH(${mssqlIdent(names[i]!)})`)];
}

/**
 * `n` units of a column's value from `offset` (1-based): characters of an nvarchar (code units, or
 * code points under a supplementary-character collation), of a single-byte varchar converted to
 * Unicode slice by slice, of a double-byte or UTF-8 varchar converted whole first (its slices then
 * cut characters, never bytes); bytes of a varbinary.
 */
export function sliceExpression(column: string, how: Slicing, offset: number, n: number): string {
  const c = mssqlIdent(column);
  const at = `${Math.floor(offset)}, ${Math.floor(n)}`;
  if (how === 'varchar') return `CONVERT(nvarchar(max), SUBSTRING(${c}, ${at}))`;
  if (how === 'converted') return `SUBSTRING(CONVERT(nvarchar(max), ${c}), ${at})`;
  return `SUBSTRING(${c}, ${at})`;
}

/** The rows of a statement, each as its values in select order. */
export async function rowsOf(c: Pick<MssqlConnection, 'stream'>, sql: string): Promise<unknown[][]> {
  const out: unknown[][] = [];
  await c.stream(sql, [], { row: (values) => void out.push(values) });
  return out;
}

export interface LargeValue {
  c: Pick<MssqlConnection, 'stream'>;
  /** `[schema].[table] WHERE <the row's key>`: the one row holding the value. */
  from: string;
  column: string;
  how: Slicing;
  /** Units per slice. */
  slice: number;
  conversion: Conversion;
  /** The value as messages name it: table, column and the row's key. */
  where: string;
}

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;

/**
 * Writes one large value as its COPY text field, slice by slice, each through `write` (which waits
 * while the consumer lags): text escaped per slice, a high surrogate ending a slice carried over to
 * the next, so the pieces are exactly canonicalText's text through copyField; bytes as `\\x` and hex.
 */
export async function writeLargeValue(v: LargeValue, write: (piece: string) => Promise<void>): Promise<void> {
  if (v.how === 'bytes') await write(copyField('\\x'));
  let carry = '';
  for (let offset = 1; ; offset += v.slice) {
    const rows = await rowsOf(
      v.c,
      `SELECT ${sliceExpression(v.column, v.how, offset, v.slice)} FROM ${v.from}`,
    );
    const got = rows[0]?.[0];
    if (rows.length !== 1 || got === null || got === undefined)
      throw new Error(`${v.where}: the row or its value is gone when read again (slice at ${offset})`);
    let units: number;
    if (Buffer.isBuffer(got)) {
      units = got.length;
      await write(got.toString('hex'));
    } else if (typeof got === 'string') {
      units = got.length;
      let s = carry + got;
      carry = s.length && isHighSurrogate(s.charCodeAt(s.length - 1)) ? s.slice(-1) : '';
      if (carry) s = s.slice(0, -1);
      if (s) await write(copyField(unicodePiece(s, v.conversion, v.where)));
    } else throw new Error(`internal: ${v.where}: a slice of ${typeof got}`);
    // Fewer units than asked: the end (under a supplementary-character collation a slice of n code
    // points holds n or more code units, so a full one may be followed by an empty one).
    if (units < v.slice) break;
  }
  // A value ending in half a pair: refused, or U+FFFD, as the whole value's last character would be.
  if (carry) await write(copyField(unicodePiece(carry, v.conversion, v.where)));
}

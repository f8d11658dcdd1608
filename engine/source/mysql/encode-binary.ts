// Values of a MySQL text-protocol row as PostgreSQL binary COPY fields (encode.ts writes the rows).
// Binary COPY spares the target its text parsing (numbers, dates and timestamps above all), so a
// table travels in it when every copied column has a binary form here that is exact: integers,
// decimals, booleans, dates and timestamps, text, json, enum labels, bytes and uuid. Others
// (floats, bit, time, set, inet...) keep the table in COPY text (binaryField: null).
//
// Exact by construction: integers of up to 15 digits are below 2^53 and so exact in a double, longer
// ones go through BigInt; decimals become base-10000 digit groups straight from their digits; dates
// are checked against the calendar and counted in whole days and microseconds.
import type { Conversion } from '../../api/settings.ts';
import { utf8Of, REPLACEMENT } from './charsets.ts';
import { notABoolean, notALabel, nulCharacter, Out, outsideRange, refuse, SHORT } from './copy-out.ts';
import { dayMicros, pgDays, zeroDate, zeroDateAs } from './dates.ts';
import { targetFamily, type Encoding } from './types.ts';

/** How one column's values are written in binary COPY. */
export type BinaryField =
  'int2' | 'int4' | 'int8' | 'numeric' | 'bool' | 'date' | 'timestamp' | 'text' | 'bytes' | 'uuid';

/**
 * The binary form of a column of target type `type` (as the catalog names it: an enum's is its
 * quoted name) read with `e`, or null when it has none here: its table is copied in COPY text.
 */
export function binaryField(type: string, e: Encoding): BinaryField | null {
  const family = targetFamily(type);
  switch (e.kind) {
    case 'number':
      if (type === 'smallint') return 'int2';
      if (type === 'integer') return 'int4';
      if (type === 'bigint') return 'int8';
      return family === 'numeric' ? 'numeric' : null;
    case 'boolean':
      return family === 'boolean' ? 'bool' : null;
    case 'date':
      if (family === 'date') return 'date';
      return family === 'timestamp' || family === 'timestamptz' ? 'timestamp' : null;
    case 'text':
      // An enum's labels go to a PostgreSQL enum (its receive function reads the label) or to text.
      return e.members || family === 'text' || family === 'json' ? 'text' : null;
    case 'bytes':
      if (e.as === 'bytea') return family === 'bytea' ? 'bytes' : null;
      return family === 'uuid' ? 'uuid' : null;
    default:
      return null;
  }
}

/** The file header: signature, flags, no header extension. */
export const BINARY_HEADER = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)]);

const MINUS = 0x2d;
const DOT = 0x2e;
const TWO_32 = 2 ** 32;
const INT8_RANGE = ['-9223372036854775808', '9223372036854775807'] as const;
/** 86,400,000,000 µs a day = DAY_HI * 2^32 + DAY_LO, so days × a day splits into exact halves. */
const DAY_HI = 20;
const DAY_LO = 500_654_080;

/** The integer in ASCII digits (optional minus), exact up to 15 digits; -0 is never sent. */
function smallInteger(p: Buffer, start: number, end: number): number {
  let i = start;
  const negative = p[i] === MINUS;
  if (negative) i++;
  let v = 0;
  for (; i < end; i++) {
    const d = p[i]! - 0x30;
    if (d < 0 || d > 9) throw new Error(`internal: ${p.toString('latin1', start, end)} is not an integer`);
    v = v * 10 + d;
  }
  return negative ? -v : v;
}

/** Writes an int64 field (length 8) given as a double's exact halves: hi × 2^32 + lo, 0 <= lo < 2^32. */
function int64(out: Out, hi: number, lo: number): void {
  out.ensure(12);
  const buf = out.buf;
  let pos = out.pos;
  buf[pos++] = 0;
  buf[pos++] = 0;
  buf[pos++] = 0;
  buf[pos++] = 8;
  buf[pos++] = hi >>> 24;
  buf[pos++] = hi >>> 16;
  buf[pos++] = hi >>> 8;
  buf[pos++] = hi;
  buf[pos++] = lo >>> 24;
  buf[pos++] = lo >>> 16;
  buf[pos++] = lo >>> 8;
  buf[pos++] = lo;
  out.pos = pos;
}

function integer(p: Buffer, start: number, end: number, bytes: 2 | 4 | 8, e: Encoding, out: Out): void {
  const range = e.kind === 'number' ? e.range : undefined;
  if (end - start <= 15) {
    const v = smallInteger(p, start, end);
    if (range && (v < Number(range[0]) || v > Number(range[1]))) outsideRange(String(v), range);
    if (bytes === 2) {
      out.int32(2);
      return out.int16(v);
    }
    if (bytes === 4) {
      out.int32(4);
      return out.int32(v);
    }
    const hi = Math.floor(v / TWO_32);
    return int64(out, hi, v - hi * TWO_32);
  }
  if (bytes !== 8) throw new Error(`internal: ${end - start} characters for a ${bytes}-byte integer`);
  const v = BigInt(p.toString('latin1', start, end));
  const bounds = range ?? INT8_RANGE;
  if (v < BigInt(bounds[0]) || v > BigInt(bounds[1])) outsideRange(String(v), bounds);
  out.int32(8);
  out.ensure(8);
  out.pos = out.buf.writeBigInt64BE(v, out.pos);
}

/** Base-10000 digit groups of a decimal, reused (MySQL's decimals have at most 65 digits). */
const groups = new Int16Array(64);

/**
 * A decimal's digits as PostgreSQL's numeric: base-10000 groups around the point, weight (the first
 * group's power of 10000), sign and display scale (the digits after the point, as sent).
 */
function numeric(p: Buffer, start: number, end: number, out: Out): void {
  let i = start;
  const negative = p[i] === MINUS;
  if (negative) i++;
  let dot = end;
  for (let j = i; j < end; j++) {
    const c = p[j]!;
    if (c === DOT && dot === end) dot = j;
    else if (c < 0x30 || c > 0x39)
      throw new Error(`internal: ${p.toString('latin1', start, end)} is not a decimal`);
  }
  const scale = dot < end ? end - dot - 1 : 0;
  // Digits are grouped from the point: the integer part's first group may be short, the fraction's
  // last is padded with zeros.
  const intDigits = dot - i;
  const intGroups = Math.ceil(intDigits / 4);
  const count = intGroups + Math.ceil(scale / 4);
  if (count > groups.length) throw new Error(`internal: a decimal of ${end - start} characters`);
  let g = 0;
  let v = 0;
  let k = (4 - (intDigits % 4)) % 4;
  for (let j = i; j < end; j++) {
    if (j === dot) continue;
    v = v * 10 + p[j]! - 0x30;
    if (++k < 4) continue;
    groups[g++] = v;
    v = 0;
    k = 0;
  }
  if (k) groups[g++] = v * 10 ** (4 - k);
  let first = 0;
  let last = count;
  while (first < last && groups[first] === 0) first++;
  while (last > first && groups[last - 1] === 0) last--;
  const n = last - first;
  const weight = n ? intGroups - 1 - first : 0;
  out.ensure(12 + 2 * n);
  const buf = out.buf;
  let pos = out.pos;
  buf[pos++] = 0;
  buf[pos++] = 0;
  buf[pos++] = 0;
  buf[pos++] = 8 + 2 * n;
  buf[pos++] = 0;
  buf[pos++] = n;
  buf[pos++] = weight >> 8;
  buf[pos++] = weight;
  buf[pos++] = negative && n ? 0x40 : 0;
  buf[pos++] = 0;
  buf[pos++] = scale >> 8;
  buf[pos++] = scale;
  for (let j = first; j < last; j++) {
    const group = groups[j]!;
    buf[pos++] = group >> 8;
    buf[pos++] = group;
  }
  out.pos = pos;
}

function moment(
  p: Buffer,
  start: number,
  end: number,
  f: 'date' | 'timestamp',
  c: Conversion,
  out: Out,
): void {
  if (zeroDate(p, start)) {
    if (zeroDateAs(c, p, start, end) === 'null') return out.int32(-1);
    // -infinity: the type's smallest value.
    if (f === 'date') return (out.int32(4), out.int32(-(2 ** 31)));
    return int64(out, -(2 ** 31), 0);
  }
  const days = pgDays(p, start, end);
  if (f === 'date') return (out.int32(4), out.int32(days));
  // days × DAY + µs, |days| < 3e6: every partial product stays below 2^53.
  const x = days * DAY_LO + dayMicros(p, start, end);
  const carry = Math.floor(x / TWO_32);
  return int64(out, days * DAY_HI + carry, x - carry * TWO_32);
}

/** UTF-8 without NUL, which PostgreSQL text cannot hold: refused, or replaced with invalidCharacters: Replace. */
function withoutNul(u: Buffer, replace: boolean): Buffer {
  if (u.indexOf(0) < 0) return u;
  if (!replace) nulCharacter();
  const parts: Buffer[] = [];
  let from = 0;
  for (let at = u.indexOf(0); at >= 0; at = u.indexOf(0, from)) {
    parts.push(u.subarray(from, at), REPLACEMENT);
    from = at + 1;
  }
  parts.push(u.subarray(from));
  return Buffer.concat(parts);
}

/** Whether a short value is ASCII without NUL, to be written as it lies in the packet. */
function plainAscii(p: Buffer, start: number, end: number): boolean {
  if (end - start > SHORT) return false;
  for (let i = start; i < end; i++) {
    const c = p[i]!;
    if (c === 0 || c >= 0x80) return false;
  }
  return true;
}

function text(p: Buffer, start: number, end: number, e: Encoding, c: Conversion, out: Out): void {
  if (e.kind === 'text' && !e.members && plainAscii(p, start, end)) {
    out.int32(end - start);
    return out.bytes(p, start, end);
  }
  if (e.kind !== 'text') throw new Error(`internal: a ${e.kind} value written as text`);
  const replace = c.invalidCharacters === 'Replace';
  const b = p.subarray(start, end);
  const u = withoutNul(utf8Of(b, e.charset, replace), replace);
  if (e.members && !e.members.includes(u.toString())) notALabel(u.toString());
  out.int32(u.length);
  out.bytes(u);
}

/** One value, bytes `start` to `end` of a row packet, as a binary COPY field (its length, then its bytes). */
export function binaryValue(
  p: Buffer,
  start: number,
  end: number,
  f: BinaryField,
  e: Encoding,
  out: Out,
  c: Conversion,
): void {
  switch (f) {
    case 'int2':
      return integer(p, start, end, 2, e, out);
    case 'int4':
      return integer(p, start, end, 4, e, out);
    case 'int8':
      return integer(p, start, end, 8, e, out);
    case 'numeric':
      return numeric(p, start, end, out);
    case 'bool':
      if (end - start === 1 && (p[start] === 0x30 || p[start] === 0x31)) {
        out.int32(1);
        return out.byte(p[start] === 0x31 ? 1 : 0);
      }
      return notABoolean(p.toString('latin1', start, end));
    case 'date':
    case 'timestamp':
      return moment(p, start, end, f, c, out);
    case 'text':
      return text(p, start, end, e, c, out);
    case 'bytes':
      out.int32(end - start);
      return out.bytes(p, start, end);
    case 'uuid':
      if (end - start !== 16) refuse(`${end - start} bytes, not the 16 of a uuid`);
      out.int32(16);
      return out.bytes(p, start, end);
  }
}

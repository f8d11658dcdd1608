// Rows read from MySQL/MariaDB become PostgreSQL COPY rows, binary or text (the table's format:
// encode-binary.ts says which columns have a binary form). Each row arrives as the packet the text
// protocol sends (row-packets.ts: no JS number, no parsed date, no re-serialized JSON; text columns
// unconverted, the session reads with character_set_results = binary) and each value is written
// straight from its bytes in the packet, decoded from the column's declared charset into UTF-8. A
// value the target cannot hold is refused naming its table, column and key, or handled by
// spec.conversion.
import type { Conversion } from '../../api/settings.ts';
import type { CopyFormat } from '../dialect.ts';
import { REPLACEMENT, utf8Of } from './charsets.ts';
import {
  isAscii,
  notABoolean,
  notALabel,
  nulCharacter,
  Out,
  outsideRange,
  Refusal,
  refuse,
  SHORT,
} from './copy-out.ts';
import { checkCalendar, zeroDate, zeroDateAs } from './dates.ts';
import { BINARY_HEADER, binaryValue, type BinaryField } from './encode-binary.ts';
import type { Encoding } from './types.ts';

/** mysql2's typeCast: false hands every value over as the bytes the server sent (null for NULL). */
export const RAW_VALUES = { rowsAsArray: true, typeCast: false } as const;

export interface EncodedColumn {
  name: string;
  encoding: Encoding;
  /** Its binary form (encode-binary.ts binaryField): required in binary COPY. */
  binary?: BinaryField | null;
}

export interface EncoderOptions {
  /** For messages: the table as the run names it. */
  table: string;
  /** The columns in the order the rows carry them. */
  columns: readonly EncodedColumn[];
  /** The key's columns (names), to name a refused row. */
  key: readonly string[];
  conversion: Conversion;
  /** Binary COPY when every column has a binary form, else text (the default). */
  format?: CopyFormat;
}

/** A value ferry refuses to write: the message names table, column and key. */
export class ValueError extends Error {
  override name = 'ValueError';
}

const TAB = 0x09;
const NL = 0x0a;
const CR = 0x0d;
const BACKSLASH = 0x5c;
const NULL_VALUE = Buffer.from('\\N');

/** The bytes COPY text escapes (NUL: refused or replaced). */
const SPECIAL = new Uint8Array(256);
for (const c of [0, TAB, NL, CR, BACKSLASH]) SPECIAL[c] = 1;
/** Longer values are searched for those bytes natively (five memchr calls beat the loop from here). */
const LONG = 128;
const UTC = Buffer.from('+00');
const BYTEA_HEX = Buffer.from('\\\\x');
/** Each byte's two hex digits, as ASCII. */
const HEX = Buffer.from(
  Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0')).join(''),
  'latin1',
);

/** Bytes as hex digits. */
function hex(out: Out, b: Buffer, start: number, end: number): void {
  if (end - start > SHORT) return out.ascii(b.toString('hex', start, end));
  out.ensure((end - start) * 2);
  const buf = out.buf;
  let pos = out.pos;
  for (let i = start; i < end; i++) {
    const at = b[i]! * 2;
    buf[pos++] = HEX[at]!;
    buf[pos++] = HEX[at + 1]!;
  }
  out.pos = pos;
}

/** EWKB's flag in a geometry's type: an SRID follows. */
const EWKB_SRID = 0x20000000;
/** An EWKB header, rewritten for each value (hex() has copied it out before the next). */
const EWKB_HEAD = Buffer.alloc(9);
const EWKB_HEAD_VIEW = new DataView(EWKB_HEAD.buffer, EWKB_HEAD.byteOffset, 9);
/** The largest SRID PostGIS keeps; it turns a larger one into another (999001, or 0) with a mere NOTICE. */
const POSTGIS_SRID_MAX = 999_999;

/**
 * A spatial value as MySQL keeps and sends it (its SRID, 4 bytes little-endian, then the WKB) as
 * PostGIS's EWKB in hex: the same WKB with the SRID moved into its header (none for SRID 0), so every
 * coordinate travels as its 8 bytes.
 */
function ewkbHex(out: Out, p: Buffer, start: number, end: number): void {
  const wkb = start + 4;
  if (end - wkb < 5 || (p[wkb] !== 0 && p[wkb] !== 1))
    refuse(`${end - start} bytes that are not a spatial value (an SRID, then WKB)`);
  const srid = p.readUInt32LE(start);
  if (srid === 0) return hex(out, p, wkb, end);
  if (srid > POSTGIS_SRID_MAX)
    refuse(`its SRID ${srid} is above ${POSTGIS_SRID_MAX}, the largest PostGIS keeps`);
  // The header rewritten in the WKB's own byte order: its order byte, type with the flag, SRID.
  const little = p[wkb] === 1;
  const type = little ? p.readUInt32LE(wkb + 1) : p.readUInt32BE(wkb + 1);
  EWKB_HEAD[0] = p[wkb]!;
  EWKB_HEAD_VIEW.setUint32(1, (type | EWKB_SRID) >>> 0, little);
  EWKB_HEAD_VIEW.setUint32(5, srid, little);
  hex(out, EWKB_HEAD, 0, 9);
  hex(out, p, wkb + 5, end);
}

const hasSpecial = (b: Buffer) =>
  b.indexOf(BACKSLASH) >= 0 ||
  b.indexOf(TAB) >= 0 ||
  b.indexOf(NL) >= 0 ||
  b.indexOf(CR) >= 0 ||
  b.indexOf(0) >= 0;

/**
 * UTF-8 bytes into COPY text: backslash, tab, newline and CR escaped. NUL, which PostgreSQL text
 * cannot hold, is refused or replaced.
 */
function escapedUtf8(b: Buffer, out: Out, replace: boolean, start = 0, end = b.length): void {
  if (end - start > LONG && !hasSpecial(b.subarray(start, end))) return out.bytes(b, start, end);
  let run = start;
  for (let i = start; i < end; i++) {
    const c = b[i]!;
    if (SPECIAL[c] === 0) continue;
    out.bytes(b, run, i);
    run = i + 1;
    if (c === 0) {
      if (!replace) nulCharacter();
      out.bytes(REPLACEMENT);
    } else {
      out.ensure(2);
      out.buf[out.pos++] = BACKSLASH;
      out.buf[out.pos++] = c === TAB ? 0x74 : c === NL ? 0x6e : c === CR ? 0x72 : BACKSLASH;
    }
  }
  out.bytes(b, run, end);
}

function copyEscaped(s: string, out: Out): void {
  escapedUtf8(Buffer.from(s), out, false);
}

function bits(b: Buffer, width: number): string {
  let s = '';
  for (const byte of b) s += byte.toString(2).padStart(8, '0');
  return s.slice(s.length - width).padStart(width, '0');
}

/**
 * One value, bytes `start` to `end` of a row packet. The common cases (digits, dates, short ASCII
 * text, bytes) are written from the packet itself; the others read a view of the value.
 */
function value(p: Buffer, start: number, end: number, e: Encoding, out: Out, conv: Conversion): void {
  const replace = conv.invalidCharacters === 'Replace';
  switch (e.kind) {
    case 'number':
    case 'float':
      if (e.kind === 'number' && e.range) {
        const v = BigInt(p.toString('latin1', start, end));
        if (v < BigInt(e.range[0]) || v > BigInt(e.range[1])) outsideRange(String(v), e.range);
      }
      return out.bytes(p, start, end);
    case 'boolean':
      if (end - start === 1 && (p[start] === 0x30 || p[start] === 0x31))
        return out.byte(p[start] === 0x31 ? 0x74 : 0x66);
      return notABoolean(p.toString('latin1', start, end));
    case 'bit': {
      const b = p.subarray(start, end);
      if (e.as === 'bits') return out.ascii(bits(b, e.width));
      if (e.as === 'boolean') return out.byte(b.some((x) => x !== 0) ? 0x74 : 0x66);
      return out.ascii(BigInt(`0x${b.toString('hex') || '0'}`).toString());
    }
    case 'date':
      if (zeroDate(p, start))
        return zeroDateAs(conv, p, start, end) === 'null' ? out.bytes(NULL_VALUE) : out.ascii('-infinity');
      checkCalendar(p, start, end);
      out.bytes(p, start, end);
      return e.utc ? out.bytes(UTC) : undefined;
    case 'time': {
      const b = p.subarray(start, end);
      if (e.as === 'time' && (b[0] === 0x2d || b.indexOf(0x3a) !== 2 || b.toString('latin1', 0, 2) > '23'))
        refuse(`the time ${b.toString('latin1')} is not a time of day: map the column to interval`);
      return out.bytes(b);
    }
    case 'text': {
      // ASCII is the same bytes in every charset ferry decodes.
      if (!e.members && isAscii(p, start, end)) return escapedUtf8(p, out, replace, start, end);
      const b = p.subarray(start, end);
      if (e.members) {
        const label = utf8Of(b, e.charset, replace).toString();
        if (!e.members.includes(label)) notALabel(label);
        return copyEscaped(label, out);
      }
      return escapedUtf8(utf8Of(b, e.charset, replace), out, replace);
    }
    case 'set': {
      const members =
        end > start ? utf8Of(p.subarray(start, end), e.charset, replace).toString().split(',') : [];
      return copyEscaped(`{${members.map((m) => `"${m.replace(/["\\]/g, '\\$&')}"`).join(',')}}`, out);
    }
    case 'bytes':
      if (e.as === 'bytea') out.bytes(BYTEA_HEX);
      return hex(out, p, start, end);
    case 'geometry':
      return ewkbHex(out, p, start, end);
  }
}

/**
 * Where each value of a MySQL text-protocol row lies in its packet (`at[2i]`, `at[2i + 1]`; -1 for
 * NULL): each is length-coded (one byte below 0xfb, 0xfb for NULL, else 2, 3 or 8 length bytes).
 */
function locateValues(p: Buffer, offset: number, end: number, at: Int32Array): void {
  for (let i = 0; i < at.length; i += 2) {
    const tag = p[offset++]!;
    let length = tag;
    if (tag === 0xfb) {
      at[i] = -1;
      continue;
    }
    if (tag > 0xfb) {
      const width = tag === 0xfc ? 2 : tag === 0xfd ? 3 : tag === 0xfe ? 8 : 0;
      if (!width) throw new Error(`internal: a row's value starts with 0x${tag.toString(16)}`);
      length =
        width === 8
          ? p.readUInt32LE(offset) + p.readUInt32LE(offset + 4) * 2 ** 32
          : p.readUIntLE(offset, width);
      offset += width;
    }
    at[i] = offset;
    at[i + 1] = offset += length;
  }
  if (offset !== end)
    throw new Error(`internal: a row of ${at.length / 2} values ends at ${offset}, not ${end}`);
}

/** The key of a refused row, as `(id)=(42)`, or its position in the chunk when the key is not read. */
function describeRow(p: Buffer, at: Int32Array, opts: EncoderOptions, n: number): string {
  const keyAt = opts.key.map((k) => opts.columns.findIndex((c) => c.name === k));
  if (!keyAt.length || keyAt.includes(-1)) return `row ${n} of the chunk`;
  const values = keyAt.map((i) => {
    const e = opts.columns[i]!.encoding;
    if (at[2 * i]! < 0) return 'NULL';
    const b = p.subarray(at[2 * i], at[2 * i + 1]);
    return e.kind === 'text'
      ? utf8Of(b, e.charset, true).toString()
      : e.kind === 'bytes'
        ? `0x${b.toString('hex')}`
        : b.toString('latin1');
  });
  return `key (${opts.key.join(', ')})=(${values.join(', ')})`;
}

/** The refusal of column `i`'s value, naming table, column and key. */
function refused(e: unknown, p: Buffer, at: Int32Array, opts: EncoderOptions, n: number, i: number): unknown {
  if (!(e instanceof Refusal)) return e;
  return new ValueError(
    `table ${opts.table}, column ${opts.columns[i]!.name}, ${describeRow(p, at, opts, n)}: ${e.why}`,
  );
}

/** Appends one row as a COPY text line. */
function textRow(p: Buffer, at: Int32Array, opts: EncoderOptions, out: Out, n: number): void {
  const { columns, conversion } = opts;
  let i = 0;
  try {
    for (; i < columns.length; i++) {
      if (i > 0) out.byte(TAB);
      if (at[2 * i]! < 0) out.bytes(NULL_VALUE);
      else value(p, at[2 * i]!, at[2 * i + 1]!, columns[i]!.encoding, out, conversion);
    }
  } catch (e) {
    throw refused(e, p, at, opts, n, i);
  }
  out.byte(NL);
}

/** Appends one row as a binary COPY tuple: its field count, then each field (-1 for NULL). */
function binaryRow(p: Buffer, at: Int32Array, opts: EncoderOptions, out: Out, n: number): void {
  const { columns, conversion } = opts;
  out.int16(columns.length);
  let i = 0;
  try {
    for (; i < columns.length; i++) {
      const c = columns[i]!;
      if (at[2 * i]! < 0) out.int32(-1);
      else binaryValue(p, at[2 * i]!, at[2 * i + 1]!, c.binary!, c.encoding, out, conversion);
    }
  } catch (e) {
    throw refused(e, p, at, opts, n, i);
  }
}

/**
 * Row packets in, COPY rows out in pieces of about 64 KiB: what a chunk reader pushes as its rows
 * arrive. Values are read from the packets where they lie: no Buffer or string per value.
 */
export class Encoder {
  private readonly out = new Out();
  private readonly opts: EncoderOptions;
  private readonly at: Int32Array;
  private readonly row: typeof textRow;
  /** Rows encoded so far. */
  rows = 0;
  constructor(opts: EncoderOptions) {
    this.opts = opts;
    this.at = new Int32Array(2 * opts.columns.length);
    this.row = opts.format === 'binary' ? binaryRow : textRow;
    if (opts.format !== 'binary') return;
    const without = opts.columns.filter((c) => !c.binary);
    if (without.length)
      throw new Error(
        `internal: binary COPY of ${opts.table}, but ${without.map((c) => c.name).join(', ')} has no binary form`,
      );
    this.out.bytes(BINARY_HEADER);
  }
  /**
   * Encodes the row whose values are bytes `start` to `end` of `packet` (throws ValueError for a
   * refused value); returns a piece once one is full.
   */
  addPacket(packet: Buffer, start: number, end: number): Buffer | undefined {
    locateValues(packet, start, end, this.at);
    this.row(packet, this.at, this.opts, this.out, ++this.rows);
    return this.out.pos >= Out.CHUNK ? this.out.take() : undefined;
  }
  /** What is left after the last row (in binary COPY, at least the trailer). */
  end(): Buffer | undefined {
    if (this.opts.format === 'binary') this.out.int16(-1);
    return this.out.pos > 0 ? this.out.take() : undefined;
  }
}

const eightBytes = (n: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
};

/** A row as the text protocol sends it: each value length-coded, NULL as 0xfb. */
export function rowPacket(row: readonly (Buffer | null)[]): Buffer {
  return Buffer.concat(
    row.flatMap((v) => {
      if (v === null) return [Buffer.from([0xfb])];
      const n = v.length;
      const head =
        n < 0xfb
          ? Buffer.from([n])
          : n < 2 ** 16
            ? Buffer.from([0xfc, n & 0xff, n >> 8])
            : n < 2 ** 24
              ? Buffer.from([0xfd, n & 0xff, (n >> 8) & 0xff, n >> 16])
              : Buffer.concat([Buffer.from([0xfe]), eightBytes(n)]);
      return [head, v];
    }),
  );
}

/** The COPY of some rows at once (tests, small reads), each as its row packet. */
export function encodeRows(rows: readonly (readonly (Buffer | null)[])[], opts: EncoderOptions): Buffer {
  const e = new Encoder(opts);
  const pieces = rows.flatMap((r) => {
    const p = rowPacket(r);
    return e.addPacket(p, 0, p.length) ?? [];
  });
  return Buffer.concat([...pieces, e.end() ?? Buffer.alloc(0)]);
}

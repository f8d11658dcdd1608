// Rows read from MySQL/MariaDB become PostgreSQL COPY text. Each row arrives as the packet the text
// protocol sends (row-packets.ts: no JS number, no parsed date, no re-serialized JSON; text columns
// unconverted, the session reads with character_set_results = binary) and each value is written as
// COPY text straight from its bytes in the packet, decoded from the column's declared charset into
// UTF-8. A value the target cannot hold is refused naming its table, column and key, or handled by
// spec.conversion.
import { isUtf8 } from 'node:buffer';
import type { Conversion } from '../../api/settings.ts';
import type { Charset, Encoding } from './types.ts';

/** mysql2's typeCast: false hands every value over as the bytes the server sent (null for NULL). */
export const RAW_VALUES = { rowsAsArray: true, typeCast: false } as const;

export interface EncodedColumn {
  name: string;
  encoding: Encoding;
}

export interface EncoderOptions {
  /** For messages: the table as the run names it. */
  table: string;
  /** The columns in the order the rows carry them. */
  columns: readonly EncodedColumn[];
  /** The key's columns (names), to name a refused row. */
  key: readonly string[];
  conversion: Conversion;
}

/** A value ferry refuses to write: the message names table, column and key. */
export class ValueError extends Error {
  override name = 'ValueError';
}

const TAB = 0x09;
const NL = 0x0a;
const CR = 0x0d;
const BACKSLASH = 0x5c;
const REPLACEMENT = Buffer.from('\uFFFD');
const NULL_VALUE = Buffer.from('\\N');

/** MySQL's latin1 is Windows cp1252; its five unassigned bytes are the C1 controls (as MySQL converts them). */
const CP1252_80_9F = [
  0x20ac, 0x81, 0x201a, 0x192, 0x201e, 0x2026, 0x2020, 0x2021, 0x2c6, 0x2030, 0x160, 0x2039, 0x152, 0x8d,
  0x17d, 0x8f, 0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x2dc, 0x2122, 0x161, 0x203a,
  0x153, 0x9d, 0x17e, 0x178,
];
/** UTF-8 of each byte 0x80-0xFF of latin1. */
const LATIN1_HIGH: Buffer[] = Array.from({ length: 128 }, (_, i) =>
  Buffer.from(String.fromCodePoint(i < 32 ? CP1252_80_9F[i]! : 0x80 + i)),
);

/** Text back into a column's charset (a key bound in a query): the inverse of the decoding. */
export function toCharset(text: string, charset: Charset): Buffer {
  if (charset === 'utf8') return Buffer.from(text);
  const out: number[] = [];
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    const high = cp < 0x80 ? -1 : LATIN1_HIGH.findIndex((u) => u.toString() === ch);
    if (cp < 0x80) out.push(cp);
    else if (charset === 'latin1' && high >= 0) out.push(0x80 + high);
    else throw new Error(`internal: ${JSON.stringify(ch)} is not in ${charset}`);
  }
  return Buffer.from(out);
}

/**
 * Values up to this many bytes are copied byte by byte: a native copy's call costs more than the
 * loop below about 48 bytes (measured on Node 24), and most values are shorter.
 */
const SHORT = 48;
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

/** A growing output buffer, handed on in pieces of about CHUNK bytes. */
class Out {
  static readonly CHUNK = 64 * 1024;
  buf = Buffer.allocUnsafe(Out.CHUNK * 2);
  pos = 0;
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
  byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }
  bytes(b: Buffer, start = 0, end = b.length): void {
    this.ensure(end - start);
    if (end - start > SHORT) {
      this.pos += b.copy(this.buf, this.pos, start, end);
      return;
    }
    const buf = this.buf;
    let pos = this.pos;
    for (let i = start; i < end; i++) buf[pos++] = b[i]!;
    this.pos = pos;
  }
  /** Bytes as hex digits. */
  hex(b: Buffer, start = 0, end = b.length): void {
    if (end - start > SHORT) return this.ascii(b.toString('hex', start, end));
    this.ensure((end - start) * 2);
    const buf = this.buf;
    let pos = this.pos;
    for (let i = start; i < end; i++) {
      const at = b[i]! * 2;
      buf[pos++] = HEX[at]!;
      buf[pos++] = HEX[at + 1]!;
    }
    this.pos = pos;
  }
  ascii(s: string): void {
    this.ensure(s.length);
    this.pos += this.buf.write(s, this.pos, 'latin1');
  }
  take(): Buffer {
    const done = this.buf.subarray(0, this.pos);
    this.buf = Buffer.allocUnsafe(Out.CHUNK * 2);
    this.pos = 0;
    return done;
  }
}

/** Why a value is refused, before the encoder names where. */
class Refusal {
  readonly why: string;
  constructor(why: string) {
    this.why = why;
  }
}
const refuse = (why: string): never => {
  throw new Refusal(why);
};

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
      if (!replace) refuse('a NUL character (PostgreSQL text cannot hold it)');
      out.bytes(REPLACEMENT);
    } else {
      out.ensure(2);
      out.buf[out.pos++] = BACKSLASH;
      out.buf[out.pos++] = c === TAB ? 0x74 : c === NL ? 0x6e : c === CR ? 0x72 : BACKSLASH;
    }
  }
  out.bytes(b, run, end);
}

/** Whether a short value is plain ASCII (checked here: cheaper than the native call for few bytes). */
function isAscii(b: Buffer, start = 0, end = b.length): boolean {
  if (end - start > SHORT) return false;
  for (let i = start; i < end; i++) if (b[i]! >= 0x80) return false;
  return true;
}

/** A value's UTF-8 bytes: itself when it is valid UTF-8 or plain ASCII, else converted from its charset. */
export function utf8Of(b: Buffer, charset: Charset, replace: boolean): Buffer {
  if (charset === 'utf8') {
    if (isAscii(b) || isUtf8(b)) return b;
    if (!replace) refuse('bytes that are not valid utf8');
    return Buffer.from(new TextDecoder('utf-8').decode(b));
  }
  let i = 0;
  while (i < b.length && b[i]! < 0x80) i++;
  if (i === b.length) return b;
  const out = new Out();
  out.bytes(b, 0, i);
  for (; i < b.length; i++) {
    const c = b[i]!;
    if (c < 0x80) out.byte(c);
    else if (charset === 'latin1') out.bytes(LATIN1_HIGH[c - 0x80]!);
    else if (replace) out.bytes(REPLACEMENT);
    else refuse(`the byte 0x${c.toString(16)}, which is not ascii`);
  }
  return out.take();
}

function copyEscaped(s: string, out: Out): void {
  escapedUtf8(Buffer.from(s), out, false);
}

const isZero = (b: Buffer, at: number) => b[at] === 0x30 && b[at + 1] === 0x30;

/** A date (at `at`) whose year, month or day is zero: MySQL allows them, PostgreSQL has none. */
function zeroDate(b: Buffer, at: number): boolean {
  return (isZero(b, at) && isZero(b, at + 2)) || isZero(b, at + 5) || isZero(b, at + 8);
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
        if (v < BigInt(e.range[0]) || v > BigInt(e.range[1]))
          refuse(`the value ${v} is outside the target type's range [${e.range[0]}, ${e.range[1]}]`);
      }
      return out.bytes(p, start, end);
    case 'boolean':
      if (end - start === 1 && (p[start] === 0x30 || p[start] === 0x31))
        return out.byte(p[start] === 0x31 ? 0x74 : 0x66);
      return refuse(
        `the value ${p.toString('latin1', start, end)} is not a boolean (0 or 1): map the column to smallint (spec.typeMap)`,
      );
    case 'bit': {
      const b = p.subarray(start, end);
      if (e.as === 'bits') return out.ascii(bits(b, e.width));
      if (e.as === 'boolean') return out.byte(b.some((x) => x !== 0) ? 0x74 : 0x66);
      return out.ascii(BigInt(`0x${b.toString('hex') || '0'}`).toString());
    }
    case 'date':
      if (zeroDate(p, start)) {
        if (conv.zeroDates === 'Nullify') return out.bytes(NULL_VALUE);
        if (conv.zeroDates === 'Sentinel') return out.ascii('-infinity');
        return refuse(
          `the zero date ${p.toString('latin1', start, end)}, which PostgreSQL cannot hold (spec.conversion.zeroDates: Nullify or Sentinel)`,
        );
      }
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
        if (!e.members.includes(label))
          refuse(
            `the value '${label}', which is not one of the enum's labels (MySQL stores '' for a value outside them)`,
          );
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
      return out.hex(p, start, end);
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

/** Appends one row as a COPY text line. */
function encodeRow(p: Buffer, at: Int32Array, opts: EncoderOptions, out: Out, n: number): void {
  const { columns } = opts;
  for (let i = 0; i < columns.length; i++) {
    if (i > 0) out.byte(TAB);
    const start = at[2 * i]!;
    if (start < 0) {
      out.bytes(NULL_VALUE);
      continue;
    }
    try {
      value(p, start, at[2 * i + 1]!, columns[i]!.encoding, out, opts.conversion);
    } catch (e) {
      if (!(e instanceof Refusal)) throw e;
      throw new ValueError(
        `table ${opts.table}, column ${columns[i]!.name}, ${describeRow(p, at, opts, n)}: ${e.why}`,
      );
    }
  }
  out.byte(NL);
}

/**
 * Row packets in, COPY text out in pieces of about 64 KiB: what a chunk reader pushes as its rows
 * arrive. Values are read from the packets where they lie: no Buffer or string per value.
 */
export class Encoder {
  private readonly out = new Out();
  private readonly opts: EncoderOptions;
  private readonly at: Int32Array;
  /** Rows encoded so far. */
  rows = 0;
  constructor(opts: EncoderOptions) {
    this.opts = opts;
    this.at = new Int32Array(2 * opts.columns.length);
  }
  /**
   * Encodes the row whose values are bytes `start` to `end` of `packet` (throws ValueError for a
   * refused value); returns a piece once one is full.
   */
  addPacket(packet: Buffer, start: number, end: number): Buffer | undefined {
    locateValues(packet, start, end, this.at);
    encodeRow(packet, this.at, this.opts, this.out, ++this.rows);
    return this.out.pos >= Out.CHUNK ? this.out.take() : undefined;
  }
  /** What is left after the last row. */
  end(): Buffer | undefined {
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

/** COPY text of some rows at once (tests, small reads), each as its row packet. */
export function encodeRows(rows: readonly (readonly (Buffer | null)[])[], opts: EncoderOptions): Buffer {
  const e = new Encoder(opts);
  const pieces = rows.flatMap((r) => {
    const p = rowPacket(r);
    return e.addPacket(p, 0, p.length) ?? [];
  });
  return Buffer.concat([...pieces, e.end() ?? Buffer.alloc(0)]);
}

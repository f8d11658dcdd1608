// The output side of the MySQL row encoders (encode.ts): a growing buffer handed on in pieces, and
// the refusal a value writer throws before the encoder names table, column and key.

/**
 * Values up to this many bytes are copied byte by byte: a native copy's call costs more than a
 * loop below about 48 bytes (measured on Node 24), and most values are shorter.
 */
export const SHORT = 48;

/** A growing output buffer, handed on in pieces of about CHUNK bytes. */
export class Out {
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
  ascii(s: string): void {
    this.ensure(s.length);
    this.pos += this.buf.write(s, this.pos, 'latin1');
  }
  // Byte by byte: Buffer's writeInt32BE and kin check their arguments, which cost more here.
  int16(v: number): void {
    this.ensure(2);
    const buf = this.buf;
    buf[this.pos++] = v >>> 8;
    buf[this.pos++] = v;
  }
  /** Also writes an unsigned 32-bit value (the same bytes). */
  int32(v: number): void {
    this.ensure(4);
    const buf = this.buf;
    let pos = this.pos;
    buf[pos++] = v >>> 24;
    buf[pos++] = v >>> 16;
    buf[pos++] = v >>> 8;
    buf[pos++] = v;
    this.pos = pos;
  }
  take(): Buffer {
    const done = this.buf.subarray(0, this.pos);
    this.buf = Buffer.allocUnsafe(Out.CHUNK * 2);
    this.pos = 0;
    return done;
  }
}

/** Why a value is refused, before the encoder names where. */
export class Refusal {
  readonly why: string;
  constructor(why: string) {
    this.why = why;
  }
}

export const refuse = (why: string): never => {
  throw new Refusal(why);
};

export const outsideRange = (value: string, range: readonly [string, string]): never =>
  refuse(`the value ${value} is outside the target type's range [${range[0]}, ${range[1]}]`);
export const notABoolean = (value: string): never =>
  refuse(`the value ${value} is not a boolean (0 or 1): map the column to smallint (spec.typeMap)`);
export const nulCharacter = (): never => refuse('a NUL character (PostgreSQL text cannot hold it)');
export const notALabel = (label: string): never =>
  refuse(
    `the value '${label}', which is not one of the enum's labels (MySQL stores '' for a value outside them)`,
  );

/** Whether a short value is plain ASCII (checked here: cheaper than the native call for few bytes). */
export function isAscii(b: Buffer, start = 0, end = b.length): boolean {
  if (end - start > SHORT) return false;
  for (let i = start; i < end; i++) if (b[i]! >= 0x80) return false;
  return true;
}

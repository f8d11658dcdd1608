// An order-independent digest of COPY data: each row's bytes (binary or text COPY format, exactly as
// the server sent them) hashed to 64 bits in two 32-bit lanes, summed per lane, with the row count.
// The sum needs no sort, and the sums of two parts add up to the sum of the whole (chunks of one
// table combine). Each hashing step is a bijection of the running state (murmur3's block mix), so a
// change confined to one 4-byte word of one row, such as a single changed byte, always changes the
// digest; any other difference goes unseen with a probability of about 2^-64. Pure, streaming: rows
// may be split anywhere across the buffers it is fed.

const MOD = 2 ** 52;

export interface Digest {
  rows: number;
  /** Per-lane sums of the rows' hashes, modulo 2^52. */
  a: number;
  b: number;
}

export const EMPTY_DIGEST: Digest = { rows: 0, a: 0, b: 0 };

export function addDigests(x: Digest, y: Digest): Digest {
  return { rows: x.rows + y.rows, a: (x.a + y.a) % MOD, b: (x.b + y.b) % MOD };
}

export const formatDigest = (d: Digest): string => `${d.rows}:${d.a.toString(16)}:${d.b.toString(16)}`;

export function parseDigest(s: string): Digest {
  const m = /^(\d+):([0-9a-f]+):([0-9a-f]+)$/.exec(s);
  if (!m) throw new Error(`internal: malformed digest ${JSON.stringify(s)}`);
  return { rows: Number(m[1]), a: parseInt(m[2]!, 16), b: parseInt(m[3]!, 16) };
}

const imul = Math.imul;

/** fmix32, murmur3's finalizer: a bijection. */
function fmix(h: number): number {
  h ^= h >>> 16;
  h = imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

const SEED1 = 0x9747b28c | 0;
const SEED2 = 0x3c6ef372 | 0;

/** One row's hash, fed in pieces: 4-byte little-endian words counted from the row's first byte. */
class RowHash {
  private h1 = SEED1;
  private h2 = SEED2;
  private len = 0;
  /** Bytes of an incomplete word (0-3 of them), little-endian. */
  private pend = 0;
  private pendN = 0;

  update(
    b: Uint8Array,
    s: number,
    e: number,
    view = new DataView(b.buffer, b.byteOffset, b.byteLength),
  ): void {
    this.len += e - s;
    let i = s;
    for (; this.pendN > 0 && i < e; i++) {
      this.pend |= b[i]! << (8 * this.pendN);
      if (++this.pendN === 4) {
        this.word(this.pend);
        this.pend = this.pendN = 0;
      }
    }
    // The hot loop, with the state in locals.
    let h1 = this.h1;
    let h2 = this.h2;
    for (const last = e - 3; i < last; i += 4) {
      const k = view.getInt32(i, true);
      h1 = step1(h1, k);
      h2 = step2(h2, k);
    }
    this.h1 = h1;
    this.h2 = h2;
    for (; i < e; i++) this.pend |= b[i]! << (8 * this.pendN++);
  }

  private word(k: number): void {
    this.h1 = step1(this.h1, k);
    this.h2 = step2(this.h2, k);
  }

  /** The row's two lanes; the hasher starts over. */
  finish(): [number, number] {
    // The tail word is mixed but not rotated into the state: still a bijection of it.
    let h1 = (this.h1 ^ (this.pendN ? lane1(this.pend) : 0) ^ this.len) | 0;
    let h2 = (this.h2 ^ (this.pendN ? lane2(this.pend) : 0) ^ this.len) | 0;
    h1 = (h1 + h2) | 0;
    h2 = (h2 + h1) | 0;
    h1 = fmix(h1);
    h2 = fmix(h2);
    h1 = (h1 + h2) | 0;
    h2 = (h2 + h1) | 0;
    this.h1 = SEED1;
    this.h2 = SEED2;
    this.len = this.pend = this.pendN = 0;
    return [h1 >>> 0, h2 >>> 0];
  }
}

const rotl = (x: number, r: number) => (x << r) | (x >>> (32 - r));
const lane1 = (k: number) => imul(rotl(imul(k, 0xcc9e2d51), 15), 0x1b873593);
const lane2 = (k: number) => imul(rotl(imul(k, 0x85ebca77), 13), 0xc2b2ae3d);
/** murmur3's block step, in two lanes with different constants. */
const step1 = (h: number, k: number) => (imul(rotl(h ^ lane1(k), 13), 5) + 0xe6546b64) | 0;
const step2 = (h: number, k: number) => (imul(rotl(h ^ lane2(k), 17), 5) + 0x561ccd1b) | 0;

/** The binary format's fixed header: signature (11 bytes), flags (4), header extension length (4). */
const HEADER = 19;
const At = { Header: 0, Extension: 1, Count: 2, Length: 3, Data: 4, End: 5 } as const;
type At = (typeof At)[keyof typeof At];

/**
 * Digests a COPY TO STDOUT stream. Binary format: the header is skipped; each tuple (its field count,
 * each field's length and bytes) is a row. Text format: each line, newline included, is a row.
 */
export class CopyDigest {
  private readonly binary: boolean;
  private readonly row = new RowHash();
  private rows = 0;
  private a = 0;
  private b = 0;
  private at: At;
  /** Bytes still to read of the current header, count, length or field. */
  private need: number;
  /** The count or length being read, big-endian. */
  private acc = 0;
  private fieldsLeft = 0;
  /** Bytes of the row seen so far (text format: a line split across buffers). */
  private open = false;

  constructor(binary: boolean) {
    this.binary = binary;
    this.at = binary ? At.Header : At.Count;
    this.need = binary ? HEADER : 2;
  }

  update(buf: Uint8Array): void {
    if (this.binary) this.binaryRows(buf);
    else this.textRows(buf);
  }

  /** The digest of every row fed; the stream must have ended at a row boundary. */
  result(): Digest {
    const complete = this.binary ? this.at === At.End : !this.open;
    if (!complete) throw new Error('internal: COPY data ended inside a row');
    return { rows: this.rows, a: this.a, b: this.b };
  }

  private endRow(): void {
    const [h1, h2] = this.row.finish();
    this.rows++;
    this.a += h1;
    this.b += h2;
    if (this.a >= MOD) this.a -= MOD;
    if (this.b >= MOD) this.b -= MOD;
  }

  private textRows(buf: Uint8Array): void {
    for (let pos = 0; pos < buf.length;) {
      const nl = buf.indexOf(10, pos);
      if (nl < 0) {
        this.row.update(buf, pos, buf.length);
        this.open = true;
        return;
      }
      this.row.update(buf, pos, nl + 1);
      this.endRow();
      this.open = false;
      pos = nl + 1;
    }
  }

  private binaryRows(buf: Uint8Array): void {
    const end = buf.length;
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    let pos = 0;
    while (pos < end) {
      if (this.at === At.Count && this.need === 2) {
        // The common case: the whole tuple is in this buffer, hashed in one piece.
        const rowEnd = tupleEnd(view, pos);
        if (rowEnd > 0) {
          this.row.update(buf, pos, rowEnd, view);
          this.endRow();
          pos = rowEnd;
          continue;
        }
      }
      pos = this.step(buf, pos, end);
    }
  }

  /** Reads as much of the current element as the buffer holds; returns where it stopped. */
  private step(buf: Uint8Array, pos: number, end: number): number {
    const take = Math.min(this.need, end - pos);
    switch (this.at) {
      case At.Header:
        for (let i = pos; i < pos + take; i++) this.acc = ((this.acc << 8) | buf[i]!) >>> 0;
        if ((this.need -= take) === 0) this.next(At.Extension, this.acc);
        return pos + take;
      case At.Extension:
        if ((this.need -= take) === 0) this.next(At.Count, 2);
        return pos + take;
      case At.Count:
      case At.Length:
        this.row.update(buf, pos, pos + take);
        for (let i = pos; i < pos + take; i++) this.acc = ((this.acc << 8) | buf[i]!) >>> 0;
        if ((this.need -= take) === 0) this.element();
        return pos + take;
      case At.Data:
        this.row.update(buf, pos, pos + take);
        if ((this.need -= take) === 0) this.fieldDone();
        return pos + take;
      case At.End:
        throw new Error('internal: COPY data after its end marker');
    }
  }

  private next(at: At, need: number): void {
    this.at = at;
    this.need = need;
    this.acc = 0;
  }

  /** A tuple's field count or a field's length has been read. */
  private element(): void {
    if (this.at === At.Count) {
      if (this.acc === 0xffff) {
        this.row.finish(); // the end marker, not a row
        this.next(At.End, 0);
        return;
      }
      this.fieldsLeft = this.acc;
      if (this.fieldsLeft === 0) {
        this.endRow();
        this.next(At.Count, 2);
      } else this.next(At.Length, 4);
      return;
    }
    const len = this.acc | 0; // -1: NULL
    if (len > 0) this.next(At.Data, len);
    else this.fieldDone();
  }

  private fieldDone(): void {
    if (--this.fieldsLeft > 0) return this.next(At.Length, 4);
    this.endRow();
    this.next(At.Count, 2);
  }
}

/** Where the tuple starting at `pos` ends, when it ends within the buffer (not the end marker); else -1. */
function tupleEnd(v: DataView, pos: number): number {
  const end = v.byteLength;
  if (pos + 2 > end) return -1;
  const n = v.getUint16(pos);
  if (n === 0xffff) return -1;
  let p = pos + 2;
  for (let f = 0; f < n; f++) {
    if (p + 4 > end) return -1;
    const len = v.getInt32(p);
    p += 4 + (len > 0 ? len : 0);
    if (p > end) return -1;
  }
  return p;
}

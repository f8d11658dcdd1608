import { describe, expect, it } from 'vitest';
import { addDigests, CopyDigest, EMPTY_DIGEST, formatDigest, parseDigest, type Digest } from './digest.ts';

type Field = Buffer | null;

/** A binary COPY stream as PostgreSQL writes it: header, tuples, end marker. */
function binaryCopy(rows: Field[][]): Buffer {
  const parts: Buffer[] = [Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)];
  for (const r of rows) {
    const count = Buffer.alloc(2);
    count.writeInt16BE(r.length);
    parts.push(count);
    for (const f of r) {
      const len = Buffer.alloc(4);
      len.writeInt32BE(f === null ? -1 : f.length);
      parts.push(len, ...(f ? [f] : []));
    }
  }
  parts.push(Buffer.from([0xff, 0xff]));
  return Buffer.concat(parts);
}

const textCopy = (lines: string[]) => Buffer.from(lines.map((l) => `${l}\n`).join(''));

function digestOf(binary: boolean, data: Buffer, pieces: number[] = [data.length]): Digest {
  const d = new CopyDigest(binary);
  let at = 0;
  for (const n of pieces) {
    d.update(data.subarray(at, at + n));
    at += n;
  }
  if (at < data.length) d.update(data.subarray(at));
  return d.result();
}

const rows: Field[][] = [
  [Buffer.from('1'), Buffer.from('alice'), null],
  [Buffer.from('2'), Buffer.from(''), Buffer.from('{"a": 1.0}')],
  [Buffer.from('3'), Buffer.from('a longer value that spans several words'), Buffer.from([0, 1, 2])],
];

describe('CopyDigest', () => {
  it('is the same however the stream is cut into buffers', () => {
    const data = binaryCopy(rows);
    const whole = digestOf(true, data);
    expect(whole.rows).toBe(3);
    expect(digestOf(true, data, Array(data.length).fill(1))).toEqual(whole);
    for (let cut = 1; cut < data.length; cut++) expect(digestOf(true, data, [cut])).toEqual(whole);
    const text = textCopy(['1\talice\t\\N', '2\t\t{"a": 1.0}']);
    const t = digestOf(false, text);
    for (let cut = 1; cut < text.length; cut++) expect(digestOf(false, text, [cut, 3])).toEqual(t);
  });

  it('does not depend on the order of the rows', () => {
    expect(digestOf(true, binaryCopy([...rows].reverse()))).toEqual(digestOf(true, binaryCopy(rows)));
    expect(digestOf(false, textCopy(['b', 'a', 'c']))).toEqual(digestOf(false, textCopy(['c', 'b', 'a'])));
  });

  it('changes with any single changed byte of any field', () => {
    const before = formatDigest(digestOf(true, binaryCopy(rows)));
    let changes = 0;
    rows.forEach((r, i) =>
      r.forEach((f, j) => {
        for (let k = 0; f && k < f.length; k++)
          for (const delta of [1, 128, 255]) {
            const changed = Buffer.from(f);
            changed[k] = (changed[k]! + delta) & 0xff;
            const other = rows.map((x, a) => x.map((y, b) => (a === i && b === j ? changed : y)));
            expect(formatDigest(digestOf(true, binaryCopy(other))), `row ${i} field ${j} byte ${k}`).not.toBe(
              before,
            );
            changes++;
          }
      }),
    );
    expect(changes).toBeGreaterThan(100);
  });

  it('tells NULL from empty, a duplicated row from another, fields apart', () => {
    const base = digestOf(true, binaryCopy(rows));
    const nullToEmpty = rows.map((r, i) => (i === 0 ? [r[0]!, r[1]!, Buffer.alloc(0)] : r));
    expect(digestOf(true, binaryCopy(nullToEmpty))).not.toEqual(base);
    expect(digestOf(true, binaryCopy([rows[0]!, rows[0]!, rows[2]!]))).not.toEqual(base);
    const moved = [[Buffer.from('1a'), Buffer.from('lice'), null], ...rows.slice(1)];
    expect(digestOf(true, binaryCopy(moved))).not.toEqual(base);
    expect(digestOf(false, textCopy(['a\tb']))).not.toEqual(digestOf(false, textCopy(['a', 'b'])));
  });

  it('adds up over parts, and reads back what it formats', () => {
    const [a, b] = [digestOf(true, binaryCopy(rows.slice(0, 1))), digestOf(true, binaryCopy(rows.slice(1)))];
    expect(addDigests(a, b)).toEqual(digestOf(true, binaryCopy(rows)));
    expect(addDigests(EMPTY_DIGEST, a)).toEqual(a);
    expect(parseDigest(formatDigest(a))).toEqual(a);
    expect(() => parseDigest('x')).toThrow(/malformed digest/);
  });

  it('refuses a stream cut inside a row', () => {
    const data = binaryCopy(rows);
    const d = new CopyDigest(true);
    d.update(data.subarray(0, data.length - 5));
    expect(() => d.result()).toThrow(/ended inside a row/);
    const t = new CopyDigest(false);
    t.update(Buffer.from('a\tb'));
    expect(() => t.result()).toThrow(/ended inside a row/);
    expect(new CopyDigest(false).result()).toEqual(EMPTY_DIGEST);
  });
});

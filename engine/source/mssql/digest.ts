// The key-level validation digests of a SQL Server source, computed in Node from the canonical
// texts its rows are encoded with (encode.ts): exactly what engine/source/postgres/digest.ts's SQL
// computes on the target from the same values, so the target side is that SQL unchanged. A row's
// digest is the md5 of its record text (PostgreSQL's record_out: `(1,"a b",)`); a checksum is the
// sum of the signed 64-bit first halves of the rows' md5s; a key's text is PostgreSQL's text[]
// output of its values (`{7,"a b"}`). Pure.
import { createHash } from 'node:crypto';
import type { Validation } from '../../api/migration.ts';
import type { Bucket, KeyedRow, Measure, TargetDigest } from '../dialect.ts';
import { postgresDigest } from '../postgres/digest.ts';

/** A row as canonical texts, one per catalog column in order (null: NULL). */
export type Texts = readonly (string | null)[];

const md5 = (s: string) => createHash('md5').update(s, 'utf8').digest('hex');

// White space is C's isspace: PostgreSQL's record and array output quote no other space.
/** record_out's quoting: empty values, and those holding `"`, `\`, `(`, `)`, `,` or white space. */
const RECORD_QUOTE = /["\\(), \t\n\v\f\r]/;
/** array_out's quoting: empty values, the word NULL, and those holding `"`, `\`, `{`, `}`, `,` or white space. */
const ARRAY_QUOTE = /["\\{}, \t\n\v\f\r]|^$|^null$/i;

const quoted = (value: string, special: RegExp, escape: (s: string) => string) =>
  value === '' || special.test(value) ? `"${escape(value)}"` : value;

/** PostgreSQL's text of ROW(v1, v2, ...): `(1,"a b",)` (NULL as nothing, `"` and `\` doubled). */
export function recordText(texts: Texts): string {
  const parts = texts.map((t) =>
    t === null ? '' : quoted(t, RECORD_QUOTE, (s) => s.replace(/["\\]/g, '$&$&')),
  );
  return `(${parts.join(',')})`;
}

/** PostgreSQL's text of a text[] of key values: `{7,"a b"}` (`"` and `\` backslash-escaped). */
export function keyText(texts: Texts): string {
  const parts = texts.map((t) =>
    t === null ? 'NULL' : quoted(t, ARRAY_QUOTE, (s) => s.replace(/["\\]/g, '\\$&')),
  );
  return `{${parts.join(',')}}`;
}

/** A row's digest: md5 of its record text (rowDigestsSql's `md5(t::text)`). */
export const rowDigestOf = (texts: Texts): string => md5(recordText(texts));

/** The signed 64-bit integer of a digest's first 16 hex digits (`('x' || substr(h, 1, 16))::bit(64)::bigint`). */
const slice64 = (h: string) => BigInt.asIntN(64, BigInt(`0x${h.slice(0, 16)}`));

/** Count and checksum of rows as they stream by (measureSql, measureKeysSql); the checksum only for Checksum validation. */
export class Measurer {
  private n = 0;
  private sum = 0n;
  private readonly how: Validation;
  constructor(how: Validation = 'Checksum') {
    this.how = how;
  }
  add(texts: Texts): void {
    this.n++;
    if (this.how === 'Checksum') this.sum += slice64(rowDigestOf(texts));
  }
  result(): Measure {
    return { rows: String(this.n), checksum: this.how === 'Checksum' ? String(this.sum) : null };
  }
}

export function measureOf(rows: Iterable<Texts>, how: Validation = 'Checksum'): Measure {
  const m = new Measurer(how);
  for (const r of rows) m.add(r);
  return m.result();
}

/** Key buckets: a prefix of the key text's md5 (postgres/digest.ts: 4096 of them). */
const bucketOf = (key: string) => md5(key).slice(0, 3);

/** The key text and row digest of each row; `key`: the key columns' positions among the row's. */
export function keyedRowsOf(rows: Iterable<Texts>, key: readonly number[]): KeyedRow[] {
  const out: KeyedRow[] = [];
  for (const r of rows) out.push({ key: keyText(key.map((i) => r[i]!)), h: rowDigestOf(r) });
  return out;
}

/** Per bucket of key hashes, the count and checksum of the rows (keyBucketsSql); in no order. */
export function bucketsOf(rows: Iterable<KeyedRow>): Bucket[] {
  const by = new Map<string, { n: number; s: bigint }>();
  for (const r of rows) {
    const b = bucketOf(r.key);
    const x = by.get(b) ?? { n: 0, s: 0n };
    by.set(b, { n: x.n + 1, s: x.s + slice64(r.h) });
  }
  return [...by].map(([b, x]) => ({ b, n: String(x.n), s: String(x.s) }));
}

/** The keyed rows whose key falls in one of the buckets (keyedRowsSql). */
export function inBuckets(rows: Iterable<KeyedRow>, buckets: readonly string[]): KeyedRow[] {
  const wanted = new Set(buckets);
  return [...rows].filter((r) => wanted.has(bucketOf(r.key)));
}

/** One checksum per column, in order (columnChecksumsSql: each value's one-column record). */
export function columnChecksumsOf(rows: Iterable<Texts>, columns: number): string[] {
  const sums = new Array<bigint>(columns).fill(0n);
  for (const r of rows) for (let i = 0; i < columns; i++) sums[i]! += slice64(md5(recordText([r[i]!])));
  return sums.map(String);
}

/** The target computes the same on PostgreSQL with the PostgreSQL source's SQL. */
export const mssqlDigest: TargetDigest = postgresDigest;

// Validation on PostgreSQL, the same SQL on a PostgreSQL source and on the target: a count and a
// checksum that is a sum of 64-bit slices of each row's md5, order-independent (no sort needed) yet
// sensitive to a lost, changed or duplicated row. Both sessions render values identically (see
// db/connect.ts: UTC, ISO dates, hex bytea), so the text of a row is the same on either server.
import type { Validation } from '../../api/migration.ts';
import { rowsOf } from '../../catalog/relations.ts';
import type { Table } from '../../catalog/types.ts';
import { quoteIdent } from '../../db/ident.ts';
import { rangePredicate, type Range } from '../../plan/chunks.ts';
import { keyCasts } from '../../uptime/replay.ts';
import type { TargetDigest } from '../dialect.ts';

const checksumOf = (columns: string[], alias = '') =>
  `coalesce(sum(('x' || substr(md5(ROW(${columns.map((c) => `${alias}${quoteIdent(c)}`).join(', ')})::text), 1, 16))::bit(64)::bigint), 0)::text`;

/** Count and checksum of a table's own rows (rowsOf), or of one key range of them. */
export function measureSql(schema: string, t: Table, range: Range | null, how: Validation): string {
  const sum = how === 'Checksum' ? checksumOf(t.columns.map((c) => c.name)) : 'NULL::text';
  return `SELECT count(*)::text AS rows, ${sum} AS checksum FROM ${rowsOf(schema, t)} ${rangePredicate(range)}`;
}

/** The keys of a page, as rows of the key columns' own types (a JSON array of arrays of key texts in $1), numbered from 1. */
function pageKeys(t: Table): string {
  const casts = keyCasts(t, (i) => `e ->> ${i - 1}`);
  return `(SELECT ${casts.map((c, i) => `${c} AS ${quoteIdent(t.key[i]!)}`).join(', ')}, ferry_pos FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS p(e, ferry_pos)) k`;
}

const keyJoin = (t: Table) => t.key.map((k) => `t.${quoteIdent(k)} = k.${quoteIdent(k)}`).join(' AND ');

/** Count and checksum of the rows with the given keys. */
export function measureKeysSql(schema: string, t: Table): string {
  return `SELECT count(*)::text AS rows, ${checksumOf(
    t.columns.map((c) => c.name),
    't.',
  )} AS checksum FROM ${rowsOf(schema, t)} t JOIN ${pageKeys(t)} ON ${keyJoin(t)}`;
}

/** Each key's position in the page and its row's md5 (null: no such row). */
export function rowDigestsSql(schema: string, t: Table): string {
  return `SELECT k.ferry_pos::int AS n, md5(t::text) AS h FROM ${pageKeys(t)} LEFT JOIN ${rowsOf(schema, t)} t ON ${keyJoin(t)}`;
}

/** Key buckets: by a prefix of their key text's md5, 4096 of them, so a bucket holds few rows of even a large table. */
const BUCKET = 3;

/** The text of a row's key (alias `x`), as the replay logs it: `{7}`. */
const keyTextOf = (t: Table) => `ARRAY[${t.key.map((k) => `x.${quoteIdent(k)}::text`).join(', ')}]::text`;

const keyedRows = (schema: string, t: Table, range: Range | null) =>
  `(SELECT ${keyTextOf(t)} AS key, md5(ROW(${t.columns.map((c) => `x.${quoteIdent(c.name)}`).join(', ')})::text) AS h FROM ${rowsOf(schema, t)} x ${rangePredicate(range)}) s`;

const bucketOf = `substr(md5(key), 1, ${BUCKET})`;

/** Per bucket of key hashes (b), the count (n) and checksum (s) of the rows of a table or range. */
export function keyBucketsSql(schema: string, t: Table, range: Range | null): string {
  return `SELECT ${bucketOf} AS b, count(*)::text AS n, coalesce(sum(('x' || substr(h, 1, 16))::bit(64)::bigint), 0)::text AS s FROM ${keyedRows(schema, t, range)} GROUP BY 1`;
}

/** The key texts and row md5s of the rows in the buckets $1 (text[]). */
export function keyedRowsSql(schema: string, t: Table, range: Range | null): string {
  return `SELECT key, h FROM ${keyedRows(schema, t, range)} WHERE ${bucketOf} = ANY($1::text[])`;
}

/** One checksum per column (c0, c1, ...) of a table's rows or of a range of them. */
export function columnChecksumsSql(schema: string, t: Table, range: Range | null): string {
  return `SELECT ${t.columns.map((c, i) => `${checksumOf([c.name])} AS c${i}`).join(', ')} FROM ${rowsOf(schema, t)} ${rangePredicate(range)}`;
}

export const postgresDigest: TargetDigest = {
  measureSql,
  measureKeysSql,
  rowDigestsSql,
  keyBucketsSql,
  keyedRowsSql,
  columnChecksumsSql,
};

// The key-level digests a SQL Server source computes in Node equal those the target computes with
// postgres/digest.ts's SQL on the same rows: measure, by keys, per row, by key bucket, per column,
// for every mapped type and for keys whose text PostgreSQL quotes.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresServer } from '../../../hack/postgres/server.ts';
import { column, table } from '../../../test/support/catalog.ts';
import { pgConnect } from '../../../test/support/mysql.ts';
import { caseColumns, mssqlType, STRINGS, VALUE_CASES } from '../../../test/support/mssql-values.ts';
import type { Table } from '../../catalog/types.ts';
import type { MssqlColumn } from './column.ts';
import { canonicalText, rowEncoder } from './encode.ts';
import {
  bucketsOf,
  columnChecksumsOf,
  inBuckets,
  keyedRowsOf,
  measureOf,
  mssqlDigest,
  rowDigestOf,
  type Texts,
} from './digest.ts';

let server: PostgresServer;
let c: pg.Client;
beforeAll(async () => {
  server = await startPostgres({ version: 15 });
  c = await pgConnect(server);
  await c.query('CREATE SCHEMA s');
}, 120_000);
afterAll(async () => {
  await c?.end();
  await server?.stop();
});

const strict = { zeroDates: 'Refuse', invalidCharacters: 'Refuse' } as const;

/** Creates and loads a table of the columns, the rows as tedious returns them; returns its catalog and texts. */
async function load(
  name: string,
  cols: MssqlColumn[],
  key: string[],
  values: unknown[][],
): Promise<[Table, Texts[]]> {
  const t = table(name, { columns: cols, key });
  const defs = cols.map((x) => `"${x.name}" ${x.type}`).join(', ');
  await c.query(`CREATE TABLE s."${name}" (${defs}, PRIMARY KEY (${key.map((k) => `"${k}"`).join(', ')}))`);
  const encode = rowEncoder(cols, name, strict);
  const lines = values.map((v) => encode(v)).join('');
  await pipeline(Readable.from([Buffer.from(lines)]), c.query(copyFrom(`COPY s."${name}" FROM STDIN`)));
  const texts = values.map((v) =>
    v.map((x, i) => canonicalText(x, cols[i]!.mssql, { table: name, column: cols[i]!.name }, strict)),
  );
  return [t, texts];
}

/** Both sides' digests of a table, the Node side from the texts. */
async function compare(t: Table, texts: Texts[]): Promise<void> {
  const keyAt = t.key.map((k) => t.columns.findIndex((x) => x.name === k));
  const keysOf = (r: Texts) => keyAt.map((i) => r[i]!);
  const q = async <R>(sql: string, params: unknown[] = []) => (await c.query(sql, params)).rows as R[];
  const what = t.name;
  expect(await q(mssqlDigest.measureSql('s', t, null, 'Checksum')), what).toEqual([measureOf(texts)]);
  expect(await q(mssqlDigest.measureSql('s', t, null, 'Count')), what).toEqual([measureOf(texts, 'Count')]);
  // A page of keys: every other row, and one key that is not there.
  const page = texts.filter((_, i) => i % 2 === 0);
  const missing = keysOf(texts[0]!).map((k, i) =>
    t.columns[keyAt[i]!]!.type === 'integer' ? '-1' : `${k}-missing`,
  );
  const keys = [...page.map(keysOf), missing];
  expect(await q(mssqlDigest.measureKeysSql('s', t), [JSON.stringify(keys)]), what).toEqual([
    measureOf(page),
  ]);
  const digests = await q<{ n: number; h: string | null }>(mssqlDigest.rowDigestsSql('s', t), [
    JSON.stringify(keys),
  ]);
  expect(
    digests.sort((a, b) => a.n - b.n).map((r) => r.h),
    what,
  ).toEqual([...page.map(rowDigestOf), null]);
  const keyed = keyedRowsOf(texts, keyAt);
  const buckets = await q<{ b: string; n: string; s: string }>(mssqlDigest.keyBucketsSql!('s', t, null));
  const byB = (a: { b: string }, b: { b: string }) => a.b.localeCompare(b.b);
  expect(buckets.sort(byB), what).toEqual(bucketsOf(keyed).sort(byB));
  const some = buckets.slice(0, 2).map((b) => b.b);
  const rows = await q<{ key: string; h: string }>(mssqlDigest.keyedRowsSql!('s', t, null), [some]);
  const byKey = (a: { key: string }, b: { key: string }) => a.key.localeCompare(b.key);
  expect(rows.sort(byKey), what).toEqual(inBuckets(keyed, some).sort(byKey));
  const [sums] = await q<Record<string, string>>(mssqlDigest.columnChecksumsSql!('s', t, null));
  expect(Object.values(sums!), what).toEqual(columnChecksumsOf(texts, t.columns.length));
}

describe('SQL Server key-level digests', () => {
  it('equal the target’s SQL digests for every mapped type', async () => {
    for (const k of VALUE_CASES) {
      const [t, texts] = await load(
        k.name,
        caseColumns(k),
        ['id'],
        k.values.map((v, i) => [i + 1, v]),
      );
      await compare(t, texts);
    }
  });

  it('equal them for keys PostgreSQL quotes in a key’s text (white space, NULL, quotes, braces) and composite keys', async () => {
    const text = mssqlType('nvarchar', { maxLength: -1 });
    const cols: MssqlColumn[] = [
      { ...column('k', { type: 'text', notNull: true }), mssql: { type: text, encoding: 'text' } },
      { ...column('n', { notNull: true }), mssql: { type: mssqlType('int'), encoding: 'integer' } },
      { ...column('v', { type: 'text' }), mssql: { type: text, encoding: 'text' } },
    ];
    const values = STRINGS.flatMap((s, i) => [
      [s, 1, s],
      [s, 2, i % 2 ? null : `${s}\\"`],
    ]);
    const [t, texts] = await load('quoted_keys', cols, ['k', 'n'], values);
    await compare(t, texts);
  });

  it('tells rows apart: one changed character changes the row digest and the checksum', () => {
    const a: Texts = ['1', 'a b'];
    const b: Texts = ['1', 'a  b'];
    expect(rowDigestOf(a)).not.toBe(rowDigestOf(b));
    expect(measureOf([a]).checksum).not.toBe(measureOf([b]).checksum);
    expect(rowDigestOf(['1', null])).not.toBe(rowDigestOf(['1', '']));
  });
});

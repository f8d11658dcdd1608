// PostgreSQL judges the SQL Server encoder: the COPY lines it writes for every mapped type load into
// a table of the mapped type, and the table's COPY TO writes back the very same bytes, so the text
// is PostgreSQL's canonical output (what copyDigests relies on).
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresServer } from '../../../hack/postgres/server.ts';
import { pgConnect } from '../../../test/support/mysql.ts';
import { caseColumns, VALUE_CASES } from '../../../test/support/mssql-values.ts';
import { quoteIdent } from '../../db/ident.ts';
import { canonicalText, rowEncoder } from './encode.ts';

let server: PostgresServer;
let c: pg.Client;
beforeAll(async () => {
  server = await startPostgres({ version: 15 });
  c = await pgConnect(server);
}, 120_000);
afterAll(async () => {
  await c?.end();
  await server?.stop();
});

const strict = { zeroDates: 'Refuse', invalidCharacters: 'Refuse' } as const;

async function copyOut(sql: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const b of c.query(copyTo(sql)) as AsyncIterable<Buffer>) chunks.push(b);
  return Buffer.concat(chunks).toString('utf8');
}

describe('SQL Server values as PostgreSQL COPY text', () => {
  it('writes back byte for byte what ferry encoded, for every mapped type', async () => {
    for (const k of VALUE_CASES) {
      const cols = caseColumns(k);
      const table = quoteIdent(`t_${k.name}`);
      await c.query(`CREATE TABLE ${table} (id integer PRIMARY KEY, v ${cols[1]!.type})`);
      const encode = rowEncoder(cols, k.name, strict);
      const lines = k.values.map((v, i) => encode([i + 1, v])).join('');
      await pipeline(Readable.from([Buffer.from(lines)]), c.query(copyFrom(`COPY ${table} FROM STDIN`)));
      expect(await copyOut(`COPY (SELECT id, v FROM ${table} ORDER BY id) TO STDOUT`), k.name).toBe(lines);
    }
  });

  it('means the value SQL Server sent: PostgreSQL reads its source text as the same value', async () => {
    // The text tedious hands over (ISO dates with their offset, digits, a float's exact shortest
    // decimal) is PostgreSQL input too: PostgreSQL's own output for it (as the text protocol sends it,
    // unparsed) must be the encoder's.
    const sourceText = (v: unknown) =>
      typeof v === 'number'
        ? Object.is(v, -0)
          ? '-0'
          : String(v)
        : Buffer.isBuffer(v)
          ? `\\x${v.toString('hex')}`
          : String(v);
    let checked = 0;
    for (const k of VALUE_CASES) {
      const cols = caseColumns(k);
      if (cols[1]!.type === 'text' && k.type.name !== 'nvarchar' && k.type.name !== 'varchar') continue;
      for (const v of k.values) {
        if (v === null || (typeof v === 'boolean' && cols[1]!.type !== 'boolean')) continue;
        const { rows } = await c.query<{ v: string }>(`SELECT $1::${cols[1]!.type} AS v`, [sourceText(v)]);
        expect(rows[0]!.v, `${k.name} ${sourceText(v)}`).toBe(
          canonicalText(v, cols[1]!.mssql, { table: k.name, column: 'v' }, strict),
        );
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(100);
  });
});

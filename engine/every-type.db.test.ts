// Every common type and table shape survives the trip from PostgreSQL 15 to 18: data identical,
// catalogs equivalent, sequences continuing.
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifestFor, queryOne, startLocalPair, type LocalPair } from '../hack/local-pair.ts';
import { extractCatalog } from './source/postgres/extract.ts';
import type { Catalog } from './catalog/types.ts';
import { ferry } from '../test/support/cli.ts';
import { EVERY_TYPE_SQL } from '../test/support/every-type.ts';
import { schemaDigests } from '../test/support/snapshot.ts';

let pair: LocalPair;
const dir = mkdtempSync(join(tmpdir(), 'ferry-types-'));

beforeAll(async () => {
  pair = await startLocalPair();
  const c = new pg.Client({ connectionString: pair.source.url('shop') });
  await c.connect();
  try {
    await c.query('CREATE SCHEMA "Kitchen Sink"; SET search_path = "Kitchen Sink"');
    await c.query(readFileSync(EVERY_TYPE_SQL, 'utf8'));
  } finally {
    await c.end();
  }
});
afterAll(async () => pair?.stop());

async function catalogOf(url: string, schema: string): Promise<Catalog> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await extractCatalog(c, schema);
  } finally {
    await c.end();
  }
}

/** The parts of a catalog that must be equal on both sides (sizes, oids and statistics differ). */
function shape(catalog: Catalog) {
  return {
    types: catalog.types,
    sequences: catalog.sequences.map(({ name, options, ownedBy }) => ({ name, options, ownedBy })),
    tables: Object.fromEntries(
      catalog.tables.map((t) => [
        t.name,
        {
          columns: t.columns.map(({ typeOid: _o, builtinType: _b, ...c }) => c),
          key: t.key,
          constraints: [...t.constraints].sort((a, b) => a.name.localeCompare(b.name)),
          indexes: t.indexes,
        },
      ]),
    ),
  };
}

describe('every common type, PostgreSQL 15 -> 18', () => {
  it('migrates, validates equal, keeps the catalog and continues sequences', async () => {
    const file = join(dir, 'kitchen.yaml');
    const yaml = manifestFor(pair, 'kitchen', {
      transfer: { parallelism: 2, splitAbove: '64Ki', chunkRows: 1000 },
    }).replaceAll('schema: shop', 'schema: Kitchen Sink');
    writeFileSync(file, yaml);
    const r = await ferry(['run', '-f', file, '--report-out', join(dir, 'r.json')], pair.env);
    expect(r.code, r.stderr).toBe(0);

    const [src, dst] = await Promise.all([
      schemaDigests(pair.source.url('shop'), 'Kitchen Sink'),
      schemaDigests(pair.target.url('shop'), 'Kitchen Sink'),
    ]);
    expect(Object.keys(dst)).toEqual(Object.keys(src));
    for (const table of Object.keys(src)) expect(dst[table], `table ${table}`).toEqual(src[table]);

    const [a, b] = await Promise.all([
      catalogOf(pair.source.url('shop'), 'Kitchen Sink'),
      catalogOf(pair.target.url('shop'), 'Kitchen Sink'),
    ]);
    const sa = shape(a);
    const sb = shape(b);
    expect(sb.types, 'user types').toEqual(sa.types);
    expect(sb.sequences, 'sequences').toEqual(sa.sequences);
    for (const t of Object.keys(sa.tables))
      expect(sb.tables[t], `catalog of table ${t}`).toEqual(sa.tables[t]);

    // Sequences and identities continue past the source's values.
    const q = (sql: string) => queryOne<{ v: string }>(pair.target, sql);
    const next = async (sql: string, max: string) =>
      expect(BigInt((await q(sql)).v)).toBeGreaterThan(
        BigInt((await queryOne<{ v: string }>(pair.source, max)).v),
      );
    await next(
      `INSERT INTO "Kitchen Sink".every_type DEFAULT VALUES RETURNING id::text AS v`,
      'SELECT max(id)::text AS v FROM "Kitchen Sink".every_type',
    );
    await next(
      `INSERT INTO "Kitchen Sink".every_type DEFAULT VALUES RETURNING c_ticket::text AS v`,
      'SELECT max(c_ticket)::text AS v FROM "Kitchen Sink".every_type',
    );
    await next(
      `INSERT INTO "Kitchen Sink".serial_things (label) VALUES ('new') RETURNING id::text AS v`,
      `SELECT last_value::text AS v FROM "Kitchen Sink".serial_things_id_seq`,
    );
    await next(
      `INSERT INTO "Kitchen Sink".by_default (v) VALUES ('new') RETURNING id::text AS v`,
      `SELECT last_value::text AS v FROM "Kitchen Sink".by_default_id_seq`,
    );
  });
});

// Partitioned tables and inheritance trees end to end, PostgreSQL 15 -> 18 through the ferry CLI:
// range (DEFAULT partition, a list sub-partitioned partition), hash and list partitioning, keys,
// indexes and foreign keys on roots, a partition's own index, identity on a partitioned table, and an
// inheritance tree whose child columns lie in another order than its parent's.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifestFor, query, queryOne, startLocalPair, type LocalPair } from '../../hack/local-pair.ts';
import { ferry } from '../../test/support/cli.ts';
import { schemaDigests, schemaRelations, snapshotDatabase } from '../../test/support/snapshot.ts';
import { catalogDifferences } from './diff.ts';
import { extractCatalog } from '../source/postgres/extract.ts';

let pair: LocalPair;
const dir = mkdtempSync(join(tmpdir(), 'ferry-partitions-'));

const FIXTURE = `
  CREATE SCHEMA shop;
  SET search_path = shop;
  CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL);
  CREATE TABLE orders (
    id bigint GENERATED ALWAYS AS IDENTITY,
    placed_at date NOT NULL,
    region text NOT NULL,
    customer_id int REFERENCES customers (id),
    total numeric(12,2) CHECK (total >= 0),
    PRIMARY KEY (id, placed_at, region)
  ) PARTITION BY RANGE (placed_at);
  CREATE INDEX orders_by_customer ON orders (customer_id);
  CREATE TABLE orders_2024 PARTITION OF orders FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
  CREATE TABLE orders_2025 PARTITION OF orders FOR VALUES FROM ('2025-01-01') TO ('2026-01-01') PARTITION BY LIST (region);
  CREATE TABLE orders_2025_eu PARTITION OF orders_2025 FOR VALUES IN ('eu', 'uk');
  CREATE TABLE orders_2025_rest PARTITION OF orders_2025 DEFAULT;
  CREATE TABLE orders_older PARTITION OF orders DEFAULT;
  -- Attached from a table of its own: its columns lie in another order than the root's.
  CREATE TABLE orders_2026 (total numeric(12,2), region text NOT NULL, id bigint NOT NULL, customer_id int,
    placed_at date NOT NULL, CONSTRAINT orders_total_check CHECK (total >= 0));
  ALTER TABLE orders ATTACH PARTITION orders_2026 FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
  CREATE INDEX orders_2024_by_total ON orders_2024 (total);
  CREATE TABLE order_notes (
    id serial PRIMARY KEY, order_id bigint NOT NULL, placed_at date NOT NULL, region text NOT NULL, note text,
    FOREIGN KEY (order_id, placed_at, region) REFERENCES orders);
  CREATE TABLE sessions (token uuid PRIMARY KEY, n serial, data jsonb) PARTITION BY HASH (token);
  CREATE TABLE sessions_0 PARTITION OF sessions FOR VALUES WITH (MODULUS 2, REMAINDER 0);
  CREATE TABLE sessions_1 PARTITION OF sessions FOR VALUES WITH (MODULUS 2, REMAINDER 1);
  CREATE TABLE prices (sku text NOT NULL, currency char(3) NOT NULL, amount numeric NOT NULL, UNIQUE (sku, currency))
    PARTITION BY LIST (currency);
  CREATE TABLE prices_eur PARTITION OF prices FOR VALUES IN ('EUR');
  CREATE TABLE prices_usd_gbp PARTITION OF prices FOR VALUES IN ('USD', 'GBP');
  CREATE TABLE vehicles (id int PRIMARY KEY, name text NOT NULL, CHECK (length(name) > 0));
  CREATE TABLE cars (doors int) INHERITS (vehicles);
  ALTER TABLE vehicles ADD COLUMN built date;
  CREATE TABLE boats (length_m numeric(6,2)) INHERITS (vehicles);
  ALTER TABLE cars ADD PRIMARY KEY (id);

  INSERT INTO customers SELECT g, 'customer ' || g FROM generate_series(1, 50) g;
  INSERT INTO orders (placed_at, region, customer_id, total)
    SELECT date '2023-06-01' + (g % 1200), (ARRAY['eu', 'uk', 'us', 'jp'])[1 + g % 4], 1 + g % 50, (g % 1000) / 7.0
      FROM generate_series(1, 6000) g;
  INSERT INTO order_notes (order_id, placed_at, region, note)
    SELECT id, placed_at, region, 'note ' || id FROM orders WHERE id % 10 = 0;
  INSERT INTO sessions (token, data)
    SELECT gen_random_uuid(), jsonb_build_object('n', g, 'big', 12345678901234567890) FROM generate_series(1, 200) g;
  INSERT INTO prices SELECT 'sku' || g, c, g * 1.5 FROM generate_series(1, 30) g, unnest(ARRAY['EUR', 'USD', 'GBP']) c;
  INSERT INTO vehicles VALUES (1, 'cart', '2001-01-01'), (2, 'sled', NULL);
  INSERT INTO vehicles SELECT g, 'vehicle ' || g, date '2000-01-01' + g FROM generate_series(100, 3099) g;
  INSERT INTO cars (id, name, doors, built) VALUES (10, 'coupe', 2, '2010-05-05'), (1011, 'van', 5, NULL);
  INSERT INTO boats (id, name, built, length_m) VALUES (20, 'dinghy', '1999-09-09', 3.5), (2500, 'barge', NULL, 30);
`;

const LEAVES = [
  'boats',
  'cars',
  'customers',
  'order_notes',
  'orders_2024',
  'orders_2025_eu',
  'orders_2025_rest',
  'orders_2026',
  'orders_older',
  'prices_eur',
  'prices_usd_gbp',
  'sessions_0',
  'sessions_1',
  'vehicles',
];

function manifest(name: string, spec: Record<string, unknown> = {}): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    manifestFor(pair, name, { transfer: { parallelism: 3, splitAbove: '64Ki', chunkRows: 1000 }, ...spec }),
  );
  return file;
}

const extract = async (url: string) => {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await extractCatalog(c, 'shop');
  } finally {
    await c.end();
  }
};

beforeAll(async () => {
  pair = await startLocalPair();
  await query(pair.source, FIXTURE);
  // The target schema exists with a table of its own: fallback must drop ferry's tables one by one.
  await query(
    pair.target,
    'CREATE SCHEMA shop; CREATE TABLE shop.keep (id int); INSERT INTO shop.keep VALUES (1)',
  );
}, 180_000);

afterAll(async () => {
  await pair?.stop();
});

describe('partitioned tables and inheritance, PostgreSQL 15 -> 18', () => {
  it('refuses excluding one partition of a selected root, changing nothing', async () => {
    const before = await snapshotDatabase(pair.target.url('shop'));
    const r = await ferry(['run', '-f', manifest('cut', { tables: { exclude: ['orders_2024'] } })], pair.env);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      'spec.tables.exclude: pattern "orders_2024" excludes partition "orders_2024" of "orders"; a partitioned table moves whole',
    );
    expect(await snapshotDatabase(pair.target.url('shop'))).toEqual(before);
    const shadows = await query(pair.source, "SELECT 1 FROM pg_namespace WHERE nspname LIKE 'ferry\\_%'");
    expect(shadows).toEqual([]);
  });

  it('falls back after PreProcessing: every partition and child dropped, the target as before', async () => {
    const file = manifest('fb');
    const source = await snapshotDatabase(pair.source.url('shop'));
    const target = await snapshotDatabase(pair.target.url('shop'));
    const r = await ferry(['run', '-f', file, '--stop-after', 'PreProcessing'], pair.env);
    expect(r.code, r.stderr).toBe(0);
    const made = await query<{ n: string }>(
      pair.target,
      "SELECT count(*)::text AS n FROM pg_class WHERE relnamespace = 'shop'::regnamespace AND relkind IN ('r', 'p')",
    );
    expect(Number(made[0]!.n), 'keep plus every table of the source').toBe(1 + LEAVES.length + 4);
    const fb = await ferry(['fallback', '-f', file], pair.env);
    expect(fb.code, fb.stderr).toBe(0);
    expect(await snapshotDatabase(pair.target.url('shop'))).toEqual(target);
    expect(await snapshotDatabase(pair.source.url('shop'))).toEqual(source);
  });

  it('migrates every tree exactly: catalog per relation, rows per leaf, identity continued', async () => {
    const before = await snapshotDatabase(pair.source.url('shop'));
    const file = manifest('trees');
    const plan = await ferry(['plan', '-f', file, '--json'], pair.env);
    expect(plan.code, plan.stderr).toBe(0);
    const chunks = (
      JSON.parse(plan.stdout) as { plan: { groups: { chunks: { id: string; table: string }[] }[] } }
    ).plan.groups.flatMap((g) => g.chunks);
    // Partitioned tables hold no rows: only leaves have chunks; a large partition is cut into key ranges.
    expect([...new Set(chunks.map((c) => c.table))].sort()).toEqual(LEAVES);
    expect(chunks.filter((c) => c.table === 'orders_2024').length).toBeGreaterThan(1);
    // So is the inheritance parent: its key ranges span its children's keys, which must not come along.
    expect(chunks.filter((c) => c.table === 'vehicles').length).toBeGreaterThan(1);
    const r = await ferry(['run', '-f', file], pair.env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Migration trees Completed/);

    const [src, dst] = await Promise.all([
      extract(pair.source.url('shop')),
      extract(pair.target.url('shop')),
    ]);
    expect(
      catalogDifferences(
        src,
        { ...dst, tables: dst.tables.filter((t) => t.name !== 'keep') },
        {
          sequenceValues: true,
        },
      ),
    ).toEqual([]);
    const [srcRel, dstRel] = await Promise.all([
      schemaRelations(pair.source.url('shop'), 'shop'),
      schemaRelations(pair.target.url('shop'), 'shop'),
    ]);
    delete dstRel.keep;
    expect(dstRel).toEqual(srcRel);

    const [a, b] = await Promise.all([
      schemaDigests(pair.source.url('shop'), 'shop'),
      schemaDigests(pair.target.url('shop'), 'shop'),
    ]);
    delete b.keep;
    expect(Object.keys(a).sort()).toEqual(LEAVES);
    for (const t of LEAVES) {
      expect(a[t]!.rows, `rows in ${t}`).toBeGreaterThan(0);
      expect(b[t], `table ${t}`).toEqual(a[t]);
    }
    // The inheritance parent's own rows only, not its children's.
    expect(a.vehicles!.rows).toBe(3002);

    // Identity continues past the source's last value, through the root and into the right partition.
    const { max } = await queryOne<{ max: string }>(
      pair.source,
      'SELECT max(id)::text AS max FROM shop.orders',
    );
    const { id, part } = await queryOne<{ id: string; part: string }>(
      pair.target,
      `INSERT INTO shop.orders (placed_at, region, customer_id, total) VALUES ('2025-03-03', 'uk', 1, 1)
       RETURNING id::text, tableoid::regclass::text AS part`,
    );
    expect(BigInt(id)).toBe(BigInt(max) + 1n);
    expect(part).toBe('shop.orders_2025_eu');
    // So does the serial column of the hash-partitioned table.
    const { n } = await queryOne<{ n: string }>(
      pair.target,
      `INSERT INTO shop.sessions (token) VALUES (gen_random_uuid()) RETURNING n::text`,
    );
    expect(n).toBe('201');
    // The foreign key to the partitioned table holds on the target.
    await expect(
      query(
        pair.target,
        `INSERT INTO shop.order_notes (order_id, placed_at, region) VALUES (-1, '2024-02-02', 'eu')`,
      ),
    ).rejects.toThrow(/foreign key/);
    expect(await snapshotDatabase(pair.source.url('shop'))).toEqual(before);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startPostgres, type PostgresServer } from '../postgres/server.ts';
import { BENCH_TABLES, createBenchDatabase } from './bench-data.ts';

const BYTES = 24e6;

describe('the benchmark database', () => {
  let server: PostgresServer;
  let c: pg.Client;
  beforeAll(async () => {
    server = await startPostgres({ version: 15 });
    const admin = new pg.Client({ connectionString: server.url() });
    await admin.connect();
    await admin.query('CREATE DATABASE bench');
    await admin.end();
    await createBenchDatabase(server.url('bench'), 'shop', BYTES);
    c = new pg.Client({ connectionString: server.url('bench') });
    await c.connect();
  });
  afterAll(async () => {
    await c?.end();
    await server?.stop();
  });

  it('has about the requested heap bytes, one table holding 60% of them and each other its share', async () => {
    const { rows } = await c.query<{ t: string; b: string }>(
      `SELECT relname AS t, pg_table_size(oid)::text AS b FROM pg_class
        WHERE relnamespace = 'shop'::regnamespace AND relkind = 'r'`,
    );
    const total = rows.reduce((a, r) => a + Number(r.b), 0);
    expect(total).toBeGreaterThan(BYTES * 0.85);
    expect(total).toBeLessThan(BYTES * 1.15);
    for (const [table, { share }] of Object.entries(BENCH_TABLES)) {
      const bytes = Number(rows.find((r) => r.t === table)?.b ?? 0);
      expect(bytes / total, table).toBeGreaterThan(share * 0.8);
      expect(bytes / total, table).toBeLessThan(share * 1.2);
    }
  });

  it('has text, json, jsonb, numeric and bytea columns, with values in them', async () => {
    const { rows } = await c.query<{ type: string }>(
      `SELECT DISTINCT data_type AS type FROM information_schema.columns WHERE table_schema = 'shop'`,
    );
    expect(rows.map((r) => r.type)).toEqual(
      expect.arrayContaining(['text', 'json', 'jsonb', 'numeric', 'bytea']),
    );
    const { rows: filled } = await c.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM shop.documents WHERE attachment IS NOT NULL AND metadata::text <> '{}'`,
    );
    expect(Number(filled[0]!.n)).toBeGreaterThan(0);
  });

  it('has keys, secondary indexes and validated foreign keys on every table, and is vacuumed', async () => {
    const { rows } = await c.query<{ t: string; pk: boolean; idx: number; fk: number; vacuumed: boolean }>(
      `SELECT c.relname AS t,
              EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = c.oid AND contype = 'p') AS pk,
              (SELECT count(*)::int FROM pg_index WHERE indrelid = c.oid AND NOT indisprimary) AS idx,
              (SELECT count(*)::int FROM pg_constraint WHERE conrelid = c.oid AND contype = 'f' AND convalidated) AS fk,
              s.last_vacuum IS NOT NULL AS vacuumed
         FROM pg_class c JOIN pg_stat_user_tables s ON s.relid = c.oid
        WHERE c.relnamespace = 'shop'::regnamespace AND c.relkind = 'r'`,
    );
    expect(rows).toHaveLength(Object.keys(BENCH_TABLES).length + 1); // + categories
    for (const r of rows) {
      expect(r, r.t).toMatchObject({ pk: true, vacuumed: true });
      expect(r.idx + r.fk, r.t).toBeGreaterThan(0);
    }
    expect(rows.reduce((a, r) => a + r.fk, 0)).toBe(8);
  });
});

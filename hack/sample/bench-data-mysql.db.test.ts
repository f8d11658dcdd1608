import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnection, type Connection, type RowDataPacket } from 'mysql2/promise';
import { startMariadb, type MariadbServer } from '../mariadb/server.ts';
import { BENCH_TABLES, benchCounts } from './bench-data.ts';
import { createMysqlBenchDatabase } from './bench-data-mysql.ts';

const BYTES = 24e6;

describe('the benchmark database on MariaDB', () => {
  let server: MariadbServer;
  let c: Connection;
  beforeAll(async () => {
    server = await startMariadb();
    await createMysqlBenchDatabase(server.connection(), 'shop', BYTES);
    c = await createConnection(server.connection('shop'));
    await c.query("SET time_zone = '+00:00'");
  });
  afterAll(async () => {
    await c?.end();
    await server?.stop();
  });

  it("has PostgreSQL's row counts (order_items: 1 to 3 lines per order that has lines)", async () => {
    const n = benchCounts(BYTES);
    const count = async (t: string) =>
      Number((await c.query<(RowDataPacket & { n: number })[]>(`SELECT COUNT(*) AS n FROM ${t}`))[0][0]!.n);
    for (const t of ['events', 'documents', 'orders', 'accounts', 'payments', 'products'] as const)
      expect(await count(t), t).toBe(n[t]);
    expect(await count('order_items')).toBe(
      Array.from({ length: n.order_items }, (_, i) => 1 + ((i + 1) % 3)).reduce((a, b) => a + b, 0),
    );
    expect(await count('categories')).toBe(200);
  });

  it('holds events as the largest table, json, decimal and binary columns with values, in UTC', async () => {
    const [sizes] = await c.query<(RowDataPacket & { t: string; b: number })[]>(
      "SELECT table_name AS t, data_length AS b FROM information_schema.tables WHERE table_schema = 'shop' ORDER BY b DESC",
    );
    expect(sizes[0]!.t).toBe('events');
    expect(sizes).toHaveLength(Object.keys(BENCH_TABLES).length + 1);
    const [[e]] = await c.query<RowDataPacket[]>(
      `SELECT JSON_VALUE(payload, '$.session') AS session, HEX(digest) AS digest, amount,
              DATE_FORMAT(created_at, '%Y-%m-%d %H:%i:%s.%f') AS at
         FROM events WHERE id = 2`,
    );
    expect(e).toEqual({
      session: 'c81e728d9d4c2f636f067f89cc14862c',
      digest: 'C81E728D9D4C2F636F067F89CC14862C',
      amount: '0.02',
      at: '2025-01-01 00:00:00.020000',
    });
  });

  it('has primary keys everywhere, unique and secondary indexes, and the eight foreign keys', async () => {
    const [keys] = await c.query<(RowDataPacket & { t: string; pk: number; idx: number })[]>(
      `SELECT table_name AS t, SUM(index_name = 'PRIMARY' AND seq_in_index = 1) AS pk,
              COUNT(DISTINCT index_name) AS idx
         FROM information_schema.statistics WHERE table_schema = 'shop' GROUP BY table_name`,
    );
    expect(keys).toHaveLength(8);
    for (const k of keys) {
      expect(Number(k.pk), k.t).toBe(1);
      expect(Number(k.idx), k.t).toBeGreaterThan(1);
    }
    const [[fk]] = await c.query<RowDataPacket[]>(
      "SELECT COUNT(*) AS n FROM information_schema.referential_constraints WHERE constraint_schema = 'shop'",
    );
    expect(Number(fk!['n'])).toBe(8);
  });
});

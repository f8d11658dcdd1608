// The application's `shop` schema on SQL Server for the end-to-end suite: keys of several kinds, a
// table without one, text in a code page and in UTF-16 (astral characters), offsets; its rows as
// canonical text on both sides; and the application's writers, as its own login.
import type { MssqlConnection } from '../../engine/source/mssql/connect.ts';
import type { Canonical, MssqlMigration } from './mssql.ts';

const NUMBERS = (n: number) =>
  `SELECT TOP (${n}) ROW_NUMBER() OVER (ORDER BY (SELECT NULL)) AS seq FROM sys.all_columns a CROSS JOIN sys.all_columns b`;

export const SHOP_TSQL = [
  `CREATE TABLE shop.customers (
     id int IDENTITY(1,1) NOT NULL CONSTRAINT customers_pkey PRIMARY KEY,
     name nvarchar(100) NOT NULL,
     email varchar(200) NOT NULL CONSTRAINT customers_email UNIQUE,
     created datetime2(6) NOT NULL)`,
  `CREATE TABLE shop.orders (
     id bigint IDENTITY(1,1) NOT NULL CONSTRAINT orders_pkey PRIMARY KEY,
     customer_id int NOT NULL CONSTRAINT orders_customer FOREIGN KEY REFERENCES shop.customers (id),
     amount decimal(12,2) NOT NULL,
     note nvarchar(max) NULL,
     paid bit NOT NULL CONSTRAINT orders_paid DEFAULT 0,
     data varbinary(max) NULL,
     placed datetimeoffset(6) NULL)`,
  'CREATE INDEX by_customer ON shop.orders (customer_id)',
  'CREATE TABLE shop.tags (name nvarchar(40) NOT NULL CONSTRAINT tags_pkey PRIMARY KEY, weight float NULL)',
  'CREATE TABLE shop.audit (at datetime2(0) NOT NULL, what nvarchar(200) NULL)',
  `WITH n AS (${NUMBERS(500)})
   INSERT INTO shop.customers (name, email, created)
   SELECT CONCAT(N'customer ', seq, IIF(seq % 7 = 0, N' 🦀 漢', N'')), CONCAT('c', seq, '@example.com'),
          DATEADD(microsecond, seq, DATEADD(second, seq, CAST('2024-01-01' AS datetime2(6)))) FROM n`,
  `WITH n AS (${NUMBERS(3000)})
   INSERT INTO shop.orders (customer_id, amount, note, paid, data, placed)
   SELECT 1 + seq % 500, seq * 1.25, IIF(seq % 3 = 0, CONCAT(N'café crème ', seq), NULL), seq % 2,
          IIF(seq % 5 = 0, 0x00FF + CAST(seq AS binary(4)), NULL),
          TODATETIMEOFFSET(DATEADD(minute, seq, CAST('2024-06-01 12:00:00.5' AS datetime2(6))), IIF(seq % 2 = 0, '+05:30', '-08:00'))
     FROM n`,
  `WITH n AS (${NUMBERS(200)}) INSERT INTO shop.tags SELECT CONCAT(N'tag', seq), seq / 3.0 FROM n`,
  "INSERT INTO shop.tags VALUES (N'a', 1.5), (N'B', -0.1), (N'ünïcode', 1e300), (N'x y', NULL)",
  "INSERT INTO shop.audit VALUES ('2024-01-01 00:00:00', N'first'), ('2024-01-01 00:00:00', N'first')",
];

export async function createShop(app: MssqlConnection): Promise<void> {
  for (const sql of SHOP_TSQL) await app.run(sql);
}

/** Every row of each shop table as canonical text, on SQL Server and on PostgreSQL. */
export const SHOP_CANONICAL: Record<string, Canonical> = {
  customers: {
    mssql:
      "SELECT CONCAT_WS('|', id, name, email, CONVERT(varchar(26), created, 121)) AS r FROM shop.customers",
    pg: "SELECT concat_ws('|', id, name, email, to_char(created, 'YYYY-MM-DD HH24:MI:SS.US')) AS r FROM shop.customers",
  },
  orders: {
    mssql: `SELECT CONCAT_WS('|', id, customer_id, amount, ISNULL(note, N'-'), IIF(paid = 1, 't', 'f'),
                   ISNULL(LOWER(CONVERT(varchar(max), data, 2)), '-'),
                   ISNULL(CONVERT(varchar(26), CONVERT(datetime2(6), SWITCHOFFSET(placed, '+00:00')), 121), '-')) AS r
              FROM shop.orders`,
    pg: `SELECT concat_ws('|', id, customer_id, amount, coalesce(note, '-'), CASE WHEN paid THEN 't' ELSE 'f' END,
                coalesce(encode(data, 'hex'), '-'), coalesce(to_char(placed AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), '-')) AS r
           FROM shop.orders`,
  },
  tags: {
    // Doubles compared by their IEEE 754 bytes (big-endian on both sides), not by a rendering.
    mssql:
      "SELECT CONCAT_WS('|', name, ISNULL(LOWER(CONVERT(varchar(18), CAST(weight AS binary(8)), 2)), '-')) AS r FROM shop.tags",
    pg: "SELECT concat_ws('|', name, coalesce(encode(float8send(weight), 'hex'), '-')) AS r FROM shop.tags",
  },
  audit: {
    mssql: "SELECT CONCAT_WS('|', CONVERT(varchar(19), at, 120), what) AS r FROM shop.audit",
    pg: "SELECT concat_ws('|', to_char(at, 'YYYY-MM-DD HH24:MI:SS'), what) AS r FROM shop.audit",
  },
};

export interface MssqlWriters {
  stop(): Promise<{ committed: number; fenced: boolean; error?: string }>;
}

/** What the fence answers a write with: ferry's triggers refusing it, or a read-only database. */
export const FENCED = /fenced|read-only/i;

/**
 * The application, as its own login: inserts, updates (text, amounts), deletes, key moves (also
 * case-only, which the case-insensitive default collation calls equal). Stops at the first write
 * the fence refuses.
 */
export function startMssqlWriters(m: MssqlMigration, sessions: number): MssqlWriters {
  let stopping = false;
  let fenced = false;
  let committed = 0;
  let error: string | undefined;
  const one = async (n: number) => {
    const app = await m.app();
    try {
      for (let i = 0; !stopping && !fenced; i++) {
        const op = (i * 7 + n) % 6;
        const k = String(1 + ((i * 31 + n * 17) % 3000));
        try {
          if (op === 0)
            await app.run(
              'INSERT INTO shop.orders (customer_id, amount, note, placed) VALUES (CAST(@p1 AS int), CAST(@p2 AS decimal(12,2)), @p3, SYSDATETIMEOFFSET())',
              [String(1 + (Number(k) % 300)), `${k}.${n}5`, `crème brûlée ${i} 🦀`],
            );
          else if (op === 1)
            await app.run(
              "UPDATE shop.orders SET note = CONCAT(N'naïve ', @p1), amount = amount + 1 WHERE id = CAST(@p2 AS bigint)",
              [String(i), k],
            );
          else if (op === 2)
            await app.run('DELETE FROM shop.orders WHERE id = CAST(@p1 AS bigint)', [String(Number(k) + n)]);
          else if (op === 3)
            await app.run("UPDATE shop.tags SET name = CONCAT(name, N'x') WHERE name = @p1", [
              `tag${1 + (Number(k) % 200)}`,
            ]);
          else if (op === 4)
            await app.run('UPDATE shop.tags SET name = UPPER(name) WHERE name LIKE @p1', [
              `tag${1 + (Number(k) % 200)}%`,
            ]);
          else
            await app.run('UPDATE shop.customers SET email = @p1 WHERE id = CAST(@p2 AS int)', [
              `m${i}.${n}@example.com`,
              String(1 + (Number(k) % 300)),
            ]);
          committed++;
        } catch (e) {
          const msg = (e as Error).message;
          if (FENCED.test(msg)) fenced = true;
          else if (!/duplicate key|deadlock|truncated/i.test(msg)) {
            error = msg;
            return;
          }
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    } finally {
      await app.close();
    }
  };
  const all = Promise.all(Array.from({ length: sessions }, (_, n) => one(n)));
  return {
    stop: async () => {
      stopping = true;
      await all;
      return { committed, fenced, ...(error ? { error } : {}) };
    },
  };
}

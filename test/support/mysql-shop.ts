// The application of the DowntimeOptimized MySQL-source tests (CLI and operator): its MariaDB
// database, a canonical rendering of each table on both sides, and writers that change it while
// ferry copies and replays.
import type { Connection } from 'mysql2/promise';
import type { Canonical, MysqlMigration } from './mysql-roles.ts';

/** Keys of several kinds (a case-insensitive text key, an unsigned bigint), latin1 text, a table without a key. */
export const SHOP = `
CREATE TABLE customers (
  id int NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name varchar(100) NOT NULL,
  email varchar(200) NOT NULL UNIQUE
) ENGINE=InnoDB;
CREATE TABLE orders (
  id bigint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY,
  customer_id int NOT NULL,
  amount decimal(12,2) NOT NULL,
  note varchar(200) CHARACTER SET latin1,
  placed datetime(6) NOT NULL,
  CONSTRAINT orders_customer FOREIGN KEY (customer_id) REFERENCES customers (id)
) ENGINE=InnoDB;
CREATE TABLE tags (name varchar(40) NOT NULL PRIMARY KEY, weight int) ENGINE=InnoDB;
CREATE TABLE audit (at datetime NOT NULL, what varchar(200)) ENGINE=InnoDB;
INSERT INTO customers (name, email) SELECT CONCAT('customer ', seq), CONCAT('c', seq, '@example.com') FROM seq_1_to_300;
INSERT INTO orders (customer_id, amount, note, placed)
  SELECT 1 + seq % 300, seq * 1.25, IF(seq % 3 = 0, CONCAT('café ', seq), NULL), TIMESTAMP('2024-06-01') + INTERVAL seq SECOND
    FROM seq_1_to_5000;
INSERT INTO tags SELECT CONCAT('tag', seq), seq FROM seq_1_to_200;
INSERT INTO audit VALUES ('2024-01-01 00:00:00', 'x'), ('2024-01-01 00:00:00', 'x');
`;

/** Every row of the tables with a key, canonically, on MariaDB and on PostgreSQL (DowntimeOptimized moves these). */
export const CANONICAL: Record<string, Canonical> = {
  customers: {
    mysql: "SELECT CONCAT_WS('|', id, name, email) AS r FROM shop.customers",
    pg: "SELECT concat_ws('|', id, name, email) AS r FROM shop.customers",
  },
  orders: {
    mysql: `SELECT CONCAT_WS('|', id, customer_id, amount, IFNULL(CONVERT(note USING utf8mb4), '-'),
                   DATE_FORMAT(placed, '%Y-%m-%d %H:%i:%s.%f')) AS r FROM shop.orders`,
    pg: `SELECT concat_ws('|', id, customer_id, amount, coalesce(note, '-'), to_char(placed, 'YYYY-MM-DD HH24:MI:SS.US')) AS r FROM shop.orders`,
  },
  tags: {
    mysql: "SELECT CONCAT_WS('|', name, IFNULL(weight, '-')) AS r FROM shop.tags",
    pg: "SELECT concat_ws('|', name, coalesce(weight::text, '-')) AS r FROM shop.tags",
  },
};

/** The table without a key (Standard moves it; DowntimeOptimized cannot replay it and excludes it). */
export const AUDIT_CANONICAL: Record<string, Canonical> = {
  audit: {
    mysql: "SELECT CONCAT_WS('|', DATE_FORMAT(at, '%Y-%m-%d %H:%i:%s'), what) AS r FROM shop.audit",
    pg: "SELECT concat_ws('|', to_char(at, 'YYYY-MM-DD HH24:MI:SS'), what) AS r FROM shop.audit",
  },
};

export interface MysqlWriters {
  /** Resolves when the writers stopped: fenced off (the cutover), or asked to. */
  stop(): Promise<{ committed: number; fenced: boolean; error?: string }>;
  fenced: Promise<void>;
  committed(): number;
}

/**
 * The application, as its own user: inserts, updates (latin1 text, amounts), deletes, key moves (also
 * case-only, which a case-insensitive collation calls equal). Stops at the first write the fence refuses.
 */
export function startMysqlWriters(m: MysqlMigration, sessions: number): MysqlWriters {
  let stopping = false;
  let fenced = false;
  let committed = 0;
  let error: string | undefined;
  let onFenced: () => void = () => {};
  const fencedP = new Promise<void>((r) => (onFenced = r));
  const one = async (n: number) => {
    const app: Connection = await m.app();
    try {
      for (let i = 0; !stopping && !fenced; i++) {
        const op = (i * 7 + n) % 6;
        const k = 1 + ((i * 31 + n * 17) % 5000);
        try {
          if (op === 0)
            await app.query(
              'INSERT INTO orders (customer_id, amount, note, placed) VALUES (?, ?, ?, NOW(6))',
              [1 + (k % 300), `${k}.${n}5`, `crème brûlée ${i}`],
            );
          else if (op === 1)
            await app.query(
              "UPDATE orders SET note = CONCAT('naïve ', ?), amount = amount + 1 WHERE id = ?",
              [i, k],
            );
          else if (op === 2) await app.query('DELETE FROM orders WHERE id = ?', [k + n]);
          else if (op === 3)
            await app.query("UPDATE tags SET name = CONCAT(name, 'x') WHERE name = ?", [
              `tag${1 + (k % 200)}`,
            ]);
          else if (op === 4)
            await app.query('UPDATE tags SET name = UPPER(name) WHERE name LIKE ?', [`tag${1 + (k % 200)}%`]);
          else
            await app.query('UPDATE customers SET email = ? WHERE id = ?', [
              `m${i}.${n}@example.com`,
              1 + (k % 300),
            ]);
          committed++;
        } catch (e) {
          const msg = (e as Error).message;
          if (/fenced for the downtime/.test(msg)) {
            fenced = true;
            onFenced();
          } else if (!/Duplicate entry|Deadlock/.test(msg)) {
            error = msg;
            return;
          }
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    } finally {
      await app.end();
    }
  };
  const all = Promise.all(Array.from({ length: sessions }, (_, n) => one(n)));
  return {
    fenced: fencedP,
    committed: () => committed,
    stop: async () => {
      stopping = true;
      await all;
      return { committed, fenced, ...(error ? { error } : {}) };
    },
  };
}

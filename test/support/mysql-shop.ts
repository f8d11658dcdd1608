// The application of the DowntimeOptimized MySQL-source tests (CLI and operator): its MariaDB
// database, a canonical rendering of each table on both sides, and writers that change it while
// ferry copies and replays.
import type { Connection } from 'mysql2/promise';
import { expect } from 'vitest';
import {
  bothSides,
  mysqlLeftovers,
  startMysqlMigration,
  type Canonical,
  type MysqlMigration,
} from './mysql-roles.ts';

/** Every byte, as a hex literal's digits. */
const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i)).toString('hex');
/** Every latin1 (cp1252) byte but NUL, which PostgreSQL text cannot hold. */
const LATIN1_BYTES = ALL_BYTES.slice(2);
/** A character of every Unicode plane in use (BMP, SMP, SIP, TIP, SSP, both private-use planes), as UTF-8 hex. */
const PLANES = Buffer.from('é€漢\u{1F980}\u{20BB7}\u{30000}\u{E0041}\u{F0000}\u{10FFFF}').toString('hex');

/**
 * The values that break tools, owned and written by the application: integer limits, 65- and 38-digit
 * decimals, text and bytes over TOAST's threshold, every latin1 byte, every Unicode plane, json with odd
 * whitespace and duplicate keys, every byte, the calendar's ends, the key at both ends of bigint.
 * `extremes` travels in binary COPY; `extremes_text` (the same rows and a double) in COPY text.
 */
export const EXTREMES = `
CREATE TABLE extremes (
  id bigint NOT NULL PRIMARY KEY,
  u bigint unsigned NOT NULL,
  i int NOT NULL,
  s smallint NOT NULL,
  ti tinyint unsigned NOT NULL,
  d65 decimal(65,30) NOT NULL,
  d38 decimal(38,0) NOT NULL,
  t longtext NOT NULL,
  l1 mediumtext CHARACTER SET latin1 NOT NULL,
  j json NOT NULL,
  b longblob NOT NULL,
  dt datetime(6) NOT NULL,
  ts timestamp(6) NULL,
  dd date NOT NULL,
  y year NOT NULL,
  e enum('a', 'ü', 'z z') NOT NULL
) ENGINE=InnoDB;
SET time_zone = '+00:00';
INSERT INTO extremes VALUES
  (-9223372036854775808, 0, -2147483648, -32768, 0,
   '-99999999999999999999999999999999999.999999999999999999999999999999', '-99999999999999999999999999999999999999',
   CONVERT(X'${PLANES}' USING utf8mb4), CONVERT(X'${LATIN1_BYTES}' USING latin1),
   '{"a" :1,\\n\\t"a":  2 , "n": 12345678901234567890123.45678901234567890, "f": 1.10, "e": 1E400}', X'${ALL_BYTES}',
   '1000-01-01 00:00:00', '1970-01-01 00:00:01', '1000-01-01', 1901, 'a'),
  (9223372036854775807, 18446744073709551615, 2147483647, 32767, 255,
   '99999999999999999999999999999999999.999999999999999999999999999999', '99999999999999999999999999999999999999',
   REPEAT(CONVERT(X'${PLANES}' USING utf8mb4), 4000), REPEAT(CONVERT(X'${LATIN1_BYTES}' USING latin1), 400),
   CONCAT('[', REPEAT('{"k":"v", "k" : "w"} ,', 3000), '0]'), REPEAT(X'${ALL_BYTES}', 400),
   '9999-12-31 23:59:59.999999', '2038-01-19 03:14:07.999999', '9999-12-31', 2155, 'ü'),
  (0, 0, 0, 0, 0, '0.000000000000000000000000000001', '0', '', '', '[ ]', '', '2000-02-29 12:00:00.000001', NULL,
   '2000-02-29', 0, 'z z');
INSERT INTO extremes
  SELECT seq, 18446744073709551615 - seq, CAST(seq AS SIGNED) * 10007 - 1000000, CAST(seq AS SIGNED) - 100, seq % 256,
         CAST(CONCAT(seq, '.', LPAD(seq, 30, '0')) AS DECIMAL(65,30)) / 7, CAST(CONCAT('1', LPAD(seq, 37, '0')) AS DECIMAL(38,0)),
         CONCAT(CONVERT(X'${PLANES}' USING utf8mb4), ' ', seq), CONCAT(CONVERT(X'E9E080' USING latin1), seq),
         CONCAT('{ "k" : ', seq, ' , "k":"', seq, '" }'), UNHEX(CONCAT('00', HEX(seq), 'FF')),
         TIMESTAMP('1969-12-31 23:59:59.999999') + INTERVAL seq DAY, TIMESTAMP('2024-03-31 01:00:00.5') + INTERVAL seq HOUR,
         DATE('1582-10-01') + INTERVAL seq DAY, 1901 + seq, ELT(1 + seq % 3, 'a', 'ü', 'z z')
    FROM seq_1_to_200;
CREATE TABLE extremes_text LIKE extremes;
ALTER TABLE extremes_text ADD f double;
INSERT INTO extremes_text SELECT *, CASE id & 7 WHEN 0 THEN 1.7976931348623157e308 WHEN 1 THEN -2.2250738585072014e-308
    WHEN 2 THEN 5e-324 WHEN 3 THEN -0e0 WHEN 4 THEN 0.1 WHEN 5 THEN -1e-300 WHEN 6 THEN 123456789012345680 END
  FROM extremes;
`;

const EXTREME_COLUMNS = {
  mysql: `id, u, i, s, ti, d65, d38, CHAR_LENGTH(t), MD5(t), MD5(CONVERT(l1 USING utf8mb4)), LEFT(HEX(CONVERT(l1 USING utf8mb4)), 600),
          CHAR_LENGTH(j), MD5(j), LEFT(j, 120), LENGTH(b), MD5(b), LEFT(HEX(b), 600), DATE_FORMAT(dt, '%Y-%m-%d %H:%i:%s.%f'),
          IFNULL(UNIX_TIMESTAMP(ts), '-'), dd, y + 0, e`,
  pg: `id, u, i, s, ti, d65, d38, char_length(t), md5(t), md5(l1), left(upper(encode(convert_to(l1, 'UTF8'), 'hex')), 600),
       char_length(j::text), md5(j::text), left(j::text, 120), length(b), md5(b), left(upper(encode(b, 'hex')), 600),
       to_char(dt, 'YYYY-MM-DD HH24:MI:SS.US'), coalesce(extract(epoch from ts)::text, '-'), to_char(dd, 'YYYY-MM-DD'), y, e`,
};

/** The extremes, canonically: lengths, md5 and the first bytes in hex of the long values, the rest as text. */
export const EXTREMES_CANONICAL: Record<string, Canonical> = {
  extremes: {
    mysql: `SELECT CONCAT_WS('|', ${EXTREME_COLUMNS.mysql}) AS r FROM shop.extremes`,
    pg: `SELECT concat_ws('|', ${EXTREME_COLUMNS.pg}) AS r FROM shop.extremes`,
  },
  extremes_text: {
    mysql: `SELECT CONCAT_WS('|', ${EXTREME_COLUMNS.mysql}, IFNULL(f, '-')) AS r FROM shop.extremes_text`,
    // Both render a double's shortest digits; PostgreSQL writes the exponent's sign.
    pg: `SELECT concat_ws('|', ${EXTREME_COLUMNS.pg}, coalesce(replace(f::text, 'e+', 'e'), '-')) AS r FROM shop.extremes_text`,
  },
};

/** Keys of several kinds (a case-insensitive text key, an unsigned bigint), latin1 text, a table without a key, the extremes. */
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
${EXTREMES}`;

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
  ...EXTREMES_CANONICAL,
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
 * case-only, which a case-insensitive collation calls equal). Stops at the first write the fence
 * refuses; connects again when its session ends.
 */
/** A new application session, tried every 200 ms (a restarting server refuses for a while) until `stop` says so. */
async function reconnect(m: MysqlMigration, stop: () => boolean): Promise<Connection | undefined> {
  for (;;) {
    try {
      return await m.app();
    } catch (e) {
      if (stop()) return undefined;
      if (!/ECONNREFUSED|ECONNRESET|PROTOCOL_CONNECTION_LOST/.test(String((e as { code?: string }).code)))
        throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

export function startMysqlWriters(m: MysqlMigration, sessions: number): MysqlWriters {
  let stopping = false;
  let fenced = false;
  let committed = 0;
  let error: string | undefined;
  let onFenced: () => void = () => {};
  const fencedP = new Promise<void>((r) => (onFenced = r));
  const one = async (n: number) => {
    let app: Connection = await m.app();
    try {
      for (let i = 0; !stopping && !fenced; i++) {
        const op = (i * 7 + n) % 8;
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
          else if (op === 5)
            await app.query('UPDATE customers SET email = ? WHERE id = ?', [
              `m${i}.${n}@example.com`,
              1 + (k % 300),
            ]);
          else if (op === 6)
            // Values that must arrive unchanged through the replay: 4-byte text, every byte, odd json, limits.
            await app.query(
              `UPDATE extremes SET t = CONCAT(t, ?), b = CONCAT(b, X'${ALL_BYTES}'), j = ?, u = 18446744073709551615 - ?,
                 d65 = d65 + 0.000000000000000000000000000001 WHERE id = ?;
               UPDATE extremes_text SET l1 = CONCAT(l1, X'80FF'), f = 1e308 / ? WHERE id = ?`,
              [`\u{1F980}${i}`, `{"k" :  ${i},"k":"${n}"}`, i, 1 + (k % 200), k, 1 + (k % 200)],
            );
          else
            // A key move (the sign flips, and back).
            await app.query('UPDATE extremes SET id = -id WHERE id = ?', [
              (k % 2 ? 1 : -1) * (1 + (k % 200)),
            ]);
          committed++;
        } catch (e) {
          const msg = (e as Error).message;
          if (/fenced for the downtime/.test(msg)) {
            fenced = true;
            onFenced();
          } else if (
            (e as { fatal?: boolean }).fatal ||
            (e as { code?: string }).code === 'ER_CONNECTION_KILLED'
          ) {
            // Its session ended (the fence ends sessions that hold writes; a server restart ends all):
            // the application connects again, as a pool would.
            app.destroy();
            const again = await reconnect(m, () => stopping).catch((err: Error) => {
              error = err.message;
              return undefined;
            });
            if (!again) return;
            app = again;
          } else if (!/Duplicate entry|Deadlock/.test(msg)) {
            error = msg;
            return;
          }
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    } finally {
      // Every query has ended; a session the server ended may not end politely.
      app.destroy();
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

/** A MariaDB source as in production (mysql-roles.ts) whose application created `sql` (default SHOP) as its own user. */
export async function startMysqlShop(sql = SHOP): Promise<MysqlMigration> {
  const m = await startMysqlMigration();
  const app = await m.app();
  try {
    await app.query(sql);
  } finally {
    await app.end();
  }
  return m;
}

/** The application writes (and undoes it) as its own user: the fence is down. Throws if refused. */
export async function applicationWrites(m: MysqlMigration): Promise<void> {
  const app = await m.app();
  try {
    await app.query("INSERT INTO tags VALUES ('after the migration', 1)");
    await app.query("DELETE FROM tags WHERE name = 'after the migration'");
  } finally {
    await app.end();
  }
}

/** After a run: the target equals the source table by table, nothing of ferry's is left on the server, the application writes. */
export async function expectExactAndClean(
  m: MysqlMigration,
  tables: Record<string, Canonical>,
): Promise<void> {
  for (const [t, s] of Object.entries(await bothSides(m, tables))) expect(s.target, t).toEqual(s.source);
  const root = await m.root();
  try {
    expect(await mysqlLeftovers(root)).toEqual([]);
  } finally {
    await root.end();
  }
  await applicationWrites(m);
}

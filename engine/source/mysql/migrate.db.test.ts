// `ferry run` from a real MariaDB into PostgreSQL, Standard mode, as the migration user the README
// describes (no SUPER): the application's writes are refused during the downtime, every row arrives
// exactly, the source is left byte for byte as it was (CHECKSUM TABLE) with nothing of ferry's on it,
// after a completed run and after a fallback.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RowDataPacket } from 'mysql2/promise';
import { ferry, startFerry, untilStopped } from '../../../test/support/cli.ts';
import {
  bothSides,
  resetTarget,
  sourceState,
  type Canonical,
  type MysqlMigration,
} from '../../../test/support/mysql-roles.ts';
import { EXTREMES, EXTREMES_CANONICAL, startMysqlShop } from '../../../test/support/mysql-shop.ts';

let m: MysqlMigration;

/** The application's database: keys of several kinds, a table without one, text in latin1 and 4-byte UTF-8, the extremes. */
const SHOP = `
CREATE TABLE customers (
  id int NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name varchar(100) NOT NULL,
  email varchar(200) NOT NULL UNIQUE,
  created datetime(6) NOT NULL
) ENGINE=InnoDB;
CREATE TABLE orders (
  id bigint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY,
  customer_id int NOT NULL,
  amount decimal(12,2) NOT NULL,
  note text CHARACTER SET latin1,
  paid tinyint(1) NOT NULL DEFAULT 0,
  data blob,
  placed timestamp(6) NULL,
  KEY by_customer (customer_id),
  CONSTRAINT orders_customer FOREIGN KEY (customer_id) REFERENCES customers (id)
) ENGINE=InnoDB;
CREATE TABLE tags (name varchar(40) NOT NULL PRIMARY KEY, weight double) ENGINE=InnoDB;
CREATE TABLE audit (at datetime NOT NULL, what varchar(200)) ENGINE=InnoDB;
INSERT INTO customers (name, email, created)
  SELECT CONCAT('customer ', seq, IF(seq % 7 = 0, ' 🦀 漢', '')), CONCAT('c', seq, '@example.com'),
         TIMESTAMP('2024-01-01 00:00:00') + INTERVAL seq SECOND + INTERVAL seq MICROSECOND
    FROM seq_1_to_500;
INSERT INTO orders (customer_id, amount, note, paid, data, placed)
  SELECT 1 + seq % 500, seq * 1.25, IF(seq % 3 = 0, CONCAT('café crème ', seq), NULL), seq % 2,
         IF(seq % 5 = 0, UNHEX(CONCAT('00FF', HEX(seq))), NULL), TIMESTAMP('2024-06-01 12:00:00.5') + INTERVAL seq MINUTE
    FROM seq_1_to_3000;
INSERT INTO tags VALUES ('a', 1.5), ('B', -0.1), ('ünïcode', 1e300), ('x y', NULL);
INSERT INTO audit VALUES ('2024-01-01 00:00:00', 'first'), ('2024-01-01 00:00:00', 'first');
${EXTREMES}`;

/** Every row of a table as canonical text, on MariaDB and on PostgreSQL (independent of ferry's digest). */
const CANONICAL: Record<string, Canonical> = {
  customers: {
    mysql:
      "SELECT CONCAT_WS('|', id, name, email, DATE_FORMAT(created, '%Y-%m-%d %H:%i:%s.%f')) AS r FROM shop.customers",
    pg: "SELECT concat_ws('|', id, name, email, to_char(created, 'YYYY-MM-DD HH24:MI:SS.US')) AS r FROM shop.customers",
  },
  orders: {
    mysql: `SELECT CONCAT_WS('|', id, customer_id, amount, IFNULL(CONVERT(note USING utf8mb4), '-'), IF(paid, 't', 'f'),
                   IFNULL(LOWER(HEX(data)), '-'), IFNULL(DATE_FORMAT(placed, '%Y-%m-%d %H:%i:%s.%f'), '-')) AS r FROM shop.orders`,
    pg: `SELECT concat_ws('|', id, customer_id, amount, coalesce(note, '-'), CASE WHEN paid THEN 't' ELSE 'f' END,
                coalesce(encode(data, 'hex'), '-'), coalesce(to_char(placed AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), '-')) AS r FROM shop.orders`,
  },
  tags: {
    mysql: "SELECT CONCAT_WS('|', name, IFNULL(weight, '-')) AS r FROM shop.tags",
    // Both render a double's shortest digits; PostgreSQL writes the exponent's sign.
    pg: "SELECT concat_ws('|', name, coalesce(replace(weight::text, 'e+', 'e'), '-')) AS r FROM shop.tags",
  },
  audit: {
    mysql: "SELECT CONCAT_WS('|', DATE_FORMAT(at, '%Y-%m-%d %H:%i:%s'), what) AS r FROM shop.audit",
    pg: "SELECT concat_ws('|', to_char(at, 'YYYY-MM-DD HH24:MI:SS'), what) AS r FROM shop.audit",
  },
  ...EXTREMES_CANONICAL,
};

beforeAll(async () => {
  m = await startMysqlShop(SHOP);
}, 180_000);
afterAll(async () => m?.stop());

describe('ferry run, MariaDB -> PostgreSQL, Standard', () => {
  it('fences the application off, moves every row exactly, and leaves the source as it was', async () => {
    await resetTarget(m);
    const before = await sourceState(m);
    const file = m.manifest('shop');
    const run = startFerry(['run', '-f', file], {
      ...m.env,
      FERRY_FAULT: 'PreProcessing.end,fence.raised',
      FERRY_FAULT_SIGNAL: 'SIGSTOP',
    });
    await untilStopped(run, 'PreProcessing.end');
    // A transaction of the application that has read (its snapshot predates the fence) but not written.
    const early = await m.app();
    await early.query('START TRANSACTION');
    await early.query('SELECT COUNT(*) FROM tags');
    run.child.kill('SIGCONT');
    await untilStopped(run, 'fence.raised');
    // The downtime: the application's writes are refused, whatever its transaction saw before.
    const app = await m.app();
    await expect(app.query("INSERT INTO tags VALUES ('during', 1)")).rejects.toThrow(
      /fenced for the downtime of migration shop/,
    );
    await expect(app.query('UPDATE customers SET name = name WHERE id = 1')).rejects.toThrow(/fenced/);
    await expect(early.query("INSERT INTO tags VALUES ('early', 1)")).rejects.toThrow(/fenced/);
    await early.query('ROLLBACK');
    await early.end();
    run.child.kill('SIGCONT');
    const result = await run.done;
    expect(result.code, result.stderr).toBe(0);
    for (const [t, side] of Object.entries(await bothSides(m, CANONICAL)))
      expect(side.target, t).toEqual(side.source);
    const after = await sourceState(m);
    expect(after.leftovers).toEqual([]);
    expect(after.sums).toEqual(before.sums);
    // Writable again, and the target goes on with the id the source would have given next.
    await app.query("INSERT INTO tags VALUES ('after', 2)");
    await app.query("DELETE FROM tags WHERE name = 'after'");
    const [next] = await app.query<RowDataPacket[]>(
      "SELECT CAST(AUTO_INCREMENT AS CHAR) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'shop' AND TABLE_NAME = 'customers'",
    );
    await app.end();
    const c = await m.target();
    try {
      const { rows } = await c.query<{ id: string }>(
        "INSERT INTO shop.customers (name, email, created) VALUES ('new', 'new@example.com', now()) RETURNING id::text",
      );
      expect(rows[0]!.id).toBe(String(next[0]!['n']));
    } finally {
      await c.end();
    }
  });

  it('falls back after PreProcessing and after Execution: source byte-identical, nothing of ferry left', async () => {
    for (const phase of ['PreProcessing', 'Execution']) {
      await resetTarget(m);
      const before = await sourceState(m);
      const file = m.manifest('shop');
      const run = await ferry(['run', '-f', file, '--stop-after', phase], m.env);
      expect(run.code, run.stderr).toBe(0);
      const during = await sourceState(m);
      expect(during.leftovers.length, `ferry's database and triggers after ${phase}`).toBeGreaterThan(0);
      const back = await ferry(['fallback', '-f', file], m.env);
      expect(back.code, back.stderr).toBe(0);
      expect(back.stdout).toMatch(/fallback of shop done/);
      const after = await sourceState(m);
      expect(after.leftovers, phase).toEqual([]);
      expect(after.sums, phase).toEqual(before.sums);
      const app = await m.app();
      await app.query("INSERT INTO tags VALUES ('after fallback', 2)");
      await app.query("DELETE FROM tags WHERE name = 'after fallback'");
      await app.end();
    }
  });

  it('fails naming a table the application emptied with TRUNCATE behind the fence (no trigger fires)', async () => {
    await resetTarget(m);
    const root = await m.root();
    await root.query(
      'CREATE TABLE shop.scratch LIKE shop.tags; INSERT INTO shop.scratch SELECT * FROM shop.tags',
    );
    await root.end();
    const file = m.manifest('shop');
    const run = startFerry(['run', '-f', file], {
      ...m.env,
      FERRY_FAULT: 'fence.raised',
      FERRY_FAULT_SIGNAL: 'SIGSTOP',
    });
    await untilStopped(run, 'fence.raised');
    const app = await m.app();
    await app.query('TRUNCATE scratch');
    await app.end();
    run.child.kill('SIGCONT');
    const result = await run.done;
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/scratch emptied or rebuilt \(TRUNCATE/);
    const back = await ferry(['fallback', '-f', file], m.env);
    expect(back.code, back.stderr).toBe(0);
    const after = await sourceState(m);
    expect(after.leftovers).toEqual([]);
    const cleanup = await m.root();
    await cleanup.query('DROP TABLE shop.scratch');
    await cleanup.end();
  });

  it('waits for a transaction that wrote before the fence, then gives up and lowers the fence, naming it', async () => {
    await resetTarget(m);
    const file = m.manifest('shop', { fence: { waitSeconds: 3 } });
    const run = startFerry(['run', '-f', file], {
      ...m.env,
      FERRY_FAULT: 'PreProcessing.end',
      FERRY_FAULT_SIGNAL: 'SIGSTOP',
    });
    await untilStopped(run, 'PreProcessing.end');
    const writer = await m.app();
    await writer.query('START TRANSACTION');
    await writer.query("INSERT INTO tags VALUES ('uncommitted', 3)");
    const [id] = await writer.query<RowDataPacket[]>('SELECT CONNECTION_ID() AS id');
    run.child.kill('SIGCONT');
    const result = await run.done;
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(
      `the application still holds uncommitted writes after 3 s: session ${id[0]!['id']}`,
    );
    expect(result.stderr).toContain('GRANT CONNECTION ADMIN ON *.* TO ferry_migrator');
    // The fence is down again: the application goes on.
    await writer.query("INSERT INTO tags VALUES ('uncommitted 2', 3)");
    await writer.query('COMMIT');
    await writer.query("DELETE FROM tags WHERE name LIKE 'uncommitted%'");
    await writer.end();
    const back = await ferry(['fallback', '-f', file], m.env);
    expect(back.code, back.stderr).toBe(0);
    expect((await sourceState(m)).leftovers).toEqual([]);
  });

  it('refuses a migration user without the GRANTs, naming them, and changes nothing', async () => {
    const root = await m.root();
    await root.query("CREATE USER 'weak'@'%' IDENTIFIED BY 'weak-pw'; GRANT SELECT ON shop.* TO 'weak'@'%'");
    await root.end();
    const before = await sourceState(m);
    const file = m.manifest('shop', {}, { user: 'weak', password: { env: 'WEAK_PW' } });
    const run = await ferry(['run', '-f', file], { ...m.env, WEAK_PW: 'weak-pw' });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain("GRANT TRIGGER, LOCK TABLES ON `shop`.* TO 'weak'@'%';");
    expect(run.stderr).toContain(
      "GRANT CREATE, DROP, SELECT, INSERT, UPDATE, DELETE, ALTER ON `ferry\\_%`.* TO 'weak'@'%';",
    );
    expect(run.stderr).toContain("GRANT PROCESS ON *.* TO 'weak'@'%';");
    expect(run.stderr).not.toContain('weak-pw');
    expect(await sourceState(m)).toEqual(before);
  });
});

// DowntimeOptimized from a real MariaDB into PostgreSQL while the application writes: the bulk copy
// from one consistent snapshot, the recorded changes replayed (inserts, deletes, key moves including
// case-only ones under a case-insensitive collation, latin1 text), a run killed in the replay and
// resumed, the cutover fencing the writers off; the target ends exactly the source as the fence
// found it, and nothing of ferry's is left on the source. A TRUNCATE, which fires no trigger in
// MySQL, is seen by the table's new InnoDB id and replayed by copying the table whole.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { ferry, startFerry } from '../../../test/support/cli.ts';
import {
  bothSides,
  mysqlLeftovers,
  startMysqlMigration,
  type Canonical,
  type MysqlMigration,
} from '../../../test/support/mysql-roles.ts';

let m: MysqlMigration;

const SHOP = `
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
INSERT INTO audit VALUES ('2024-01-01 00:00:00', 'x');
`;

/** Every row of the migrated tables, canonically, on MariaDB and on PostgreSQL. */
const CANONICAL: Record<string, Canonical> = {
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

interface Writers {
  /** Resolves when the writers stopped: fenced off (the cutover), or asked to. */
  stop(): Promise<{ committed: number; fenced: boolean; error?: string }>;
  fenced: Promise<void>;
}

/**
 * The application: inserts, updates (latin1 text, amounts), deletes, key moves (also case-only, which
 * a case-insensitive collation calls equal). Stops at the first write the fence refuses.
 */
function startWriters(sessions: number): Writers {
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
    stop: async () => {
      stopping = true;
      await all;
      return { committed, fenced, ...(error ? { error } : {}) };
    },
  };
}

/** Each test leaves the source without ferry's state, whatever it did. */
afterEach(async () => {
  for (const name of ['dto', 'held', 'trunc']) {
    const back = await ferry(['fallback', '-f', m.manifest(name, spec(false))], m.env);
    expect(back.code, back.stderr).toBe(0);
  }
  const root = await m.root();
  expect(await mysqlLeftovers(root)).toEqual([]);
  await root.end();
  const c = await m.target();
  await c.query('DROP SCHEMA IF EXISTS shop CASCADE');
  await c.end();
});

beforeAll(async () => {
  m = await startMysqlMigration();
  const app = await m.app();
  await app.query(SHOP);
  await app.end();
}, 180_000);
afterAll(async () => m?.stop());

const spec = (approved: boolean) => ({
  mode: 'DowntimeOptimized',
  tables: { exclude: ['audit'] },
  cutover: { approved },
  transfer: { parallelism: 2, splitAbove: '64Ki', chunkRows: 1000 },
});

describe('DowntimeOptimized, MariaDB -> PostgreSQL, with writers', () => {
  it('copies in uptime, survives SIGKILL during the replay, cuts over and ends exactly equal', async () => {
    const writers = startWriters(3);
    const killed = await ferry(['run', '-f', m.manifest('dto', spec(false))], {
      ...m.env,
      FERRY_FAULT: 'replay.target-committed:3',
    });
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    const done = await ferry(['run', '-f', m.manifest('dto', spec(true))], m.env);
    const w = await writers.stop();
    expect(done.code, done.stderr).toBe(0);
    expect(w.error).toBeUndefined();
    expect(w.fenced, 'the cutover fenced the writers off').toBe(true);
    expect(w.committed).toBeGreaterThan(100);
    expect(done.stdout).toMatch(/Downtime \(application writes fenced off until done\)/);
    const sides = await bothSides(m, CANONICAL);
    for (const [t, s] of Object.entries(sides)) expect(s.target, t).toEqual(s.source);
    const root = await m.root();
    expect(await mysqlLeftovers(root)).toEqual([]);
    await root.end();
  });

  it('lifts the fence when the cutover fails (a writer holds it past fence.waitSeconds), and replays on', async () => {
    const file = m.manifest('held', { ...spec(false), fence: { waitSeconds: 2 } });
    const run = startFerry(['run', '-f', file], m.env);
    let stderr = '';
    run.child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const until = async (text: string) => {
      for (let i = 0; i < 1200 && !stderr.includes(text); i++) await new Promise((r) => setTimeout(r, 100));
      expect(stderr).toContain(text);
    };
    await until('waiting for cutover approval');
    // Uncommitted writes on a migrated table when the cutover raises the fence.
    const holder = await m.app();
    await holder.query('START TRANSACTION');
    await holder.query("INSERT INTO tags VALUES ('held', 1)");
    const approve = await ferry(['cutover', '-f', file], m.env);
    expect(approve.code, approve.stderr).toBe(0);
    await until('cutover failed: the fence is down');
    expect(stderr).toContain('the application still holds uncommitted writes after 2 s');
    // The application writes again; the replay goes on (the run waits for another approval).
    const app = await m.app();
    await app.query("INSERT INTO tags VALUES ('after failed cutover', 2)");
    await holder.query('COMMIT');
    await holder.end();
    await app.query("DELETE FROM tags WHERE name IN ('held', 'after failed cutover')");
    await app.end();
    run.child.kill('SIGKILL');
    await run.done;
  });

  it('replays a TRUNCATE (no trigger fires): the table is copied whole, refilled rows and later changes too', async () => {
    const app = await m.app();
    await app.query(
      'CREATE TABLE scratch (id int NOT NULL PRIMARY KEY, v varchar(10) CHARACTER SET latin1) ENGINE=InnoDB',
    );
    await app.query("INSERT INTO scratch SELECT seq, CONCAT('é', seq) FROM seq_1_to_500");
    const file = m.manifest('trunc', spec(false));
    const run = startFerry(['run', '-f', file], m.env);
    let stderr = '';
    run.child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const until = async (text: string) => {
      for (let i = 0; i < 1200 && !stderr.includes(text); i++) await new Promise((r) => setTimeout(r, 100));
      expect(stderr).toContain(text);
    };
    await until('waiting for cutover approval');
    // In uptime: emptied, refilled in part, then changed row by row (recorded again).
    await app.query('TRUNCATE scratch');
    await app.query("INSERT INTO scratch SELECT seq, CONCAT('ü', seq) FROM seq_400_to_700");
    await until('emptied by TRUNCATE (or rebuilt): copied whole');
    await app.query("UPDATE scratch SET v = 'naïve' WHERE id = 450");
    await app.query('DELETE FROM scratch WHERE id > 690');
    // Emptied again just before the cutover: the final delta copies it whole once more.
    await app.query('TRUNCATE scratch');
    await app.query("INSERT INTO scratch VALUES (1, 'fin')");
    const approve = await ferry(['cutover', '-f', file], m.env);
    expect(approve.code, approve.stderr).toBe(0);
    const done = await run.done;
    expect(done.code, stderr).toBe(0);
    const sides = await bothSides(m, {
      ...CANONICAL,
      scratch: {
        mysql: "SELECT CONCAT_WS('|', id, CONVERT(v USING utf8mb4)) AS r FROM shop.scratch",
        pg: "SELECT concat_ws('|', id, v) AS r FROM shop.scratch",
      },
    });
    for (const [t, side] of Object.entries(sides)) expect(side.target, t).toEqual(side.source);
    expect(sides['scratch']!.target).toEqual(['1|fin']);
    await app.query('DROP TABLE scratch');
    await app.end();
  });
});

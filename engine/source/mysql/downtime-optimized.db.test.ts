// DowntimeOptimized from a real MariaDB into PostgreSQL while the application writes: the bulk copy
// from one consistent snapshot, the recorded changes replayed (inserts, deletes, key moves including
// case-only ones under a case-insensitive collation, latin1 text), a run killed in the replay and
// resumed, the cutover fencing the writers off; the target ends exactly the source as the fence
// found it, and nothing of ferry's is left on the source. A TRUNCATE, which fires no trigger in
// MySQL, is seen by the table's new InnoDB id and replayed by copying the table whole.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ferry, startWatched } from '../../../test/support/cli.ts';
import {
  bothSides,
  mysqlLeftovers,
  resetTarget,
  type MysqlMigration,
} from '../../../test/support/mysql-roles.ts';
import { CANONICAL, startMysqlShop, startMysqlWriters } from '../../../test/support/mysql-shop.ts';

let m: MysqlMigration;

/** Each test leaves the source without ferry's state, whatever it did. */
afterEach(async () => {
  for (const name of ['dto', 'held', 'trunc']) {
    const back = await ferry(['fallback', '-f', m.manifest(name, spec(false))], m.env);
    expect(back.code, back.stderr).toBe(0);
  }
  const root = await m.root();
  expect(await mysqlLeftovers(root)).toEqual([]);
  await root.end();
  await resetTarget(m);
});

beforeAll(async () => {
  m = await startMysqlShop();
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
    const writers = startMysqlWriters(m, 3);
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
    const { run, stderr, until } = startWatched(file, m.env);
    await until('waiting for cutover approval');
    // Uncommitted writes on a migrated table when the cutover raises the fence.
    const holder = await m.app();
    await holder.query('START TRANSACTION');
    await holder.query("INSERT INTO tags VALUES ('held', 1)");
    const approve = await ferry(['cutover', '-f', file], m.env);
    expect(approve.code, approve.stderr).toBe(0);
    await until('cutover failed: the fence is down');
    expect(stderr()).toContain('the application still holds uncommitted writes after 2 s');
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
    const { run, stderr, until } = startWatched(file, m.env);
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
    expect(done.code, stderr()).toBe(0);
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

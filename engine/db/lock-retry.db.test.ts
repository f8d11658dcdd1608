// Installing triggers while the application writes: when ferry's DDL and an application transaction
// lock two tables in opposite orders, ferry gives way and retries; the application never sees a
// deadlock error.
import pg from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPostgres, type PostgresServer } from '../../hack/postgres/server.ts';
import { silentLogger } from '../log.ts';
import { withLockRetries } from './lock-retry.ts';

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgres({ version: 18 });
  const c = new pg.Client({ connectionString: server.url() });
  await c.connect();
  await c.query(`CREATE TABLE a (id int PRIMARY KEY, n int); CREATE TABLE b (id int PRIMARY KEY, n int);
    INSERT INTO a VALUES (1, 0); INSERT INTO b VALUES (1, 0);
    CREATE FUNCTION noop() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NULL; END'`);
  await c.end();
});
afterAll(async () => {
  await server?.stop();
});

const session = async (name: string) => {
  const c = new pg.Client({ connectionString: server.url(), application_name: name });
  await c.connect();
  return c;
};

it('an application transaction locking the tables in the opposite order commits; ferry retries', async () => {
  const [app, ferry, watch] = await Promise.all([session('app'), session('ferry'), session('watch')]);
  try {
    await app.query('BEGIN');
    await app.query('UPDATE b SET n = n + 1');
    let attempts = 0;
    // A slow installation: table a is held for a while before b is asked for, so the application's
    // wait on a begins well before ferry's wait on b (the order in which a default deadlock check
    // cancels the application).
    const installing = withLockRetries(ferry, silentLogger, 'installing triggers', async () => {
      attempts++;
      await ferry.query('CREATE TRIGGER t AFTER INSERT ON a FOR EACH ROW EXECUTE FUNCTION noop()');
      await ferry.query('SELECT pg_sleep(0.6)');
      await ferry.query('CREATE TRIGGER t AFTER INSERT ON b FOR EACH ROW EXECUTE FUNCTION noop()');
    });
    for (;;) {
      const { rows } = await watch.query(
        "SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'a' AND l.mode = 'ShareRowExclusiveLock' AND l.granted",
      );
      if (rows.length) break;
      await sleep(10);
    }
    await app.query('UPDATE a SET n = n + 1');
    await app.query('COMMIT');
    await installing;
    expect(attempts).toBeGreaterThan(1);
    const { rows } = await watch.query<{ n: string }>(
      "SELECT count(*) AS n FROM pg_trigger WHERE tgname = 't'",
    );
    expect(rows[0]!.n).toBe('2');
    expect((await watch.query('SELECT a.n + b.n AS s FROM a, b')).rows).toEqual([{ s: 2 }]);
  } finally {
    await Promise.all([app.end(), ferry.end(), watch.end()]);
  }
});

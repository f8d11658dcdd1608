// ferry's triggers on the application's write path pin no search_path (it would cost every write):
// a writer whose search_path puts its own operators and types before pg_catalog must not get them
// run inside the recorder, which runs as ferry's migration role.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresServer } from '../../../hack/postgres/server.ts';
import { column, table } from '../../../test/support/catalog.ts';
import { fenceDdl } from './fence-ddl.ts';
import { LOG_TABLE, recorderDdl, tableRecorderDdl } from './record.ts';

let server: PostgresServer;

async function as(user: string, fn: (c: pg.Client) => Promise<void>): Promise<void> {
  const url = new URL(server.url('shop'));
  if (user !== server.user) [url.username, url.password] = [user, user];
  const c = new pg.Client({ connectionString: url.toString() });
  await c.connect();
  try {
    await fn(c);
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  server = await startPostgres({ version: 15 });
  const admin = new pg.Client({ connectionString: server.url() });
  await admin.connect();
  await admin.query('CREATE DATABASE shop');
  await admin.end();
  await as(server.user, async (c) => {
    await c.query(`CREATE ROLE app LOGIN PASSWORD 'app'; CREATE ROLE mig LOGIN PASSWORD 'mig';
      CREATE SCHEMA shop AUTHORIZATION app; CREATE SCHEMA ferry_h AUTHORIZATION mig;
      GRANT USAGE ON SCHEMA shop TO mig`);
  });
});
afterAll(async () => server?.stop());

describe('the change recorder', () => {
  it('resolves nothing through the writer’s search_path: its own operators and types are never used', async () => {
    await as('app', async (c) => {
      await c.query(`CREATE TABLE shop.t (id bigint PRIMARY KEY, v text);
        INSERT INTO shop.t SELECT g, 'v' || g FROM generate_series(1, 5) g;
        GRANT TRIGGER ON shop.t TO mig;
        CREATE TABLE shop.hijacked (by name, what text);
        GRANT INSERT ON shop.hijacked TO PUBLIC;
        CREATE FUNCTION shop.note(what text) RETURNS boolean LANGUAGE sql
          AS $$ INSERT INTO shop.hijacked VALUES (current_user, what) RETURNING true $$;
        CREATE FUNCTION shop.eq_text(a text, b text) RETURNS boolean LANGUAGE sql AS $$ SELECT shop.note('text =') $$;
        CREATE FUNCTION shop.ne_arr(a text[], b text[]) RETURNS boolean LANGUAGE sql AS $$ SELECT shop.note('text[] <>') $$;
        CREATE FUNCTION shop.eq_int8(a bigint, b bigint) RETURNS boolean LANGUAGE sql AS $$ SELECT shop.note('bigint =') $$;
        CREATE OPERATOR shop.= (LEFTARG = text, RIGHTARG = text, FUNCTION = shop.eq_text);
        CREATE OPERATOR shop.<> (LEFTARG = text[], RIGHTARG = text[], FUNCTION = shop.ne_arr);
        CREATE OPERATOR shop.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = shop.eq_int8);
        CREATE TYPE shop.text AS (hijacked boolean)`);
    });
    const t = table('t', {
      columns: [column('id', { type: 'bigint', notNull: true }), column('v', { type: 'text' })],
    });
    await as('mig', async (c) => {
      for (const sql of [
        ...fenceDdl('ferry_h', 'h', 'shop', [t]),
        ...recorderDdl('ferry_h'),
        ...tableRecorderDdl('ferry_h', 'h', 'shop', t, 0),
      ])
        await c.query(sql);
    });
    await as('app', async (c) => {
      await c.query('SET search_path = shop, pg_catalog');
      await c.query(`INSERT INTO shop.t VALUES (100, 'new')`);
      await c.query(`UPDATE shop.t SET v = 'changed' WHERE id OPERATOR(pg_catalog.=) 1`);
      await c.query(`UPDATE shop.t SET id = 200 WHERE id OPERATOR(pg_catalog.=) 2`);
      await c.query(`DELETE FROM shop.t WHERE id OPERATOR(pg_catalog.=) 3`);
    });
    const rows = async (sql: string) => {
      let out: unknown[] = [];
      await as(server.user, async (c) => void (out = (await c.query(sql)).rows));
      return out;
    };
    expect(await rows('SELECT * FROM shop.hijacked')).toEqual([]);
    expect(await rows(`SELECT op, key FROM ferry_h.${LOG_TABLE} ORDER BY at, key`)).toEqual([
      { op: 'I', key: ['100'] },
      { op: 'U', key: ['1'] },
      { op: 'U', key: ['2'] },
      { op: 'U', key: ['200'] },
      { op: 'D', key: ['3'] },
    ]);
  });
});

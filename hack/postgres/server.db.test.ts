import { afterAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { existsSync } from 'node:fs';
import { startPostgres, type PostgresServer } from './server.ts';

describe('throwaway PostgreSQL servers', () => {
  const started: PostgresServer[] = [];
  afterAll(async () => {
    for (const s of started) await s.stop();
  });

  it.each([15, 18] as const)(
    'PostgreSQL %i starts on loopback with password auth and stops by pid',
    async (v) => {
      const server = await startPostgres({ version: v });
      started.push(server);
      const client = new pg.Client({ connectionString: server.url() });
      await client.connect();
      const { rows } = await client.query<{ v: string }>("select current_setting('server_version_num') as v");
      await client.end();
      // 15 may fall back to the embedded 18 where the machine has no PostgreSQL 15.
      expect(Number(rows[0]!.v.slice(0, 2))).toBe(server.version);
      const bad = new pg.Client({ ...connOf(server), password: 'wrong' });
      await expect(bad.connect()).rejects.toThrow(/password authentication failed/);
      await server.stop();
      expect(existsSync(server.dataDir)).toBe(false);
      expect(() => process.kill(server.pid, 0)).toThrow();
    },
  );

  it('restarts on the same data directory and port, by pid', async () => {
    const server = await startPostgres({ version: 18 });
    started.push(server);
    const sql = async (q: string) => {
      const c = new pg.Client({ connectionString: server.url() });
      await c.connect();
      try {
        return (await c.query<{ n: number }>(q)).rows;
      } finally {
        await c.end();
      }
    };
    await sql('CREATE TABLE kept AS SELECT 7 AS n');
    const held = new pg.Client({ connectionString: server.url() });
    held.on('error', () => {});
    await held.connect();
    const pid = server.pid;
    await server.restart(200);
    expect(server.pid).not.toBe(pid);
    expect(() => process.kill(pid, 0)).toThrow();
    await expect(held.query('SELECT 1')).rejects.toThrow();
    expect(await sql('SELECT n FROM kept')).toEqual([{ n: 7 }]);
  });

  it('refuses a port another server holds instead of taking that server for its own', async () => {
    const holder = await startPostgres({ version: 18 });
    started.push(holder);
    // Same password, same port: only the data directory tells the servers apart.
    await expect(startPostgres({ version: 18, port: holder.port })).rejects.toThrow(
      /exited \(1\) before accepting connections/,
    );
  });

  it("ignores the user's PGDATABASE, PGUSER, PGHOST and PGSSLMODE", async () => {
    const vars = {
      PGDATABASE: 'nonexistent',
      PGUSER: 'nobody',
      PGHOST: '/nonexistent',
      PGSSLMODE: 'require',
    };
    const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
    Object.assign(process.env, vars);
    try {
      const server = await startPostgres({ version: 18 });
      started.push(server);
      const client = new pg.Client({ connectionString: server.url() });
      await client.connect();
      const { rows } = await client.query<{ db: string; who: string }>(
        'select current_database() as db, current_user as who',
      );
      await client.end();
      expect(rows[0]).toEqual({ db: 'postgres', who: 'postgres' });
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});

function connOf(s: PostgresServer) {
  return { host: s.host, port: s.port, user: s.user, database: s.database };
}

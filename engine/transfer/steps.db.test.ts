// A post-load step on a real server: its DDL runs with the settings given for it (the pool's limit on
// a build's parallel workers) in its own transaction alone, and commits with its done-row; a step
// recorded done does not run again.
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPostgres, type PostgresServer } from '../../hack/postgres/server.ts';
import { silentLogger } from '../log.ts';
import { createProgressSchema, doneSteps } from '../state/progress.ts';
import { runStep } from './steps.ts';

let server: PostgresServer;
let c: pg.Client;
beforeAll(async () => {
  server = await startPostgres({ version: 18 });
  c = new pg.Client({ connectionString: server.url() });
  await c.connect();
  await c.query('CREATE SCHEMA app; CREATE TABLE app.t AS SELECT g AS id FROM generate_series(1, 1000) g');
  await createProgressSchema(c, 'ferry_steps', { legacy: true, name: 'steps' });
});
afterAll(async () => {
  await c?.end();
  await server?.stop();
});

const setting = async () =>
  (await c.query<{ n: string }>("SELECT current_setting('max_parallel_maintenance_workers') AS n")).rows[0]!
    .n;

it('runs a step with its own settings for its transaction alone, once', async () => {
  const before = await setting();
  expect(before).not.toBe('0');
  const step = {
    name: 'index:"t_id"',
    // What the build saw, kept in a table the step creates with it.
    sql: `CREATE INDEX t_id ON t (id); CREATE TABLE seen AS SELECT current_setting('max_parallel_maintenance_workers') AS n, current_schema() AS s`,
    schema: 'app',
    parallelWorkers: 0,
  };
  await runStep(c, 'ferry_steps', 'public', step, silentLogger);
  expect((await c.query('SELECT n, s FROM app.seen')).rows).toEqual([{ n: '0', s: 'app' }]);
  expect(await setting()).toBe(before);
  expect(await doneSteps(c, 'ferry_steps')).toEqual(new Set(['index:"t_id"']));
  // Recorded done: not run again (the index would exist already).
  await runStep(c, 'ferry_steps', 'public', step, silentLogger);
});

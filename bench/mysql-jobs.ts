// The MySQL scenario's jobs, each the whole migration of the MariaDB database `shop` into the
// target's fresh database `shop` (schema `shop`): `ferry run` from MariaDB, and pgloader (Debian's)
// at the same parallelism. Thin adapters over the real tools, like jobs.ts.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { MariadbServer } from '../hack/mariadb/server.ts';
import type { PostgresServer } from '../hack/postgres/server.ts';
import { missingOf, runFerry, SCHEMA, timedWithRss, type Job, type JobContext } from './jobs.ts';
import { childEnv } from './tools.ts';

export interface MysqlJobContext extends JobContext {
  my: MariadbServer;
}

const PASSWORD_ENV = { source: 'FERRY_BENCH_MYSQL_PASSWORD', target: 'FERRY_BENCH_PG_PASSWORD' };

/** ferry's manifest: MariaDB's `shop` (as root) into the target's `shop`, validation Count. */
export function mysqlManifest(
  my: Pick<MariadbServer, 'host' | 'port' | 'user'>,
  pg: Pick<PostgresServer, 'host' | 'port' | 'user'>,
  name: string,
  parallelism: number,
): string {
  return stringify({
    apiVersion: 'ferry.dev/v1alpha1',
    kind: 'Migration',
    metadata: { name },
    spec: {
      source: {
        engine: 'mysql',
        host: my.host,
        port: my.port,
        database: SCHEMA,
        user: my.user,
        password: { env: PASSWORD_ENV.source },
      },
      target: {
        engine: 'postgres',
        host: pg.host,
        port: pg.port,
        database: SCHEMA,
        user: pg.user,
        password: { env: PASSWORD_ENV.target },
        schema: SCHEMA,
      },
      transfer: { parallelism },
      validation: 'Count',
    },
  });
}

/**
 * pgloader's command file. Its parallelism is `workers` threads, each table taking one reader and
 * `concurrency` writers: `workers = 2N, concurrency = 1` copies N tables at a time, each through
 * one reader and one writer, as ferry's N pipes do (at N = 2 it is pgloader's default), and N
 * index builds at once. The rest are pgloader's defaults for a MySQL source (create tables,
 * indexes, foreign keys, reset sequences; tables in schema `shop`, named after the database).
 * No password: pgloader reads MYSQL_PWD and PGPASSWORD from its environment.
 */
export function pgloaderCommand(
  my: Pick<MariadbServer, 'host' | 'port' | 'user'>,
  pg: Pick<PostgresServer, 'host' | 'port' | 'user'>,
  parallelism: number,
): string {
  const user = (u: string) => encodeURIComponent(u);
  return `LOAD DATABASE
  FROM mysql://${user(my.user)}@${my.host}:${my.port}/${SCHEMA}
  INTO postgresql://${user(pg.user)}@${pg.host}:${pg.port}/${SCHEMA}?sslmode=disable
WITH create tables, create indexes, foreign keys, reset sequences,
     workers = ${2 * parallelism}, concurrency = 1, max parallel create index = ${parallelism}
;
`;
}

export const ferryMysql: Job<MysqlJobContext> = {
  id: 'ferry-mysql',
  label: (n) => `ferry run from MariaDB, validation Count, parallelism ${n}`,
  missing: () => [],
  baseline: false,
  run: (ctx) =>
    runFerry(
      mysqlManifest(ctx.my, ctx.pair.target, `bench-mysql-${ctx.run}`, ctx.parallelism),
      { [PASSWORD_ENV.source]: ctx.my.password, [PASSWORD_ENV.target]: ctx.pair.target.password },
      ctx.dir,
    ),
};

export const pgloader: Job<MysqlJobContext> = {
  id: 'pgloader',
  label: (n) => `pgloader, workers ${2 * n}, concurrency 1, ${n} index builds`,
  missing: () => missingOf('pgloader'),
  baseline: true,
  run: async (ctx) => {
    const file = join(ctx.dir, 'shop.load');
    writeFileSync(file, pgloaderCommand(ctx.my, ctx.pair.target, ctx.parallelism));
    const env = childEnv({ MYSQL_PWD: ctx.my.password, PGPASSWORD: ctx.pair.target.password });
    // Debian's build runs with about 1 GiB of SBCL heap, exhausted at 1 GB of rows ("Heap exhausted
    // during garbage collection"): a 4 GiB heap lets it finish; its algorithm and settings stay.
    // --root-dir: its logs and temporary files go in the run's directory.
    const args = ['--dynamic-space-size', '4096', '--root-dir', join(ctx.dir, 'pgloader'), file];
    return timedWithRss('pgloader', args, env, ctx.dir);
  },
};

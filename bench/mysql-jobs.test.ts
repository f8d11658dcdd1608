import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { mysqlManifest, pgloaderCommand } from './mysql-jobs.ts';

const my = { host: '127.0.0.1', port: 3307, user: 'root' };
const pg = { host: '127.0.0.1', port: 5433, user: 'postgres' };

describe('the MySQL scenario jobs', () => {
  it("gives pgloader ferry's parallelism: N tables at a time (a reader and a writer each), N index builds", () => {
    expect(pgloaderCommand(my, pg, 3)).toBe(`LOAD DATABASE
  FROM mysql://root@127.0.0.1:3307/shop
  INTO postgresql://postgres@127.0.0.1:5433/shop?sslmode=disable
WITH create tables, create indexes, foreign keys, reset sequences,
     workers = 6, concurrency = 1, max parallel create index = 3
;
`);
  });

  it('writes no password into the command file or the manifest, and escapes user names in URIs', () => {
    expect(pgloaderCommand({ ...my, user: 'a@b:c' }, pg, 2)).toContain(
      'mysql://a%40b%3Ac@127.0.0.1:3307/shop',
    );
    const manifest = parse(mysqlManifest(my, pg, 'bench-mysql-1', 2)) as {
      spec: Record<string, Record<string, unknown>>;
    };
    expect(manifest.spec['source']).toEqual({
      engine: 'mysql',
      host: '127.0.0.1',
      port: 3307,
      database: 'shop',
      user: 'root',
      password: { env: 'FERRY_BENCH_MYSQL_PASSWORD' },
    });
    expect(manifest.spec['target']).toMatchObject({
      engine: 'postgres',
      database: 'shop',
      schema: 'shop',
      password: { env: 'FERRY_BENCH_PG_PASSWORD' },
    });
    expect(manifest.spec).toMatchObject({ transfer: { parallelism: 2 }, validation: 'Count' });
  });
});

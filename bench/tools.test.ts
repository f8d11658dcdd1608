import { afterEach, describe, expect, it } from 'vitest';
import { childEnv, conninfo, pgpass, uri } from './tools.ts';
import type { PostgresServer } from '../hack/postgres/server.ts';

const server = { host: '127.0.0.1', port: 5433, user: 'postgres', password: 's3cr:t\\x' } as PostgresServer;

describe('bench tools', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('passes none of the caller PG* variables to the tools, only what it sets', () => {
    Object.assign(process.env, {
      PGPASSWORD: 'leak',
      PGDATABASE: 'other',
      PGSERVICE: 's',
      BENCH_KEEP: 'yes',
    });
    const env = childEnv({ PGPASSFILE: '/tmp/x/pgpass' });
    expect(Object.keys(env).filter((k) => k.startsWith('PG'))).toEqual(['PGPASSFILE']);
    expect(env['BENCH_KEEP']).toBe('yes');
  });

  it('names every connection parameter but the password on the command line', () => {
    expect(conninfo(server, 'shop')).toBe(
      'host=127.0.0.1 port=5433 user=postgres dbname=shop sslmode=disable',
    );
    expect(uri(server, 'shop')).toBe('postgres://postgres@127.0.0.1:5433/shop?sslmode=disable');
    expect(conninfo(server, 'shop') + uri(server, 'shop')).not.toMatch(/s3cr/);
  });

  it('escapes colons and backslashes in .pgpass fields', () => {
    expect(pgpass([server, { ...server, port: 5434, password: 'plain' }])).toBe(
      '127.0.0.1:5433:*:postgres:s3cr\\:t\\\\x\n127.0.0.1:5434:*:postgres:plain\n',
    );
  });
});

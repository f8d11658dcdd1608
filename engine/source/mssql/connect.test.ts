// Sessions on a SQL Server source: what a failed connection says (tedious, really connecting to a
// loopback port nothing listens on), and which server errors the engine may retry.
import { describe, expect, it } from 'vitest';
import type { Endpoint } from '../../db/connect.ts';
import { MssqlConnection, normalizeError } from './connect.ts';

const endpoint = (port: number): Endpoint => ({
  role: 'source',
  conn: {
    host: '127.0.0.1',
    port,
    user: 'migrator',
    database: 'shop',
    sslMode: 'disable',
  } as Endpoint['conn'],
  password: 's3cret-pw',
  rootCert: undefined,
  applicationName: 'ferry:test',
});

describe('a SQL Server session', () => {
  it('refused at connect: one error naming the endpoint and why, retryable, without the password', async () => {
    const err = (await MssqlConnection.open(endpoint(1)).catch((e: unknown) => e)) as Error & {
      code?: string;
    };
    expect(String(err)).toBe(
      'ConnectError: cannot connect to source migrator@127.0.0.1:1/shop: connection refused (is the server running and the port right?)',
    );
    expect(err.code).toBe('08006');
    expect(String(err)).not.toContain('s3cret-pw');
  });

  it('gives deadlocks, snapshot conflicts and lost connections the SQLSTATE class the engine retries', () => {
    const server = (number: number) => Object.assign(new Error(`error ${number}`), { number });
    expect((normalizeError(server(1205)) as { code: string }).code).toBe('40P01');
    expect((normalizeError(server(3960)) as { code: string }).code).toBe('40001');
    expect(
      (normalizeError(Object.assign(new Error('closed'), { code: 'ECLOSE' })) as { code: string }).code,
    ).toBe('08006');
    // A constraint violation is the application's data, not a transient failure.
    expect((normalizeError(server(2627)) as { code?: string }).code).toBeUndefined();
  });
});

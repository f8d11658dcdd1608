// TLS to a real PostgreSQL on loopback, with a CA and server certificate made by openssl for
// 127.0.0.1 and localhost. The server also listens on 127.0.0.2, a name its certificate lacks.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ferry } from '../../test/support/cli.ts';
import { schemaDigests } from '../../test/support/snapshot.ts';
import type { ResolvedConnection } from '../api/settings.ts';
import { startPostgres, type PostgresServer } from '../../hack/postgres/server.ts';
import { testCa } from '../../hack/tls/certs.ts';
import { connect, endpoint } from './connect.ts';

describe('TLS to the databases', () => {
  let server: PostgresServer;
  const ca = testCa();
  const otherCa = testCa('some-other-ca');
  const dir = mkdtempSync(join(tmpdir(), 'ferry-tls-test-'));
  const caFile = join(dir, 'ca.pem');

  beforeAll(async () => {
    writeFileSync(caFile, ca.cert);
    server = await startPostgres({
      version: 18,
      tls: ca.serverCert(['IP:127.0.0.1', 'DNS:localhost']),
      settings: { listen_addresses: '127.0.0.1,127.0.0.2' },
    });
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const conn = (over: Partial<ResolvedConnection>): ResolvedConnection => ({
    engine: 'postgres',
    host: '127.0.0.1',
    port: server.port,
    database: 'postgres',
    user: 'postgres',
    schema: 'public',
    sslMode: 'verify-full',
    sslRootCert: undefined,
    password: { env: 'FERRY_TLS_TEST_UNUSED' },
    ...over,
  });
  /** Connects and says whether the session runs over TLS. */
  async function tlsUsed(c: ResolvedConnection, rootCert?: string): Promise<boolean> {
    const client = await connect(endpoint('source', c, 'tls', server.password, rootCert));
    try {
      const { rows } = await client.query<{ ssl: boolean }>(
        'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
      );
      return rows[0]!.ssl;
    } finally {
      await client.end();
    }
  }
  const refusal = async (c: ResolvedConnection, rootCert?: string) => {
    const err = await tlsUsed(c, rootCert).then(
      () => undefined,
      (e: Error) => e,
    );
    if (!err) throw new Error('connected, expected a refusal');
    expect(err.message).not.toContain(server.password);
    return err.message;
  };

  it('verify-full connects over TLS with the right CA, given or read from sslRootCert.file', async () => {
    expect(await tlsUsed(conn({}), ca.cert)).toBe(true);
    expect(await tlsUsed(conn({ sslRootCert: { file: caFile } }))).toBe(true);
  });

  it('verify-full refuses a server whose certificate another CA signed, naming the check', async () => {
    expect(await refusal(conn({}), otherCa.cert)).toMatch(
      /^cannot connect to source postgres@127\.0\.0\.1:\d+\/postgres: the server's certificate is not signed by a trusted CA \(spec\.source\.sslRootCert/,
    );
    // Without a CA only Node.js's public CAs count, and they did not sign a private one.
    expect(await refusal(conn({}))).toContain('is not signed by a trusted CA');
  });

  it('verify-full refuses a host name the certificate does not carry; verify-ca does not check it', async () => {
    expect(await refusal(conn({ host: '127.0.0.2' }), ca.cert)).toContain(
      "the server's certificate does not name host 127.0.0.2 (sslMode verify-full checks the host name)",
    );
    expect(await tlsUsed(conn({ host: '127.0.0.2', sslMode: 'verify-ca' }), ca.cert)).toBe(true);
    expect(await refusal(conn({ sslMode: 'verify-ca' }), otherCa.cert)).toContain(
      'is not signed by a trusted CA',
    );
  });

  it('require encrypts but checks no certificate; disable does not encrypt', async () => {
    expect(await tlsUsed(conn({ sslMode: 'require', host: '127.0.0.2' }), otherCa.cert)).toBe(true);
    expect(await tlsUsed(conn({ sslMode: 'require' }))).toBe(true);
    expect(await tlsUsed(conn({ sslMode: 'disable' }))).toBe(false);
  });

  it('says so when the server does not take TLS at all', async () => {
    const plain = await startPostgres({ version: 18 });
    try {
      const c = conn({ port: plain.port });
      const err = await connect(endpoint('source', c, 'tls', plain.password, ca.cert)).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err?.message).toContain(
        'the server does not accept TLS connections (spec.source.sslMode asks for TLS)',
      );
    } finally {
      await plain.stop();
    }
  });

  it('runs a whole migration with the CLI over verify-full, the CA from a file; a wrong CA changes nothing', async () => {
    const admin = new pg.Client({ connectionString: server.url() });
    await admin.connect();
    try {
      for (const db of ['shop', 'shop_new']) await admin.query(`CREATE DATABASE ${db}`);
    } finally {
      await admin.end();
    }
    const shop = new pg.Client({ connectionString: server.url('shop') });
    await shop.connect();
    await shop.query(`CREATE SCHEMA shop;
      CREATE TABLE shop.accounts (id bigint PRIMARY KEY, balance numeric, doc jsonb);
      INSERT INTO shop.accounts VALUES (9223372036854775807, 12345678901234567890.000000000001, '{"n": 12345678901234567890}'),
                                       (1, -0.5, '[]')`);
    await shop.end();
    const manifest = (name: string, file: string) => {
      const side = (database: string) => ({
        engine: 'postgres',
        host: '127.0.0.1',
        port: server.port,
        database,
        user: 'postgres',
        password: { env: 'FERRY_TLS_TEST_PASSWORD' },
        schema: 'shop',
        sslMode: 'verify-full',
        sslRootCert: { file },
      });
      const path = join(dir, `${name}.yaml`);
      writeFileSync(
        path,
        stringify({
          apiVersion: 'ferry.dev/v1alpha1',
          kind: 'Migration',
          metadata: { name },
          spec: { source: side('shop'), target: side('shop_new') },
        }),
      );
      return path;
    };
    const env = { FERRY_TLS_TEST_PASSWORD: server.password };
    const otherCaFile = join(dir, 'other-ca.pem');
    writeFileSync(otherCaFile, otherCa.cert);

    const refused = await ferry(['run', '-f', manifest('tls', otherCaFile)], env);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("the server's certificate is not signed by a trusted CA");
    expect(refused.stderr).not.toContain(server.password);
    const shadow = new pg.Client({ connectionString: server.url('shop') });
    await shadow.connect();
    const { rows } = await shadow.query("SELECT 1 FROM pg_namespace WHERE nspname = 'ferry_tls'");
    await shadow.end();
    expect(rows).toEqual([]);

    const r = await ferry(['run', '-f', manifest('tls', caFile)], env);
    expect(r.code, r.stderr).toBe(0);
    const [src, dst] = await Promise.all([
      schemaDigests(server.url('shop'), 'shop'),
      schemaDigests(server.url('shop_new'), 'shop'),
    ]);
    expect(Object.keys(src)).toEqual(['accounts']);
    expect(dst).toEqual(src);
  });
});

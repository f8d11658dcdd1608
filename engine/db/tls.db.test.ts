// TLS to a real PostgreSQL on loopback, with a CA and server certificate made by openssl for
// 127.0.0.1 and localhost. The server also listens on 127.0.0.2, a name its certificate lacks.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
});

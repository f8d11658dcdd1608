// Test certificates made with openssl: a CA and a server certificate it signs, for TLS tests against
// throwaway servers on loopback.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCa {
  cert: string;
  /** A server certificate of this CA for the given subjectAltName entries (`IP:127.0.0.1`, `DNS:localhost`). */
  serverCert(altNames: string[]): { cert: string; key: string };
}

export function testCa(name = 'ferry-test-ca'): TestCa {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-tls-'));
  const openssl = (args: string[]) =>
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const key = (file: string) =>
    openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', file]);
  try {
    key('ca.key');
    openssl([
      'req',
      '-x509',
      '-new',
      '-key',
      'ca.key',
      '-subj',
      `/CN=${name}`,
      '-days',
      '2',
      '-out',
      'ca.crt',
    ]);
    const caKey = readFileSync(join(dir, 'ca.key'), 'utf8');
    const cert = readFileSync(join(dir, 'ca.crt'), 'utf8');
    rmSync(dir, { recursive: true });
    return {
      cert,
      serverCert(altNames) {
        const d = mkdtempSync(join(tmpdir(), 'ferry-tls-'));
        const run = (args: string[]) =>
          execFileSync('openssl', args, { cwd: d, stdio: ['ignore', 'ignore', 'pipe'] });
        try {
          writeFileSync(join(d, 'ca.key'), caKey, { mode: 0o600 });
          writeFileSync(join(d, 'ca.crt'), cert);
          writeFileSync(
            join(d, 'ext'),
            `subjectAltName=${altNames.join(',')}\nextendedKeyUsage=serverAuth\n`,
          );
          run(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'server.key']);
          run(['req', '-new', '-key', 'server.key', '-subj', '/CN=ferry-test-server', '-out', 'server.csr']);
          run(
            [
              'x509',
              '-req',
              '-in',
              'server.csr',
              '-CA',
              'ca.crt',
              '-CAkey',
              'ca.key',
              '-CAcreateserial',
            ].concat(['-days', '2', '-extfile', 'ext', '-out', 'server.crt']),
          );
          return {
            cert: readFileSync(join(d, 'server.crt'), 'utf8'),
            key: readFileSync(join(d, 'server.key'), 'utf8'),
          };
        } finally {
          rmSync(d, { recursive: true, force: true });
        }
      },
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

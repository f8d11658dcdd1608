// TLS in a cluster: a Migration with sslMode verify-full on both sides and the CA in a ConfigMap.
// The operator reads the CA for its own connections and the transfer Pod gets it from the same key;
// the migration completes exact. One PostgreSQL serving an openssl-made certificate, two databases.
import pg from 'pg';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresServer } from '../hack/postgres/server.ts';
import { testCa } from '../hack/tls/certs.ts';
import { schemaDigests } from '../test/support/snapshot.ts';
import { kubeconfig, kubectl, namespace } from '../test/controlplane/kube.ts';
import { operatorKubeconfig, startOperator, type OperatorProcess } from '../test/support/operator.ts';

let server: PostgresServer;
let operator: OperatorProcess | undefined;
const ca = testCa();

beforeAll(async () => {
  server = await startPostgres({ version: 18, tls: ca.serverCert(['IP:127.0.0.1', 'DNS:localhost']) });
  const admin = new pg.Client({ connectionString: server.url() });
  await admin.connect();
  try {
    for (const db of ['shop', 'shop_new']) await admin.query(`CREATE DATABASE ${db}`);
  } finally {
    await admin.end();
  }
  const shop = new pg.Client({ connectionString: server.url('shop') });
  await shop.connect();
  try {
    await shop.query(`CREATE SCHEMA shop;
      CREATE TABLE shop.accounts (id bigint PRIMARY KEY, balance numeric, doc jsonb);
      INSERT INTO shop.accounts
        SELECT g, g * 1.000000000000000001, jsonb_build_object('n', 12345678901234567890 + g)
        FROM generate_series(1, 5000) g`);
  } finally {
    await shop.end();
  }
});
afterAll(async () => {
  await operator?.stop();
  await server?.stop();
});

describe('operator, TLS to the databases', () => {
  it('verify-full with the CA from a ConfigMap: the operator and the transfer Pod check the server, Completed exact', async () => {
    operator = await startOperator(operatorKubeconfig(kubeconfig()), ['--lease-namespace', 'ferry-system']);
    const ns = namespace('tls');
    const side = (database: string, key: string) => ({
      engine: 'postgres',
      host: '127.0.0.1',
      port: server.port,
      database,
      user: 'postgres',
      schema: 'shop',
      password: { secretKeyRef: { name: 'db-passwords', key } },
      sslMode: 'verify-full',
      sslRootCert: { configMapKeyRef: { name: 'db-ca', key: 'ca.crt' } },
    });
    const docs = [
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'db-ca' }, data: { 'ca.crt': ca.cert } },
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'db-passwords' },
        stringData: { source: server.password, target: server.password },
      },
      {
        apiVersion: 'ferry.dev/v1alpha1',
        kind: 'Migration',
        metadata: { name: 'shop' },
        spec: {
          source: side('shop', 'source'),
          target: side('shop_new', 'target'),
          transfer: { tableGroups: 1, parallelism: 1 },
        },
      },
    ];
    kubectl(['-n', ns, 'apply', '-f', '-'], docs.map((d) => stringify(d)).join('---\n'));
    try {
      kubectl([
        '-n',
        ns,
        'wait',
        '--for=jsonpath={.status.phase}=Completed',
        'migration/shop',
        '--timeout=180s',
      ]);
    } catch (err) {
      const status = kubectl(['-n', ns, 'get', 'migration', 'shop', '-o', 'jsonpath={.status}']);
      throw new Error(
        `${(err as Error).message}\nstatus: ${status}\noperator:\n${operator.output().slice(-4000)}`,
      );
    }
    // The transfer Pod got the CA from the ConfigMap key, not a copy of it.
    const pods = JSON.parse(kubectl(['-n', ns, 'get', 'pods', '-o', 'json'])) as {
      items: { spec: { containers: { env: { name: string; valueFrom?: unknown }[] }[] } }[];
    };
    expect(pods.items.length).toBeGreaterThan(0);
    for (const p of pods.items)
      expect(p.spec.containers[0]!.env.filter((e) => e.name.endsWith('_SSLROOTCERT'))).toEqual([
        {
          name: 'FERRY_SOURCE_SSLROOTCERT',
          valueFrom: { configMapKeyRef: { name: 'db-ca', key: 'ca.crt' } },
        },
        {
          name: 'FERRY_TARGET_SSLROOTCERT',
          valueFrom: { configMapKeyRef: { name: 'db-ca', key: 'ca.crt' } },
        },
      ]);
    const [src, dst] = await Promise.all([
      schemaDigests(server.url('shop'), 'shop'),
      schemaDigests(server.url('shop_new'), 'shop'),
    ]);
    expect(Object.keys(src)).toEqual(['accounts']);
    expect(dst).toEqual(src);
  });
});

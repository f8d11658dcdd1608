// End to end on real servers: the ferry CLI migrates a database from PostgreSQL 15 to 18, connected as
// a non-superuser migration role; the data belongs to the application role (hack/fixtures/roles.ts).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setUpRoles, type Roles } from '../hack/fixtures/roles.ts';
import { query, queryOne, startLocalPair, type LocalPair } from '../hack/local-pair.ts';
import { createSampleDatabase } from '../hack/sample/sample.ts';
import { PHASES } from './phases/phase.ts';
import { ferry, startFerry } from '../test/support/cli.ts';
import { schemaDigests, snapshotDatabase } from '../test/support/snapshot.ts';

let pair: LocalPair;
let roles: Roles;
const dir = mkdtempSync(join(tmpdir(), 'ferry-e2e-'));

function manifest(name: string, spec: Record<string, unknown> = {}): string {
  const file = join(dir, `${name}-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(
    file,
    roles.manifest(name, { transfer: { parallelism: 3, splitAbove: '1Mi', chunkRows: 5000 }, ...spec }),
  );
  return file;
}

async function resetTarget(): Promise<void> {
  await query(pair.target, 'DROP SCHEMA IF EXISTS shop CASCADE');
  for (const r of await query<{ n: string }>(
    pair.target,
    "SELECT nspname AS n FROM pg_namespace WHERE nspname LIKE 'ferry\\_%'",
  ))
    await query(pair.target, `DROP SCHEMA "${r.n}" CASCADE`);
}

async function expectTargetEqualsSource(): Promise<void> {
  const [src, dst] = await Promise.all([
    schemaDigests(pair.source.url('shop'), 'shop'),
    schemaDigests(pair.target.url('shop'), 'shop'),
  ]);
  expect(Object.keys(dst).sort()).toEqual(Object.keys(src).sort());
  for (const [table, s] of Object.entries(src)) expect(dst[table], `table ${table}`).toEqual(s);
}

async function ferryObjects(): Promise<{ source: string[]; target: string[] }> {
  const sql = "SELECT nspname AS n FROM pg_namespace WHERE nspname LIKE 'ferry\\_%' ORDER BY 1";
  return {
    source: (await query<{ n: string }>(pair.source, sql)).map((r) => r.n),
    target: (await query<{ n: string }>(pair.target, sql)).map((r) => r.n),
  };
}

beforeAll(async () => {
  pair = await startLocalPair();
  roles = await setUpRoles(pair, { populate: (app) => createSampleDatabase(app, 'shop', 8e6) });
});

afterAll(async () => {
  await pair?.stop();
});

describe('ferry run, PostgreSQL 15 -> 18', () => {
  it('migrates every table, validates, continues sequences and cleans up after itself', async () => {
    await resetTarget();
    const before = await snapshotDatabase(pair.source.url('shop'));
    const r = await ferry(
      ['run', '-f', manifest('shop'), '--report-out', join(dir, 'report.json')],
      roles.env,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Migration shop Completed/);
    for (const p of PHASES) expect(r.stderr, `phase ${p} logged`).toContain(`phase ${p} done`);
    await expectTargetEqualsSource();
    expect(await ferryObjects()).toEqual({ source: [], target: [] });
    expect(await snapshotDatabase(pair.source.url('shop'))).toEqual(before);
    // The application's tables stayed its own; ferry, a non-superuser, owns what it created.
    const owners =
      "SELECT DISTINCT tableowner AS o, (SELECT rolsuper FROM pg_roles WHERE rolname = tableowner) AS su FROM pg_tables WHERE schemaname = 'shop'";
    expect(await query(pair.source, owners)).toEqual([{ o: 'shop_app', su: false }]);
    expect(await query(pair.target, owners)).toEqual([{ o: 'ferry_migrator', su: false }]);
    // Sequences continue past the source's values: a new row gets a fresh id.
    const { max } = await queryOne<{ max: string }>(
      pair.source,
      'SELECT max(id)::text AS max FROM shop.orders',
    );
    const { id } = await queryOne<{ id: string }>(
      pair.target,
      'INSERT INTO shop.orders (customer_id, total, placed_at) VALUES (1, 1, now()) RETURNING id::text AS id',
    );
    expect(BigInt(id)).toBeGreaterThan(BigInt(max));
    const { cid } = await queryOne<{ cid: number }>(
      pair.target,
      "INSERT INTO shop.customers (email, name) VALUES ('new@x', 'n') RETURNING id AS cid",
    );
    const { cmax } = await queryOne<{ cmax: number }>(
      pair.source,
      'SELECT max(id) AS cmax FROM shop.customers',
    );
    expect(cid).toBeGreaterThan(cmax);
    // Keys, foreign keys and secondary indexes were built after the load.
    const idx = await query<{ n: string }>(
      pair.target,
      "SELECT indexname AS n FROM pg_indexes WHERE schemaname = 'shop' ORDER BY 1",
    );
    expect(idx.map((i) => i.n)).toEqual(
      expect.arrayContaining(['orders_by_customer', 'events_by_kind', 'orders_pkey', 'customers_email_key']),
    );
    await expect(
      query(pair.target, 'INSERT INTO shop.orders (customer_id, total, placed_at) VALUES (-1, 1, now())'),
    ).rejects.toThrow(/foreign key/);
  });

  it('continues after SIGKILL mid-transfer with identical data and no duplicates', async () => {
    await resetTarget();
    const file = manifest('killed', { transfer: { parallelism: 2, splitAbove: '1Mi', chunkRows: 2000 } });
    const run = startFerry(['run', '-f', file, '--report-out', join(dir, 'killed.json')], roles.env);
    // Wait until some chunks, but not all, have committed, then kill without warning.
    for (let i = 0; i < 600; i++) {
      const rows = await query<{ n: string }>(
        pair.target,
        "SELECT count(*)::text AS n FROM pg_tables WHERE schemaname = 'ferry_killed' AND tablename = 'chunk_done'",
      );
      if (rows[0]!.n === '1') {
        const { n } = await queryOne<{ n: string }>(
          pair.target,
          'SELECT count(*)::text AS n FROM ferry_killed.chunk_done',
        );
        if (Number(n) >= 3) break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    run.child.kill('SIGKILL');
    const killed = await run.done;
    expect(killed.signal).toBe('SIGKILL');
    const status = await ferry(['status', '-f', file, '--json'], roles.env);
    const st = JSON.parse(status.stdout) as { phase: string; tables: { chunks: number; done: number }[] };
    expect(st.phase).toBe('Execution');
    const sum = (k: 'chunks' | 'done') => st.tables.reduce((a, t) => a + t[k], 0);
    expect(sum('done'), 'killed mid-transfer').toBeGreaterThanOrEqual(3);
    expect(sum('done'), 'killed mid-transfer').toBeLessThan(sum('chunks'));
    const again = await ferry(['run', '-f', file, '--report-out', join(dir, 'killed.json')], roles.env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/resuming migration killed/);
    await expectTargetEqualsSource();
  });

  it('falls back after every phase: source identical, target free of ferry objects', async () => {
    const before = await snapshotDatabase(pair.source.url('shop'));
    for (const phase of PHASES) {
      await resetTarget();
      const targetBefore = await snapshotDatabase(pair.target.url('shop'));
      const file = manifest('fb');
      const r = await ferry(['run', '-f', file, '--stop-after', phase], roles.env);
      expect(r.code, `${phase}: ${r.stderr}`).toBe(0);
      const fb = await ferry(['fallback', '-f', file], roles.env);
      expect(fb.code, `${phase}: ${fb.stderr}`).toBe(0);
      expect(await snapshotDatabase(pair.source.url('shop')), `source after fallback at ${phase}`).toEqual(
        before,
      );
      if (phase !== 'PostProcessing')
        expect(await snapshotDatabase(pair.target.url('shop')), `target after fallback at ${phase}`).toEqual(
          targetBefore,
        );
    }
  });
});

describe('bad input: one clear error, a non-zero exit, nothing changed', () => {
  async function expectRefused(file: string, message: RegExp, env = roles.env): Promise<void> {
    const before = {
      source: await snapshotDatabase(pair.source.url('shop')),
      target: await snapshotDatabase(pair.target.url('shop')),
    };
    const r = await ferry(['run', '-f', file], env);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.match(/ferry: error:/g)).toHaveLength(1);
    for (const secret of roles.secrets()) expect(r.stderr + r.stdout).not.toContain(secret);
    expect({
      source: await snapshotDatabase(pair.source.url('shop')),
      target: await snapshotDatabase(pair.target.url('shop')),
    }).toEqual(before);
  }

  it('an unknown or misspelled field', async () => {
    await resetTarget();
    const file = manifest('bad', { transfer: { parallelsim: 2 } });
    await expectRefused(file, /spec\.transfer\.parallelsim: unknown field \(did you mean parallelism\?\)/);
  });

  it('an unreachable host', async () => {
    const file = join(dir, 'unreachable.yaml');
    writeFileSync(file, roles.manifest('bad').replace(`port: ${pair.source.port}`, 'port: 1'));
    await expectRefused(
      file,
      /cannot connect to source ferry_migrator@127\.0\.0\.1:1\/shop: connection refused/,
    );
  });

  it('a wrong password', async () => {
    await expectRefused(manifest('bad'), /cannot connect to target .*authentication failed/, {
      ...roles.env,
      [roles.migrator.target.passwordEnv]: 'nope',
    });
  });

  it('an include pattern that matches nothing', async () => {
    await expectRefused(
      manifest('bad', { tables: { include: ['ordrs'] } }),
      /spec\.tables\.include: pattern "ordrs" matches no table/,
    );
  });

  it('a target table that already holds data', async () => {
    await resetTarget();
    // A schema the DBA prepared for the migrator, holding a table the migrator may read.
    await query(
      pair.target,
      `CREATE SCHEMA shop; CREATE TABLE shop.orders (id int); INSERT INTO shop.orders VALUES (1), (2);
       GRANT CREATE, USAGE ON SCHEMA shop TO ferry_migrator; GRANT SELECT ON shop.orders TO ferry_migrator`,
    );
    await expectRefused(manifest('bad'), /target table shop\.orders already exists and holds 2 rows/);
    await resetTarget();
  });

  it('a shadow schema left by another migration', async () => {
    await resetTarget();
    const other = manifest('other');
    expect((await ferry(['run', '-f', other, '--stop-after', 'PreProcessing'], roles.env)).code).toBe(0);
    await expectRefused(manifest('bad'), /shadow schema ferry_other of another migration \(other\)/);
    expect((await ferry(['fallback', '-f', other], roles.env)).code).toBe(0);
  });
});

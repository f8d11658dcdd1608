// The migration role's privileges on real servers: a role that lacks some is refused with the exact
// GRANTs, before anything changes, and those GRANTs are all it takes.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setUpRoles, type Roles } from '../../hack/fixtures/roles.ts';
import { query, startLocalPair, type LocalPair } from '../../hack/local-pair.ts';
import { createSampleDatabase } from '../../hack/sample/sample.ts';
import { ferry, type CliResult } from '../../test/support/cli.ts';
import { snapshotDatabase, type DatabaseSnapshot } from '../../test/support/snapshot.ts';

let pair: LocalPair;
let roles: Roles;
const dir = mkdtempSync(join(tmpdir(), 'ferry-privileges-'));

beforeAll(async () => {
  pair = await startLocalPair();
  roles = await setUpRoles(pair, { populate: (app) => createSampleDatabase(app, 'shop', 1e6) });
});

afterAll(async () => {
  await pair?.stop();
});

function manifest(name: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, roles.manifest(name));
  return file;
}

async function snapshots(): Promise<{ source: DatabaseSnapshot; target: DatabaseSnapshot }> {
  return {
    source: await snapshotDatabase(pair.source.url('shop')),
    target: await snapshotDatabase(pair.target.url('shop')),
  };
}

async function run(url: string, sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/** The GRANTs of a refusal, by side, in the order printed. */
function grantsOf(stderr: string): { source: string[]; target: string[] } {
  const out = { source: [] as string[], target: [] as string[] };
  let side: 'source' | 'target' | undefined;
  for (const line of stderr.split('\n')) {
    const head = /^(source|target) \S+: role \S+ lacks privileges/.exec(line);
    if (head) side = head[1] as 'source' | 'target';
    else if (side && /^ {2}GRANT /.test(line)) out[side].push(line.trim());
  }
  return out;
}

/** A run stopped after Checks: refused (then exactly one error, no secret) or passed; nothing changed either way. */
async function runToChecks(name: string): Promise<CliResult> {
  const before = await snapshots();
  const r = await ferry(['run', '-f', manifest(name), '--stop-after', 'Checks'], roles.env);
  for (const secret of roles.secrets()) expect(r.stdout + r.stderr).not.toContain(secret);
  if (r.code !== 0) expect(r.stderr.match(/ferry: error:/g)).toHaveLength(1);
  expect(await snapshots()).toEqual(before);
  return r;
}

describe('the migration role', () => {
  it('is a non-superuser holding exactly what the fixture grants; reporting reads, nothing more', async () => {
    const [m] = await query<{ su: boolean; signal: boolean }>(
      pair.source,
      "SELECT rolsuper AS su, pg_has_role('ferry_migrator', 'pg_signal_backend', 'MEMBER') AS signal FROM pg_roles WHERE rolname = 'ferry_migrator'",
    );
    expect(m).toEqual({ su: false, signal: false });
    await run(roles.reportingUrl(), 'SELECT count(*) FROM shop.orders');
    await expect(run(roles.reportingUrl(), "DELETE FROM shop.audit_log WHERE message = 'x'")).rejects.toThrow(
      /permission denied/,
    );
  });

  it('lacking TRIGGER on a table and CREATE on the target database: refused with both GRANTs, then passes with them', async () => {
    await run(roles.appUrl(), 'REVOKE TRIGGER ON shop.events FROM ferry_migrator');
    await run(pair.target.url('shop'), 'REVOKE CREATE ON DATABASE shop FROM ferry_migrator');
    const refused = await runToChecks('grants');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('missing privileges, nothing was changed');
    expect(refused.stderr).toContain(
      `source ferry_migrator@127.0.0.1:${pair.source.port}/shop: role ferry_migrator lacks privileges`,
    );
    const grants = grantsOf(refused.stderr);
    expect(grants).toEqual({
      source: ['GRANT TRIGGER ON TABLE "shop"."events" TO "ferry_migrator";'],
      target: ['GRANT CREATE ON DATABASE "shop" TO "ferry_migrator";'],
    });
    // The table's owner grants on the source, the superuser on the target: exactly what was printed.
    for (const g of grants.source) await run(roles.appUrl(), g);
    for (const g of grants.target) await run(pair.target.url('shop'), g);
    const passed = await runToChecks('grants');
    expect(passed.code, passed.stderr).toBe(0);
    expect(passed.stderr).toContain('phase Checks done');
  });

  it('lacking SELECT on a sequence: refused at Extraction, where the sequences are read, with its GRANT', async () => {
    await run(roles.appUrl(), 'REVOKE SELECT ON SEQUENCE shop.orders_id_seq FROM ferry_migrator');
    const refused = await runToChecks('sequences');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('phase Preparation done');
    expect(grantsOf(refused.stderr)).toEqual({
      source: ['GRANT SELECT ON SEQUENCE "shop"."orders_id_seq" TO "ferry_migrator";'],
      target: [],
    });
    await run(roles.appUrl(), 'GRANT SELECT ON SEQUENCE shop.orders_id_seq TO ferry_migrator');
  });

  it("an existing target schema that is not the migrator's: refused with its GRANT; an unreadable table in it is still named", async () => {
    await run(pair.target.url('shop'), 'CREATE SCHEMA shop; CREATE TABLE shop.orders (id int)');
    try {
      const refused = await runToChecks('schema');
      expect(grantsOf(refused.stderr)).toEqual({
        source: [],
        target: ['GRANT CREATE, USAGE ON SCHEMA "shop" TO "ferry_migrator";'],
      });
      await run(pair.target.url('shop'), grantsOf(refused.stderr).target[0]!);
      const conflict = await runToChecks('schema');
      expect(conflict.code).toBe(1);
      expect(conflict.stderr).toContain(
        'target table shop.orders already exists; drop it or choose another target schema',
      );
    } finally {
      await run(pair.target.url('shop'), 'DROP SCHEMA shop CASCADE');
    }
  });
});

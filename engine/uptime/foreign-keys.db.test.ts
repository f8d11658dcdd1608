// Foreign keys between uptime tables built in uptime, where the target role may set
// session_replication_role: the replay keeps them holding under a writing application, the downtime
// builds none; a role that loses the setting gets them dropped, and the cutover builds them.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MIGRATOR_ROLE, setUpRoles, type Roles } from '../../hack/fixtures/roles.ts';
import { query, startLocalPair, type LocalPair } from '../../hack/local-pair.ts';
import { createSampleDatabase } from '../../hack/sample/sample.ts';
import { ferry, startFerry, type CliResult } from '../../test/support/cli.ts';
import { bothDigests } from '../../test/support/rehearsal.ts';
import { startWriters } from '../../test/support/writers.ts';

let pair: LocalPair;
let roles: Roles;
const dir = mkdtempSync(join(tmpdir(), 'ferry-fks-'));
const NAME = 'fks';
const file = () => {
  const f = join(dir, `${NAME}.yaml`);
  writeFileSync(
    f,
    roles.manifest(NAME, {
      mode: 'DowntimeOptimized',
      tables: { exclude: ['audit_log'] },
      transfer: { parallelism: 2, splitAbove: '256Ki', chunkRows: 2000 },
    }),
  );
  return f;
};

/** The target's foreign keys in schema shop, with whether each is validated. */
const targetForeignKeys = () =>
  query<{ name: string; valid: boolean }>(
    pair.target,
    "SELECT conname AS name, convalidated AS valid FROM pg_constraint WHERE contype = 'f' AND connamespace = 'shop'::regnamespace ORDER BY 1",
  ).catch(() => []);

async function until(what: string, check: () => Promise<boolean>, run: { done: Promise<CliResult> }) {
  let ended: CliResult | undefined;
  void run.done.then((r) => (ended = r));
  const deadline = Date.now() + 60_000;
  while (!(await check())) {
    if (ended) throw new Error(`ferry ended (${ended.code}) before ${what}:\n${ended.stderr.slice(-3000)}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Approves, waits for the end; the downtime's steps from the report. */
async function cutOver(f: string, run: ReturnType<typeof startFerry>, report: string): Promise<string[]> {
  expect((await ferry(['cutover', '-f', f], roles.env)).code).toBe(0);
  const done = await run.done;
  expect(done.code, done.stderr.slice(-3000)).toBe(0);
  const { source, target } = await bothDigests(pair);
  delete source['audit_log'];
  expect(target).toEqual(source);
  expect(await targetForeignKeys()).toEqual(
    ['order_items_order_id_fkey', 'order_items_sku_fkey', 'orders_customer_id_fkey'].map((name) => ({
      name,
      valid: true,
    })),
  );
  const r = JSON.parse(readFileSync(report, 'utf8')) as { downtime: { step: string }[] };
  return r.downtime.map((d) => d.step);
}

beforeAll(async () => {
  pair = await startLocalPair();
  roles = await setUpRoles(pair, {
    populate: (c) => createSampleDatabase(c, 'shop', 2e6),
    replicaOnTarget: true,
  });
});
afterAll(async () => pair?.stop());

beforeEach(async () => {
  await ferry(['fallback', '-f', file()], roles.env);
  await query(pair.target, 'DROP SCHEMA IF EXISTS shop CASCADE');
  await query(pair.target, `GRANT SET ON PARAMETER session_replication_role TO ${MIGRATOR_ROLE}`);
});

describe('foreign keys between uptime tables', () => {
  it('are built in uptime and hold while the replay applies the writers’ changes and a TRUNCATE; the downtime builds none', async () => {
    const writers = startWriters(roles.appUrl(), { sessions: 2 });
    const f = file();
    const report = join(dir, 'uptime.json');
    const run = startFerry(['run', '-f', f, '--report-out', report], roles.env);
    await until('the foreign keys in uptime', async () => (await targetForeignKeys()).length === 3, run);
    // A referenced table emptied with the one referencing it: replayed in one TRUNCATE, as on the source.
    // Its locks can close a cycle with a writer's transaction; PostgreSQL then cancels one of them (as
    // an application would, the TRUNCATE is run again).
    for (let attempt = 1; ; attempt++)
      try {
        await query(pair.source, 'TRUNCATE shop.order_items, shop.orders');
        break;
      } catch (err) {
        if ((err as { code?: string }).code !== '40P01' || attempt === 5) throw err;
      }
    const committed = writers.committed();
    await new Promise((r) => setTimeout(r, 2000));
    expect(writers.committed()).toBeGreaterThan(committed);
    const steps = await cutOver(f, run, report);
    await writers.stop();
    expect(steps).toContain('replay final delta');
    expect(steps).not.toContain('foreign keys');
  });

  it('a role that can no longer set session_replication_role gets them dropped; the cutover builds them', async () => {
    const f = file();
    const first = startFerry(['run', '-f', f], roles.env);
    await until('the foreign keys in uptime', async () => (await targetForeignKeys()).length === 3, first);
    first.child.kill('SIGKILL');
    await first.done;
    await query(pair.target, `REVOKE SET ON PARAMETER session_replication_role FROM ${MIGRATOR_ROLE}`);
    const report = join(dir, 'revoked.json');
    const second = startFerry(['run', '-f', f, '--report-out', report], roles.env);
    await until('the foreign keys dropped', async () => (await targetForeignKeys()).length === 0, second);
    // Changes to referenced rows replay without foreign keys to refuse or cascade them.
    await query(
      pair.source,
      "UPDATE shop.products SET sku = 'RENAMED-1' WHERE sku = 'SKU-1' AND NOT EXISTS (SELECT 1 FROM shop.order_items WHERE sku = 'SKU-1')",
    );
    expect(await cutOver(f, second, report)).toContain('foreign keys');
  });
});

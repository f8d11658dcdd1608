// The cutover as users meet it: ferry runs as a least-privilege migration role, the application writes
// as its own role (owner of its tables), and the cutover's fence is tested from the application's side.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { setUpRoles, type Roles } from '../../hack/fixtures/roles.ts';
import { query, startLocalPair, type LocalPair } from '../../hack/local-pair.ts';
import { createSampleDatabase } from '../../hack/sample/sample.ts';
import { ferry, startFerry, type CliResult } from '../../test/support/cli.ts';
import { schemaDigests, snapshotDatabase } from '../../test/support/snapshot.ts';

let pair: LocalPair;
let roles: Roles;
const dir = mkdtempSync(join(tmpdir(), 'ferry-cutover-'));

function manifest(name: string, spec: Record<string, unknown> = {}): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    roles.manifest(name, {
      mode: 'DowntimeOptimized',
      tables: { exclude: ['audit_log'] },
      transfer: { parallelism: 2 },
      ...spec,
    }),
  );
  return file;
}

/** A session of the application, as its own role. */
async function app(): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: roles.appUrl() });
  c.on('error', () => {});
  await c.connect();
  return c;
}

/** Value of a key of the migration's state on the source (read as the superuser), or undefined. */
async function state<T>(name: string, key: string): Promise<T | undefined> {
  const rows = await query<{ v: T }>(
    pair.source,
    `SELECT value AS v FROM ${`ferry_${name}`}.state WHERE key = $1`,
    [key],
  ).catch(() => []);
  return rows[0]?.v;
}

async function until(
  what: string,
  check: () => Promise<boolean>,
  run: { done: Promise<CliResult> },
  ms = 60_000,
) {
  let ended: CliResult | undefined;
  void run.done.then((r) => (ended = r));
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (ended) throw new Error(`ferry ended (${ended.code}) before ${what}:\n${ended.stderr.slice(-3000)}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const replaying = (name: string) => async () =>
  (await state<{ bulkCopied?: boolean }>(name, 'uptime'))?.bulkCopied === true;

async function expectEqual(): Promise<void> {
  const [src, dst] = await Promise.all([
    schemaDigests(pair.source.url('shop'), 'shop'),
    schemaDigests(pair.target.url('shop'), 'shop'),
  ]);
  delete src['audit_log'];
  expect(dst).toEqual(src);
}

beforeAll(async () => {
  pair = await startLocalPair();
  roles = await setUpRoles(pair, {
    populate: (c) => createSampleDatabase(c, 'shop', 3e6),
    signalBackend: true,
  });
});
afterAll(async () => pair?.stop());

beforeEach(async () => {
  for (const name of ['inflight', 'failing']) await ferry(['fallback', '-f', manifest(name)], roles.env);
  await query(pair.target, 'DROP SCHEMA IF EXISTS shop CASCADE');
});

describe('the cutover, with the application writing as its own role', () => {
  it('a write in the downtime is refused or migrated, never lost', async () => {
    const file = manifest('inflight');
    const run = startFerry(['run', '-f', file], roles.env);
    await until('the bulk copy', replaying('inflight'), run);
    // Two transactions that wrote before the fence: one commits in the downtime, one never does.
    const [a, b] = [await app(), await app()];
    await a.query("BEGIN; INSERT INTO shop.products VALUES ('INFLIGHT-A', 'committed in the downtime', 1)");
    await b.query("BEGIN; INSERT INTO shop.products VALUES ('INFLIGHT-B', 'never committed', 1)");
    // The role's own setting, or BEGIN READ WRITE, does not open the fence.
    await query(pair.source, 'ALTER ROLE shop_app SET default_transaction_read_only = off', [], 'postgres');
    expect((await ferry(['cutover', '-f', file], roles.env)).code).toBe(0);
    await until(
      'the fence',
      async () => (await state<{ state: string }>('inflight', 'fence'))?.state === 'refuse',
      run,
    );
    const c = await app();
    await expect(
      c.query("BEGIN READ WRITE; INSERT INTO shop.products VALUES ('FENCED', 'refused', 1)"),
    ).rejects.toMatchObject({
      code: '25006',
      message: expect.stringMatching(/fenced for the downtime of migration inflight/),
    });
    await c.query('ROLLBACK');
    await expect(c.query('TRUNCATE shop.order_items')).rejects.toMatchObject({ code: '25006' });
    await expect(c.query('SET session_replication_role = replica')).rejects.toMatchObject({ code: '42501' });
    await c.end();
    await a.query('COMMIT');
    // b is still open: ferry ends its session after the grace period, and its write is rolled back.
    const done = await run.done;
    expect(done.code, done.stderr.slice(-3000)).toBe(0);
    await expect(b.query('COMMIT')).rejects.toThrow();
    await Promise.all([a.end(), b.end().catch(() => {})]);
    const skus = async (p: typeof pair.source) =>
      (
        await query<{ sku: string }>(
          p,
          "SELECT sku FROM shop.products WHERE sku LIKE 'INFLIGHT-%' ORDER BY 1",
        )
      ).map((r) => r.sku);
    expect(await skus(pair.source)).toEqual(['INFLIGHT-A']);
    expect(await skus(pair.target)).toEqual(['INFLIGHT-A']);
    await expectEqual();
    await query(pair.source, 'ALTER ROLE shop_app RESET default_transaction_read_only', [], 'postgres');
  });

  it('a failed cutover reopens the source within seconds and returns to replay; a second approval completes', async () => {
    const file = manifest('failing');
    const run = startFerry(['run', '-f', file], roles.env);
    await until('the bulk copy', replaying('failing'), run);
    // A write in flight when the fence goes up lands in the final delta; the target corrupts the row
    // the replay writes for it, once (a sequence: its count survives the rollback).
    await query(
      pair.target,
      `CREATE SEQUENCE public.corruptions;
       CREATE FUNCTION public.corrupt_once() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
       BEGIN
         IF nextval('public.corruptions') = 1 THEN NEW.amount := NEW.amount - 1000; END IF;
         RETURN NEW;
       END $$;
       CREATE TRIGGER corrupt_once BEFORE INSERT ON shop.events FOR EACH ROW WHEN (NEW.id = 42)
         EXECUTE FUNCTION public.corrupt_once()`,
    );
    const c = await app();
    await c.query('BEGIN; UPDATE shop.events SET amount = amount + 1 WHERE id = 42');
    expect((await ferry(['cutover', '-f', file], roles.env)).code).toBe(0);
    await until(
      'the fence',
      async () => (await state<{ state: string }>('failing', 'fence'))?.state === 'refuse',
      run,
    );
    await c.query('COMMIT');
    const failed = async () =>
      (await state<{ lastCutoverError?: { message: string } }>('failing', 'uptime'))?.lastCutoverError !==
      undefined;
    await until('the cutover to fail', failed, run);
    const failedAt = Date.now();
    const error = (await state<{ lastCutoverError: { message: string } }>('failing', 'uptime'))!
      .lastCutoverError;
    expect(error.message).toMatch(
      /validation failed: table events, rows changed during uptime as replayed: same row count \(1\) but the content checksums differ; differing keys: \{42\}: source present, target present with other values$/,
    );
    // The application writes again at once, and what it writes is still recorded.
    await c.query(
      "INSERT INTO shop.products VALUES ('AFTER-FAILURE', 'written while the replay goes on', 2)",
    );
    expect(Date.now() - failedAt).toBeLessThan(5000);
    expect((await state<{ state: string }>('failing', 'fence'))?.state).toBe('open');
    // The cutover's foreign keys were removed from the target, so the replay can go on.
    expect(
      await query(
        pair.target,
        "SELECT conname FROM pg_constraint WHERE contype = 'f' AND connamespace = 'shop'::regnamespace",
      ),
    ).toEqual([]);
    const status = await ferry(['status', '-f', file], roles.env);
    expect(status.stdout).toMatch(/Last cutover failed at .*validation failed: table events/);
    expect(status.stdout).toMatch(/Source: open for writes/);
    // The failed batch committed nothing: the replay applies it again, right this time; approve again.
    await c.end();
    expect((await ferry(['cutover', '-f', file], roles.env)).code).toBe(0);
    const done = await run.done;
    expect(done.code, done.stderr.slice(-3000)).toBe(0);
    expect(done.stderr).toMatch(/cutover failed: the fence is down and the source writable again/);
    expect(
      Number(
        (await query<{ n: string }>(pair.target, 'SELECT last_value AS n FROM public.corruptions'))[0]!.n,
      ),
    ).toBeGreaterThan(1);
    await query(
      pair.target,
      'DROP TRIGGER corrupt_once ON shop.events; DROP FUNCTION public.corrupt_once(); DROP SEQUENCE public.corruptions',
    );
    await expectEqual();
    expect(
      (await query(pair.target, "SELECT sku FROM shop.products WHERE sku = 'AFTER-FAILURE'")).length,
    ).toBe(1);
    // Nothing of ferry's is left on the source, and no secret reached the output.
    const after = await snapshotDatabase(pair.source.url('shop'));
    expect(after.objects.filter((o) => o.includes('ferry'))).toEqual([]);
    expect(after.triggers).toEqual([]);
    for (const secret of roles.secrets()) expect(done.stdout + done.stderr).not.toContain(secret);
  });
});

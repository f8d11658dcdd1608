// DowntimeOptimized end to end on real servers, with an application writing all along as its own
// role (the tables' owner) and ferry running as the least-privilege migration role.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { setUpRoles, type Roles } from '../../hack/fixtures/roles.ts';
import { manifestFor, query, startLocalPair, type LocalPair } from '../../hack/local-pair.ts';
import { createSampleDatabase } from '../../hack/sample/sample.ts';
import { ferry, startFerry } from '../../test/support/cli.ts';
import { schemaDigests, snapshotDatabase } from '../../test/support/snapshot.ts';
import { startWriters } from '../../test/support/writers.ts';

let pair: LocalPair;
let roles: Roles;
const dir = mkdtempSync(join(tmpdir(), 'ferry-dto-'));

/** A manifest for the migration role; `superuser` runs ferry as postgres (for the superuser-only DDL guard). */
function manifest(name: string, spec: Record<string, unknown> = {}, superuser = false): string {
  const file = join(dir, `${name}.yaml`);
  const full = {
    mode: 'DowntimeOptimized',
    tables: { exclude: ['audit_log'] },
    transfer: { parallelism: 2, splitAbove: '1Mi', chunkRows: 4000 },
    ...spec,
  };
  writeFileSync(file, superuser ? manifestFor(pair, name, full) : roles.manifest(name, full));
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

/** Waits for `check`; fails early, with the run's output, when the ferry run ends first. */
async function until(
  what: string,
  check: () => Promise<boolean>,
  run?: ReturnType<typeof startFerry>,
  ms = 60_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  let ended: Awaited<ReturnType<typeof startFerry>['done']> | undefined;
  void run?.done.then((r) => (ended = r));
  while (!(await check())) {
    if (ended) throw new Error(`ferry ended (${ended.code}) before ${what}:\n${ended.stderr}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const triggersInstalled = async () =>
  (await query(pair.source, "SELECT 1 FROM pg_trigger WHERE tgname LIKE 'ferry_dto%'")).length > 0;

const replaying = async () =>
  (
    await query(
      pair.target,
      "SELECT 1 FROM pg_tables WHERE schemaname = 'ferry_dto' AND tablename = 'replayed'",
    )
  ).length > 0 && (await query(pair.target, 'SELECT 1 FROM ferry_dto.replayed LIMIT 1')).length > 0;

const logVacuumed = async () =>
  (
    await query<{ n: string }>(
      pair.source,
      "SELECT vacuum_count::text AS n FROM pg_stat_user_tables WHERE schemaname = 'ferry_dto' AND relname = 'change_log'",
    )
  ).some((r) => Number(r.n) > 0);

async function expectEqual(tables: string[]): Promise<void> {
  const [src, dst] = await Promise.all([
    schemaDigests(pair.source.url('shop'), 'shop'),
    schemaDigests(pair.target.url('shop'), 'shop'),
  ]);
  for (const t of tables) expect(dst[t], `table ${t}`).toEqual(src[t]);
}

beforeAll(async () => {
  pair = await startLocalPair();
  roles = await setUpRoles(pair, { populate: (c) => createSampleDatabase(c, 'shop', 6e6) });
});
afterAll(async () => pair?.stop());

// Each test starts clean even when an earlier one failed half-way.
beforeEach(async () => {
  await ferry(['fallback', '-f', manifest('dto')], roles.env);
  await resetTarget();
});

describe('DowntimeOptimized, PostgreSQL 15 -> 18, with writers', () => {
  it('copies in uptime, survives SIGKILL during replay, cuts over and ends exactly equal', async () => {
    const writers = startWriters(roles.appUrl());
    // customers and products are not uptime tables: they move in the downtime, after the lock.
    const file = manifest('dto', { uptime: { tables: ['events', 'order*'] } });
    const first = startFerry(['run', '-f', file], roles.env);
    await until('the replay to apply changes', replaying, first);
    await new Promise((r) => setTimeout(r, 1500));
    first.child.kill('SIGKILL');
    const firstDone = await first.done;
    expect(firstDone.signal).toBe('SIGKILL');

    const status = await ferry(['status', '-f', file], roles.env);
    expect(status.stdout).toMatch(/Replay lag: \d+ recorded changes pending/);
    const second = startFerry(['run', '-f', file, '--report-out', join(dir, 'dto.json')], roles.env);
    await new Promise((r) => setTimeout(r, 2000));
    expect(writers.committed()).toBeGreaterThan(50);
    // The replay has the source reclaim the log entries it deleted: else every batch reads them again.
    await until('the replay to vacuum its log', logVacuumed, second, 20_000);
    const approve = await ferry(['cutover', '-f', file], roles.env);
    expect(approve.code, approve.stderr).toBe(0);
    const done = await second.done;
    const w = await writers.stop();
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toMatch(/Downtime \(application writes fenced off until done\): [\d.]+ s/);
    process.stdout.write(
      `${done.stdout}\nwriters: ${w.committed} transactions committed during the migration\n`,
    );
    await expectEqual(['events', 'customers', 'products', 'orders', 'order_items']);
    const report = JSON.parse(readFileSync(join(dir, 'dto.json'), 'utf8')) as { downtimeSeconds: number };
    expect(report.downtimeSeconds).toBeGreaterThan(0);
    // The fence refused the writers at the cutover (each session stopped at its first refusal).
    expect(w.refused).toBeGreaterThan(0);
    // No trigger, function, setting or shadow object of ferry's is left, and the fence is gone with them.
    const after = await snapshotDatabase(pair.source.url('shop'));
    expect(after.triggers).toEqual([]);
    expect(after.functions).toEqual([]);
    expect(after.eventTriggers).toEqual([]);
    expect(after.settings).toEqual([]);
    expect(after.objects.filter((o) => o.includes('ferry'))).toEqual([]);
    await query(pair.source, "INSERT INTO shop.products VALUES ('AFTER-1', 'written after completion', 1)");
  });

  it('falls back during replay: source holds its data plus the writers changes, nothing of ferry left', async () => {
    await resetTarget();
    const before = await snapshotDatabase(pair.source.url('shop'));
    const targetBefore = await snapshotDatabase(pair.target.url('shop'));
    const writers = startWriters(roles.appUrl(), { sessions: 2, seed: 7 });
    const file = manifest('dto');
    const run = startFerry(['run', '-f', file], roles.env);
    await until('the replay to apply changes', replaying, run);
    run.child.kill('SIGKILL');
    await run.done;
    const fb = await ferry(['fallback', '-f', file], roles.env);
    expect(fb.code, fb.stderr).toBe(0);
    expect(fb.stdout, fb.stderr).toMatch(/fallback of dto done/);
    // The application was never blocked and keeps writing after the fallback.
    const committedAtFallback = writers.committed();
    await new Promise((r) => setTimeout(r, 300));
    const w = await writers.stop();
    expect(w.refused).toBe(0);
    expect(w.committed).toBeGreaterThan(committedAtFallback);
    const after = await snapshotDatabase(pair.source.url('shop'));
    expect(after.objects).toEqual(before.objects);
    expect(after.triggers).toEqual(before.triggers);
    expect(after.functions).toEqual(before.functions);
    expect(after.eventTriggers).toEqual(before.eventTriggers);
    expect(after.settings).toEqual(before.settings);
    expect(await snapshotDatabase(pair.target.url('shop'))).toEqual(targetBefore);
  });

  it('refuses a table without a key at Checks, naming it, and changes nothing', async () => {
    await resetTarget();
    const before = await snapshotDatabase(pair.source.url('shop'));
    const r = await ferry(['run', '-f', manifest('dto', { tables: { include: ['*'] } })], roles.env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /DowntimeOptimized needs a primary key or a unique NOT NULL key on every table .*: audit_log/,
    );
    expect(await snapshotDatabase(pair.source.url('shop'))).toEqual(before);
  });

  it('a superuser migration role blocks schema changes of replayed tables outright', async () => {
    await resetTarget();
    const file = manifest('dto', { transfer: { parallelism: 2 } }, true);
    const run = startFerry(['run', '-f', file], roles.env);
    await until('the change triggers', triggersInstalled, run);
    await expect(query(pair.source, 'ALTER TABLE shop.products ADD COLUMN color text')).rejects.toThrow(
      /table shop\.products is being migrated by dto .*schema changes are blocked/,
    );
    run.child.kill('SIGKILL');
    await run.done;
    expect((await ferry(['fallback', '-f', file], roles.env)).code).toBe(0);
    expect((await snapshotDatabase(pair.source.url('shop'))).eventTriggers).toEqual([]);
  });

  it('stops with a clear message when the application changes a replayed table or disables a trigger', async () => {
    const app = async (sql: string) => {
      const c = new pg.Client({ connectionString: roles.appUrl() });
      await c.connect();
      await c.query(sql).finally(() => c.end());
    };
    for (const [change, undo, message] of [
      [
        'ALTER TABLE shop.products ADD COLUMN color text',
        'ALTER TABLE shop.products DROP COLUMN color',
        /ferry: error: the schema of table products changed while its changes were being recorded .*fall back/,
      ],
      [
        'ALTER TABLE shop.events DISABLE TRIGGER ferry_dto_record',
        undefined,
        /ferry: error: ferry's triggers on the source are missing or disabled \(ferry_dto_record on events\): changes may have gone unrecorded/,
      ],
    ] as const) {
      await resetTarget();
      const file = manifest('dto', { transfer: { parallelism: 2 } });
      const run = startFerry(['run', '-f', file], roles.env);
      await until('the change triggers', triggersInstalled, run);
      // The migration role is no superuser: no guard, the replayer detects the change and stops.
      await app(change);
      const ended = await run.done;
      expect(ended.code).toBe(1);
      expect(ended.stderr).toMatch(message);
      expect((await ferry(['fallback', '-f', file], roles.env)).code).toBe(0);
      expect((await snapshotDatabase(pair.source.url('shop'))).triggers).toEqual([]);
      if (undo) await app(undo);
    }
  });
});

// Continuous validation in DowntimeOptimized mode: every replay batch is validated in its own snapshot
// and every chunk proven in uptime, so the cutover validates only what changed since. What that
// guarantees, tested by corrupting the target where the replay writes and where it does not.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { setUpRoles, type Roles } from '../../hack/fixtures/roles.ts';
import { query, startLocalPair, type LocalPair } from '../../hack/local-pair.ts';
import { createSampleDatabase } from '../../hack/sample/sample.ts';
import { ferry, startFerry, type CliResult } from '../../test/support/cli.ts';
import { bothDigests } from '../../test/support/rehearsal.ts';

let pair: LocalPair;
let roles: Roles;
const dir = mkdtempSync(join(tmpdir(), 'ferry-proven-'));
const NAME = 'proving';

function manifest(): string {
  const file = join(dir, `${NAME}.yaml`);
  writeFileSync(
    file,
    roles.manifest(NAME, {
      mode: 'DowntimeOptimized',
      tables: { exclude: ['audit_log'] },
      transfer: { parallelism: 2, splitAbove: '256Ki', chunkRows: 2000 },
    }),
  );
  return file;
}

/** One statement as the application (the tables' owner) on the source. */
async function app(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: roles.appUrl() });
  await c.connect();
  await c.query(sql).finally(() => c.end());
}

async function until(what: string, check: () => Promise<boolean>, run?: { done: Promise<CliResult> }) {
  let ended: CliResult | undefined;
  void run?.done.then((r) => (ended = r));
  const deadline = Date.now() + 60_000;
  while (!(await check().catch(() => false))) {
    if (ended) throw new Error(`ferry ended (${ended.code}) before ${what}:\n${ended.stderr.slice(-3000)}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const bulkCopied = async () =>
  (
    await query<{ v: { bulkCopied?: boolean } }>(
      pair.source,
      `SELECT value AS v FROM ferry_${NAME}.state WHERE key = 'uptime'`,
    )
  )[0]?.v.bulkCopied === true;

/** The event's row on one side, as text. */
const event = async (side: 'source' | 'target', id: number) =>
  (await query<{ r: string }>(pair[side], `SELECT e::text AS r FROM shop.events e WHERE id = $1`, [id]))[0]
    ?.r;

/** A trigger on the target that changes one byte of `kind` in the rows the replay writes for one event. */
const corruptOnTarget = (id: number) =>
  query(
    pair.target,
    `CREATE FUNCTION public.flip_a_byte() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN NEW.kind := overlay(NEW.kind PLACING 'X' FROM 1 FOR 1); RETURN NEW; END $$;
     CREATE TRIGGER flip_a_byte BEFORE INSERT ON shop.events FOR EACH ROW WHEN (NEW.id = ${id})
       EXECUTE FUNCTION public.flip_a_byte()`,
  );

/** The run's end, which must come by itself within a minute (else it is killed and the test fails). */
async function stops(run: ReturnType<typeof startFerry>): Promise<CliResult> {
  const timer = setTimeout(() => run.child.kill('SIGKILL'), 60_000);
  const r = await run.done.finally(() => clearTimeout(timer));
  if (r.signal === 'SIGKILL') throw new Error(`ferry did not stop by itself:\n${r.stderr.slice(-3000)}`);
  return r;
}

async function expectEqual(): Promise<void> {
  const { source, target } = await bothDigests(pair);
  delete source['audit_log'];
  expect(target).toEqual(source);
}

async function approveAndFinish(file: string, run: { done: Promise<CliResult> }): Promise<void> {
  expect((await ferry(['cutover', '-f', file], roles.env)).code).toBe(0);
  const done = await run.done;
  expect(done.code, done.stderr.slice(-3000)).toBe(0);
  await expectEqual();
}

beforeAll(async () => {
  pair = await startLocalPair();
  roles = await setUpRoles(pair, { populate: (c) => createSampleDatabase(c, 'shop', 2e6) });
});
afterAll(async () => pair?.stop());

beforeEach(async () => {
  await ferry(['fallback', '-f', manifest()], roles.env);
  await query(pair.target, 'DROP SCHEMA IF EXISTS shop CASCADE');
  await query(pair.target, 'DROP FUNCTION IF EXISTS public.flip_a_byte()');
});

describe('continuous validation of the replay', () => {
  it('proves every chunk before the cutover; a target row changed behind its back is overwritten by the next change and proven again', async () => {
    const file = manifest();
    const run = startFerry(['run', '-f', file], roles.env);
    await until('the bulk copy', bulkCopied, run);
    await app('UPDATE shop.events SET amount = 1.25 WHERE id = 42');
    await until(
      'the replay of event 42',
      async () => (await event('target', 42)) === (await event('source', 42)),
      run,
    );
    // Changed on the target after it was validated: only a later change of the row repairs it.
    await query(pair.target, "UPDATE shop.events SET kind = 'tampered' WHERE id = 42");
    await app(`UPDATE shop.events SET payload = '{"again": true}' WHERE id = 42`);
    await until(
      'the replay of the second change',
      async () => (await event('target', 42)) === (await event('source', 42)),
      run,
    );
    // Every chunk the bulk copy moved is proven, so the downtime validates none of them again.
    const ids = async (sql: string) => (await query<{ x: string }>(pair.target, sql)).map((r) => r.x).sort();
    expect(await ids(`SELECT unit AS x FROM ferry_${NAME}.proven`)).toEqual(
      await ids(`SELECT chunk AS x FROM ferry_${NAME}.chunk_done`),
    );
    await approveAndFinish(file, run);
  });

  it('a byte the replay writes wrongly stops the run in uptime, naming table and key, with nothing of the batch committed', async () => {
    const file = manifest();
    const first = startFerry(['run', '-f', file], roles.env);
    await until('the bulk copy', bulkCopied, first);
    const before = await event('target', 43);
    await corruptOnTarget(43);
    await app('UPDATE shop.events SET amount = 2.5 WHERE id = 43');
    const failed = await stops(first);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(
      /validation failed: table events, rows changed during uptime as replayed: same row count \(1\) but the content checksums differ; differing keys: \{43\}: source present, target present with other values/,
    );
    expect(await event('target', 43)).toBe(before);
    expect(
      await query(
        pair.source,
        `SELECT 1 FROM ferry_${NAME}.change_log WHERE tbl = 'events' AND key = '{43}'`,
      ),
    ).toHaveLength(1);
    // Once the cause is gone, the run goes on from the same batch.
    await query(pair.target, 'DROP TRIGGER flip_a_byte ON shop.events');
    const second = startFerry(['run', '-f', file], roles.env);
    await until(
      'the replay of event 43',
      async () => (await event('target', 43)) === (await event('source', 43)),
      second,
    );
    await approveAndFinish(file, second);
  });

  it('chunks a killed bulk copy never validated are proven by the replay; a corrupted row among them is named', async () => {
    const file = manifest();
    const killed = await ferry(['run', '-f', file], { ...roles.env, FERRY_FAULT: 'uptime.bulk-copied' });
    expect(killed.signal).toBe('SIGKILL');
    // Copied, never validated: a changed byte here is only found by proving the chunk.
    await query(
      pair.target,
      "UPDATE shop.events SET kind = overlay(kind PLACING 'X' FROM 1 FOR 1) WHERE id = 7",
    );
    const run = await stops(startFerry(['run', '-f', file], roles.env));
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /validation failed: table events, id in \[-inf, \d+\): same row count \(\d+\) but the content checksums differ; differing keys: \{7\}: source present, target present with other values/,
    );
    // Repaired, the replay proves the rest and the cutover completes.
    await query(pair.target, `UPDATE shop.events t SET kind = $1 WHERE id = 7`, [
      (await query<{ k: string }>(pair.source, 'SELECT kind AS k FROM shop.events WHERE id = 7'))[0]!.k,
    ]);
    const again = startFerry(['run', '-f', file], roles.env);
    await until(
      'every chunk proven',
      async () =>
        (
          await query(
            pair.target,
            `SELECT 1 FROM ferry_${NAME}.chunk_done c WHERE NOT EXISTS (SELECT 1 FROM ferry_${NAME}.proven p WHERE p.unit = c.chunk)`,
          )
        ).length === 0,
      again,
    );
    await approveAndFinish(file, again);
  });
});

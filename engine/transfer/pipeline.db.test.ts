// Standard mode's table-by-table pipeline on real servers, PostgreSQL 15 -> 18 as the least-privilege
// roles, one slot so that the order is fixed: the largest table (events) is built as soon as its last
// chunk lands, before any other table is copied. Killed (SIGKILL) right there, the next run builds
// nothing twice (each index and constraint built before the kill is the same object after) and ends
// exact. A byte changed on the target meanwhile is caught by the validation against the digests the
// copy recorded, naming table, range and column.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { query } from '../../hack/local-pair.ts';
import { ferry } from '../../test/support/cli.ts';
import {
  applicationCanWrite,
  bothDigests,
  ferryLeftovers,
  resetTarget,
  startRehearsal,
  type Rehearsal,
} from '../../test/support/rehearsal.ts';

let r: Rehearsal;
let file: string;

beforeAll(async () => {
  r = await startRehearsal();
  file = r.manifest('std', { transfer: { parallelism: 1, splitAbove: '256Ki', chunkRows: 2000 } });
});
afterAll(async () => r?.pair.stop());

/** Indexes and constraints of the migrated schema on the target, each with its oid. */
const builtObjects = async () =>
  (
    await query<{ x: string }>(
      r.pair.target,
      `SELECT relname || ' ' || oid AS x FROM pg_class WHERE relnamespace = 'shop'::regnamespace AND relkind = 'i'
       UNION ALL SELECT conname || ' ' || oid FROM pg_constraint WHERE connamespace = 'shop'::regnamespace AND contype <> 'n'
       ORDER BY 1`,
    )
  ).map((o) => o.x);

const names = (objects: string[]) => objects.map((o) => o.split(' ')[0]).sort();

/** From scratch, runs until the events table is built (its key and index), then kills the run. */
async function killedOnceEventsBuilt(manifest = file, shadow = 'ferry_std'): Promise<void> {
  expect((await ferry(['fallback', '-f', manifest], r.roles.env)).code).toBe(0);
  await resetTarget(r.pair);
  const killed = await ferry(['run', '-f', manifest], {
    ...r.roles.env,
    FERRY_FAULT: 'after-load.step-done:2',
  });
  expect(killed.signal, killed.stderr).toBe('SIGKILL');
  const chunks = await query<{ chunk: string }>(r.pair.target, `SELECT chunk FROM ${shadow}.chunk_done`);
  expect(chunks.length).toBeGreaterThan(2);
  expect(chunks.every((c) => c.chunk.startsWith('events#'))).toBe(true);
  const steps = await query<{ step: string }>(
    r.pair.target,
    `SELECT step FROM ${shadow}.step_done ORDER BY 1`,
  );
  expect(steps.map((s) => s.step)).toEqual(['index:"events_by_kind"', 'pk:"events"."events_pkey"']);
}

describe('the table pipeline, PostgreSQL 15 -> 18', () => {
  it('killed between per-table builds, the next run rebuilds nothing and ends exact', async () => {
    await killedOnceEventsBuilt();
    const before = await builtObjects();
    expect(names(before)).toEqual(['events_by_kind', 'events_pkey', 'events_pkey']);
    const again = await ferry(['run', '-f', file], r.roles.env);
    expect(again.code, again.stderr).toBe(0);
    const after = await builtObjects();
    for (const o of before) expect(after, 'built before the kill, kept as it was').toContain(o);
    const source = await query<{ x: string }>(
      r.pair.source,
      `SELECT relname AS x FROM pg_class WHERE relnamespace = 'shop'::regnamespace AND relkind = 'i'
       UNION ALL SELECT conname FROM pg_constraint WHERE connamespace = 'shop'::regnamespace`,
    );
    expect(names(after)).toEqual(source.map((s) => s.x).sort());
    const { source: a, target: b } = await bothDigests(r.pair);
    expect(b).toEqual(a);
    expect(await ferryLeftovers(r.pair)).toEqual([]);
    expect(await applicationCanWrite(r.roles)).toBe(true);
    // The tables copied whole (not cut at splitAbove) landed frozen: every row's xmin frozen as the run
    // ends (HEAP_XMIN_FROZEN), so the builds, ANALYZE and validation that read them set no hint bits.
    const whole = await query<{ t: string }>(
      r.pair.source,
      `SELECT relname AS t FROM pg_class WHERE relnamespace = 'shop'::regnamespace AND relkind = 'r'
          AND pg_relation_size(oid) BETWEEN 1 AND 256 * 1024 ORDER BY 1`,
    );
    expect(whole.length).toBeGreaterThan(2);
    await query(r.pair.target, 'CREATE SCHEMA inspect; CREATE EXTENSION pageinspect SCHEMA inspect');
    try {
      const rows = await query<{ t: string; n: number; frozen: number }>(
        r.pair.target,
        `SELECT t, count(*)::int AS n, count(*) FILTER (WHERE i.t_infomask & 768 = 768)::int AS frozen
           FROM unnest($1::text[]) t,
                generate_series(0, pg_relation_size(('shop.' || quote_ident(t))::regclass) / 8192 - 1) b,
                inspect.heap_page_items(inspect.get_raw_page('shop.' || quote_ident(t), b::int)) i
          WHERE i.lp_flags = 1 GROUP BY t ORDER BY t`,
        [whole.map((w) => w.t)],
      );
      expect(rows.map((x) => x.t)).toEqual(whole.map((w) => w.t));
      for (const x of rows) expect(x.frozen, `${x.t}: ${x.frozen} of ${x.n} rows frozen`).toBe(x.n);
    } finally {
      await query(r.pair.target, 'DROP SCHEMA inspect CASCADE');
    }
  });

  it('a byte changed on the target after the copy fails the validation, naming table, range and column', async () => {
    await killedOnceEventsBuilt();
    const row = `id = (SELECT min(id) FROM shop.events WHERE kind = 'view')`;
    await query(r.pair.target, `UPDATE shop.events SET kind = 'viex' WHERE ${row}`);
    const failed = await ferry(['run', '-f', file], r.roles.env);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(
      /ferry: error: validation failed: table events, id .*: same row count \(\d+\) but the content differs in column kind\n/,
    );
    await query(
      r.pair.target,
      `UPDATE shop.events SET kind = 'view' WHERE id = (SELECT min(id) FROM shop.events WHERE kind = 'viex')`,
    );
    const again = await ferry(['run', '-f', file], r.roles.env);
    expect(again.code, again.stderr).toBe(0);
    const { source, target } = await bothDigests(r.pair);
    expect(target).toEqual(source);
  });

  it('Count compares the target with the rows the copy of each chunk read, not with a second count of the source', async () => {
    const counted = r.manifest('cnt', {
      transfer: { parallelism: 1, splitAbove: '256Ki', chunkRows: 2000 },
      validation: 'Count',
    });
    await killedOnceEventsBuilt(counted, 'ferry_cnt');
    // The record of one chunk says it read a row more than it did: that, not the source, is compared.
    const chunk = `(SELECT min(chunk) FROM ferry_cnt.chunk_done)`;
    await query(r.pair.target, `UPDATE ferry_cnt.chunk_done SET rows = rows + 1 WHERE chunk = ${chunk}`);
    const failed = await ferry(['run', '-f', counted], r.roles.env);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(
      /ferry: error: validation failed: table events, id .*: the copy read (\d+) rows, target (\d+)\n/,
    );
    const [, read, target] = /the copy read (\d+) rows, target (\d+)/.exec(failed.stderr)!;
    expect(Number(read)).toBe(Number(target) + 1);
    await query(r.pair.target, `UPDATE ferry_cnt.chunk_done SET rows = rows - 1 WHERE chunk = ${chunk}`);
    const again = await ferry(['run', '-f', counted], r.roles.env);
    expect(again.code, again.stderr).toBe(0);
    const { source, target: after } = await bothDigests(r.pair);
    expect(after).toEqual(source);
  });
});

// The SQL Server dialect's end-to-end suite: `ferry run` from a real SQL Server into PostgreSQL as the
// least-privilege migration login, the application writing as its own login. Every type exactly;
// Standard exact with the writes fenced off; DowntimeOptimized with writers through the cutover
// exact; TRUNCATE refused by the server during uptime; SIGKILL at every fault point and resumed;
// fallback after each phase leaving the source byte-identical with nothing of ferry's on it.
//
// It needs a SQL Server: FERRY_MSSQL_URL (format in test/support/mssql.ts; `eval "$(hack/mssql-up.sh)"`
// starts one where Docker exists). Without it the suite is skipped, and says so.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AFTER_COMPLETION, faultPointsOf } from '../../faults.ts';
import { PHASES } from '../../phases/phase.ts';
import {
  ferry,
  runApprovingWhenAsked,
  startFerry,
  startWatched,
  untilStopped,
} from '../../../test/support/cli.ts';
import {
  bothSides,
  mssqlSkipReason,
  resetTarget,
  sourceState,
  startMssqlMigration,
  type MssqlMigration,
} from '../../../test/support/mssql.ts';
import { EVERY_TYPE_EXPECTED, FINE_TSQL, createEveryType } from '../../../test/support/mssql-every-type.ts';
import { FENCED, SHOP_CANONICAL, createShop, startMssqlWriters } from '../../../test/support/mssql-shop.ts';

const skipped = mssqlSkipReason();
// Printed where the suite is collected (npm test, CI), so a skip is never silent.
if (skipped) console.warn(`SKIPPED engine/source/mssql/migrate.db.test.ts: ${skipped}`);

const dto = (approved: boolean) => ({
  mode: 'DowntimeOptimized',
  tables: { exclude: ['audit'] },
  cutover: { approved },
  transfer: { parallelism: 2, splitAbove: '64Ki', chunkRows: 500 },
});

const SHOP_KEYED = Object.fromEntries(Object.entries(SHOP_CANONICAL).filter(([t]) => t !== 'audit'));

describe.skipIf(skipped !== undefined)('SQL Server -> PostgreSQL end to end (FERRY_MSSQL_URL)', () => {
  let m: MssqlMigration;
  let refused: Awaited<ReturnType<MssqlMigration['askGrants']>>;
  let beforeRefused: Awaited<ReturnType<typeof sourceState>>;
  let afterRefused: Awaited<ReturnType<typeof sourceState>>;

  beforeAll(async () => {
    m = await startMssqlMigration(async (app) => {
      await createShop(app);
      await createEveryType(app);
    });
    beforeRefused = await sourceState(m);
    refused = await m.askGrants();
    afterRefused = await sourceState(m);
    await m.grant(refused.grants);
  }, 600_000);
  afterAll(async () => m?.stop(), 120_000);

  /** Each test leaves the source without ferry's state and the target empty, whatever it did. */
  afterEach(async () => {
    const manifests: [string, Record<string, unknown>, string][] = [
      ['std', {}, 'shop'],
      ['fb', {}, 'shop'],
      ['dto', dto(false), 'shop'],
      ['trunc', dto(false), 'shop'],
      ['types', {}, 'every_type'],
      ['fine', {}, 'every_type'],
    ];
    // Whatever a failed test left; a migration without state falls back to nothing.
    for (const [name, spec, schema] of manifests)
      await ferry(['fallback', '-f', m.manifest(name, spec, schema)], m.env);
    expect((await sourceState(m)).leftovers).toEqual([]);
    await resetTarget(m);
  }, 300_000);

  it('refuses a migration login without the GRANTs, naming them, and changes nothing', async () => {
    expect(refused.run.code).not.toBe(0);
    expect(refused.grants.length, refused.run.stderr).toBeGreaterThan(0);
    for (const g of refused.grants) {
      expect(g).toContain(m.migratorUser);
      expect(g).not.toMatch(/sysadmin|db_owner|CONTROL SERVER/i);
    }
    expect(refused.run.stderr).not.toContain(m.env['FERRY_TEST_MSSQL_PASSWORD']!);
    expect(afterRefused).toEqual(beforeRefused);
    // With them the migration login is still neither sysadmin nor db_owner.
    const a = await m.admin();
    const [roles] = await a.rows(
      `SELECT IS_SRVROLEMEMBER('sysadmin', @p1) AS sa, IS_ROLEMEMBER('db_owner', @p2) AS owner`,
      [m.migratorUser, m.migratorUser],
    );
    await a.close();
    expect(roles).toEqual({ sa: 0, owner: 0 });
  });

  it('moves every type exactly: limits, 38 digits, money, floats, offsets, every plane, code pages, every byte, (max) values', async () => {
    const run = await ferry(['run', '-f', m.manifest('types', {}, 'every_type')], m.env);
    expect(run.code, run.stderr).toBe(0);
    const t = await m.target();
    const a = await m.admin();
    try {
      const types = await t.query<{ name: string; type: string }>(
        `SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute
          WHERE attrelid = 'every_type.t'::regclass AND attnum > 0 AND NOT attisdropped`,
      );
      const typeOf = Object.fromEntries(types.rows.map((r) => [r.name, r.type]));
      expect(typeOf['b']).toBe('boolean');
      expect(typeOf['u']).toBe('uuid');
      expect(typeOf['x']).toBe('xml');
      expect(typeOf['rv']).toBe('bytea');
      expect(typeOf['vbmax']).toBe('bytea');
      expect(typeOf['dto']).toBe('timestamp(6) with time zone');
      expect(typeOf['d38']).toBe('numeric(38,0)');
      const cols = Object.keys(typeOf).filter((c) => c !== 'x' && c !== 'rv');
      const rows = await t.query<Record<string, string | null>>(
        `SELECT ${cols.map((c) => `"${c}"::text AS "${c}"`).join(', ')}, x::text AS x, rv FROM every_type.t ORDER BY id`,
      );
      const byId = Object.fromEntries(rows.rows.map((r) => [String(r['id']), r]));
      expect(Object.keys(byId)).toEqual(['1', '2', '3', '4']);
      for (const [id, expected] of Object.entries(EVERY_TYPE_EXPECTED))
        for (const [col, value] of Object.entries(expected))
          expect(byId[id]![col], `row ${id}, ${col}`).toBe(value);
      // The NULL row: NULL everywhere but the key and the row version.
      for (const col of cols.filter((c) => c !== 'id')) expect(byId['3']![col], `row 3, ${col}`).toBeNull();
      // xml as SQL Server stores it (it normalizes the text); rowversion's bytes.
      const source = await a.rows(
        `SELECT id, CONVERT(nvarchar(max), x) AS x, LOWER(CONVERT(varchar(18), rv, 1)) AS rv FROM every_type.t ORDER BY id`,
      );
      for (const s of source) {
        const r = byId[String(s['id'])]!;
        expect(r['x'], `row ${String(s['id'])}, x`).toBe(s['x'] ?? null);
        expect(r['rv'], `row ${String(s['id'])}, rv`).toBe(String(s['rv']).replace(/^0x/, '\\x'));
      }
    } finally {
      await t.end();
      await a.close();
    }
  });

  it('refuses a datetime2(7) value with a 100-ns digit, naming table and column; a typeMap to text carries it', async () => {
    const app = await m.app();
    for (const sql of FINE_TSQL) await app.run(sql);
    try {
      const before = await sourceState(m);
      const refusedRun = await ferry(
        ['run', '-f', m.manifest('fine', { tables: { include: ['fine'] } }, 'every_type')],
        m.env,
      );
      expect(refusedRun.code).not.toBe(0);
      expect(refusedRun.stderr).toMatch(/fine/);
      expect(refusedRun.stderr).toMatch(/dt2/);
      const back = await ferry(['fallback', '-f', m.manifest('fine', {}, 'every_type')], m.env);
      expect(back.code, back.stderr).toBe(0);
      expect(await sourceState(m)).toEqual(before);
      await resetTarget(m);
      const mapped = await ferry(
        [
          'run',
          '-f',
          m.manifest(
            'fine',
            {
              tables: { include: ['fine'] },
              typeMap: [{ table: 'fine', column: 'dt2', targetType: 'text' }],
            },
            'every_type',
          ),
        ],
        m.env,
      );
      expect(mapped.code, mapped.stderr).toBe(0);
      const t = await m.target();
      const { rows } = await t.query<{ v: string }>('SELECT dt2 AS v FROM every_type.fine');
      await t.end();
      expect(rows.map((r) => r.v)).toEqual([expect.stringContaining('2024-01-01')]);
      expect(rows[0]!.v).toContain('23:59:59.9999999');
    } finally {
      await app.run('DROP TABLE every_type.fine');
      await app.close();
    }
  });

  it('Standard: fences the application off, moves every row exactly, leaves the source as it was', async () => {
    const before = await sourceState(m);
    const file = m.manifest('std');
    const run = startFerry(['run', '-f', file], {
      ...m.env,
      FERRY_FAULT: 'fence.raised',
      FERRY_FAULT_SIGNAL: 'SIGSTOP',
    });
    await untilStopped(run, 'fence.raised');
    const app = await m.app();
    await expect(app.run("INSERT INTO shop.tags VALUES (N'during', 1)")).rejects.toThrow(FENCED);
    await expect(app.run('UPDATE shop.customers SET name = name WHERE id = 1')).rejects.toThrow(FENCED);
    run.child.kill('SIGCONT');
    const result = await run.done;
    expect(result.code, result.stderr).toBe(0);
    for (const [t, side] of Object.entries(await bothSides(m, SHOP_CANONICAL)))
      expect(side.target, t).toEqual(side.source);
    const after = await sourceState(m);
    expect(after.leftovers).toEqual([]);
    expect(after).toEqual(before);
    // Writable again.
    await app.run("INSERT INTO shop.tags VALUES (N'after', 2)");
    await app.run("DELETE FROM shop.tags WHERE name = N'after'");
    await app.close();
  });

  it('falls back after each phase (Standard) and after PreProcessing (DowntimeOptimized): the source byte-identical', async () => {
    const runs: [string, Record<string, unknown>][] = [
      ...PHASES.map((p): [string, Record<string, unknown>] => [p, {}]),
      ['PreProcessing', dto(false)],
    ];
    for (const [phase, spec] of runs) {
      await resetTarget(m);
      const before = await sourceState(m);
      const file = m.manifest('fb', spec);
      const run = await ferry(['run', '-f', file, '--stop-after', phase], m.env);
      expect(run.code, `${phase}: ${run.stderr}`).toBe(0);
      const back = await ferry(['fallback', '-f', file], m.env);
      expect(back.code, `${phase}: ${back.stderr}`).toBe(0);
      expect(await sourceState(m), `source after fallback at ${phase}`).toEqual(before);
      const app = await m.app();
      await app.run("INSERT INTO shop.tags VALUES (N'after fallback', 2)");
      await app.run("DELETE FROM shop.tags WHERE name = N'after fallback'");
      await app.close();
    }
  });

  it('DowntimeOptimized: the application writes through the cutover as its own login; the target ends exactly the source', async () => {
    const writers = startMssqlWriters(m, 3);
    const done = await runApprovingWhenAsked(m.manifest('dto', dto(false)), m.env).done;
    const w = await writers.stop();
    expect(done.code, done.stderr).toBe(0);
    expect(w.error).toBeUndefined();
    expect(w.fenced, 'the cutover fenced the writers off').toBe(true);
    expect(w.committed).toBeGreaterThan(100);
    for (const [t, s] of Object.entries(await bothSides(m, SHOP_KEYED)))
      expect(s.target, t).toEqual(s.source);
    expect((await sourceState(m)).leftovers).toEqual([]);
  });

  it('DowntimeOptimized: the server refuses TRUNCATE of a recorded table during uptime; after fallback it works again', async () => {
    const app = await m.app();
    await app.run(
      'CREATE TABLE shop.scratch (id int NOT NULL CONSTRAINT scratch_pkey PRIMARY KEY, v nvarchar(10))',
    );
    await app.run("INSERT INTO shop.scratch VALUES (1, N'é'), (2, N'ü')");
    try {
      const file = m.manifest('trunc', dto(false));
      const { run, until } = startWatched(file, m.env);
      await until('waiting for cutover approval');
      await expect(app.run('TRUNCATE TABLE shop.scratch')).rejects.toThrow(/FOREIGN KEY/);
      expect(await app.rows('SELECT COUNT(*) AS n FROM shop.scratch')).toEqual([{ n: 2 }]);
      run.child.kill('SIGKILL');
      await run.done;
      const back = await ferry(['fallback', '-f', file], m.env);
      expect(back.code, back.stderr).toBe(0);
      await app.run('TRUNCATE TABLE shop.scratch');
    } finally {
      await app.run('DROP TABLE shop.scratch');
      await app.close();
    }
  });

  describe('DowntimeOptimized with writers, killed (SIGKILL) at a fault point and run again', () => {
    it.each(faultPointsOf('DowntimeOptimized'))(
      'killed at %s, the next run ends with the target exact',
      async (point) => {
        const file = m.manifest('dto', dto(false));
        const writers = startMssqlWriters(m, 2);
        try {
          const killed = await runApprovingWhenAsked(file, { ...m.env, FERRY_FAULT: point }).done;
          expect(killed.signal, `${point} not reached:\n${killed.stderr}`).toBe('SIGKILL');
          const again = await runApprovingWhenAsked(file, m.env).done;
          if (AFTER_COMPLETION.includes(point)) expect(again.code).toBe(1);
          else expect(again.code, again.stderr).toBe(0);
        } finally {
          const w = await writers.stop();
          expect.soft(w.error).toBeUndefined();
        }
        for (const [t, s] of Object.entries(await bothSides(m, SHOP_KEYED)))
          expect(s.target, t).toEqual(s.source);
        expect((await sourceState(m)).leftovers).toEqual([]);
      },
    );
  });
});

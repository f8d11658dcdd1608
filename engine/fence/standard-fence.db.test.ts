// Standard mode is a downtime: with the application still writing as its own role, the fence refuses
// its writes from the start of Execution, so the target is the source at one instant; fallback and
// completion reopen the source. Detect mode, for a source the user guarantees quiet, fails naming
// the tables written to instead of producing a target that silently differs.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { setUpRoles, type Roles } from '../../hack/fixtures/roles.ts';
import { query, startLocalPair, type LocalPair } from '../../hack/local-pair.ts';
import { createSampleDatabase } from '../../hack/sample/sample.ts';
import { ferry } from '../../test/support/cli.ts';
import { schemaDigests, snapshotDatabase } from '../../test/support/snapshot.ts';
import { startWriters } from '../../test/support/writers.ts';

let pair: LocalPair;
let roles: Roles;
const dir = mkdtempSync(join(tmpdir(), 'ferry-fence-'));

function manifest(spec: Record<string, unknown> = {}): string {
  const file = join(dir, 'std.yaml');
  writeFileSync(file, roles.manifest('std', { transfer: { parallelism: 2 }, ...spec }));
  return file;
}

/** One write as the application; resolves to the error code, or 'ok'. */
async function appWrite(
  sql = "INSERT INTO shop.products VALUES ('PROBE-' || gen_random_uuid(), 'probe', 1)",
) {
  const c = new pg.Client({ connectionString: roles.appUrl() });
  await c.connect();
  try {
    await c.query(sql);
    return 'ok';
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  } finally {
    await c.end();
  }
}

async function expectEqual(): Promise<void> {
  const [src, dst] = await Promise.all([
    schemaDigests(pair.source.url('shop'), 'shop'),
    schemaDigests(pair.target.url('shop'), 'shop'),
  ]);
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
  await ferry(['fallback', '-f', manifest()], roles.env);
  await query(pair.target, 'DROP SCHEMA IF EXISTS shop CASCADE');
});

describe('Standard mode under a writing application', () => {
  it('refuses its writes from Execution on, copies one instant, and fallback reopens the source', async () => {
    const before = await snapshotDatabase(pair.target.url('shop'));
    const file = manifest();
    expect((await ferry(['run', '-f', file, '--stop-after', 'PreProcessing'], roles.env)).code).toBe(0);
    // The fence is installed but open: the application writes freely until the downtime begins.
    expect(await appWrite()).toBe('ok');
    const writers = startWriters(roles.appUrl(), { sessions: 2, rate: 200 });
    await new Promise((r) => setTimeout(r, 500));
    const run = await ferry(['run', '-f', file, '--stop-after', 'Execution'], roles.env);
    expect(run.code, run.stderr.slice(-3000)).toBe(0);
    expect(run.stderr).toMatch(
      /writes to the migrated tables are refused until the migration completes or falls back/,
    );
    const w = await writers.stop();
    expect(w.committed).toBeGreaterThan(0);
    expect(w.refused).toBeGreaterThan(0);
    // Still fenced after Execution: the target equals the source, which nobody could change.
    expect(await appWrite()).toBe('25006');
    expect(await appWrite('DELETE FROM shop.events WHERE id = 1')).toBe('25006');
    await expectEqual();
    const fb = await ferry(['fallback', '-f', file], roles.env);
    expect(fb.stdout, fb.stderr).toMatch(/source write fence/);
    expect(await appWrite()).toBe('ok');
    const after = await snapshotDatabase(pair.source.url('shop'));
    expect(after.triggers).toEqual([]);
    expect(after.objects.filter((o) => o.includes('ferry'))).toEqual([]);
    expect(await snapshotDatabase(pair.target.url('shop'))).toEqual(before);
  });

  it('completes with the target equal and the source open again', async () => {
    const writers = startWriters(roles.appUrl(), { sessions: 2, rate: 100 });
    const run = await ferry(['run', '-f', manifest()], roles.env);
    const w = await writers.stop();
    expect(run.code, run.stderr.slice(-3000)).toBe(0);
    expect(w.refused).toBeGreaterThan(0);
    await expectEqual();
    expect(await appWrite()).toBe('ok');
    expect((await snapshotDatabase(pair.source.url('shop'))).triggers).toEqual([]);
  });

  it('Detect: a write during the downtime fails the run naming the table', async () => {
    const file = manifest({ fence: { mode: 'Detect', waitSeconds: 10 } });
    expect((await ferry(['run', '-f', file, '--stop-after', 'PreProcessing'], roles.env)).code).toBe(0);
    const writers = startWriters(roles.appUrl(), { sessions: 1, rate: 20 });
    const run = await ferry(['run', '-f', file], roles.env);
    const w = await writers.stop();
    expect(w.refused).toBe(0);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /the source changed during the downtime \(spec\.fence\.mode Detect\): writes to \w+/,
    );
  });
});

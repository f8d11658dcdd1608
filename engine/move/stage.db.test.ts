// A manifest that names its system move stage (spec.systemMove, what an operator's Migration
// carries) through the CLI, as the least-privilege roles: each stage runs without the other side's
// password, only with its own command; an Import loads table groups one by one (what its transfer
// Pods do) and falls back without the directory, from the dump its bookkeeping stored; the Export
// falls back leaving the source as it was.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setUpRoles, type Roles } from '../../hack/fixtures/roles.ts';
import { manifestFor, query, startLocalPair, type LocalPair } from '../../hack/local-pair.ts';
import { createSampleDatabase } from '../../hack/sample/sample.ts';
import { ferry, type CliResult } from '../../test/support/cli.ts';
import { applicationCanWrite } from '../../test/support/rehearsal.ts';
import { snapshotDatabase } from '../../test/support/snapshot.ts';

let pair: LocalPair;
let roles: Roles;
const work = mkdtempSync(join(tmpdir(), 'ferry-stage-'));

beforeAll(async () => {
  pair = await startLocalPair();
  roles = await setUpRoles(pair, { populate: (c) => createSampleDatabase(c, 'shop', 5e5) });
});
afterAll(async () => {
  await pair?.stop();
});

/**
 * The stage's manifest, without the password of the side it never reaches; without a directory, a
 * cluster's (its dump on a volume: the CLI has no directory then).
 */
function manifest(stage: 'Export' | 'Import', dumpDir?: string): string {
  const doc = parse(
    manifestFor(
      pair,
      'stage',
      {
        transfer: {
          method: 'Dump',
          ...(dumpDir ? { dumpDir } : { volume: { claimName: 'ferry-dump' } }),
          parallelism: 2,
          splitAbove: '256Ki',
          chunkRows: 2000,
        },
        systemMove: { stage },
      },
      { users: roles.migrator },
    ),
  ) as { spec: Record<'source' | 'target', { password?: unknown }> };
  delete doc.spec[stage === 'Export' ? 'target' : 'source'].password;
  const file = join(work, `${stage}-${dumpDir ? 'dir' : 'volume'}.yaml`);
  writeFileSync(file, stringify(doc));
  return file;
}

/** One side's passwords only. */
const only = (side: 'SOURCE' | 'TARGET') =>
  Object.fromEntries(Object.entries(roles.env).filter(([k]) => k.includes(side)));

function ok(r: CliResult): CliResult {
  expect(r.code, r.stderr).toBe(0);
  return r;
}

const schemasOn = async (s: LocalPair['source']) =>
  (
    await query<{ x: string }>(
      s,
      "SELECT nspname AS x FROM pg_namespace WHERE nspname LIKE 'ferry\\_%' OR nspname = 'shop' ORDER BY 1",
    )
  ).map((r) => r.x);

describe('a manifest naming its system move stage', () => {
  it('runs each stage with its own command and password; an Import loads groups one by one and falls back without the directory', async () => {
    const before = await snapshotDatabase(pair.source.url('shop'));
    const dump = join(work, 'dump');
    const exp = manifest('Export', dump);
    const run = await ferry(['run', '-f', exp], roles.env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('spec.systemMove.stage is Export: run it with ferry export, not ferry run');
    ok(await ferry(['export', '-f', exp], only('SOURCE')));
    expect(await applicationCanWrite(roles)).toBe(false);

    const copy = join(work, 'copy');
    execFileSync('cp', ['-r', dump, copy]);
    const imp = manifest('Import', copy);
    const wrong = await ferry(['export', '-f', imp], roles.env);
    expect(wrong.stderr).toContain(
      'spec.systemMove.stage is Import: run it with ferry import, not ferry export',
    );
    // Too early for a group: nothing is prepared on the target yet.
    const early = await ferry(['import', '-f', imp, '--group', '1'], only('TARGET'));
    expect(early.code).toBe(1);
    expect(early.stderr).toContain('the import of stage has not reached Execution (it has not started)');
    ok(await ferry(['import', '-f', imp, '--stop-after', 'PreProcessing'], only('TARGET')));
    ok(await ferry(['import', '-f', imp, '--group', '1'], only('TARGET')));
    const loaded = await query<{ n: string }>(
      pair.target,
      'SELECT count(*)::text AS n FROM ferry_stage.chunk_done',
    );
    expect(Number(loaded[0]!.n)).toBeGreaterThan(0);

    // The import side falls back from what its bookkeeping stored: no --from, no directory.
    const back = ok(await ferry(['fallback', '-f', manifest('Import')], only('TARGET')));
    expect(back.stdout).toMatch(/^fallback of stage done; dropped: /);
    expect(await schemasOn(pair.target)).toEqual([]);
    ok(await ferry(['fallback', '-f', exp], only('SOURCE')));
    expect(await schemasOn(pair.source)).toEqual(['shop']);
    expect(await snapshotDatabase(pair.source.url('shop'))).toEqual(before);
  });
});

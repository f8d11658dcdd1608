// Values that break migration tools arrive exactly, PostgreSQL 15 -> 18: after a Standard run, and
// after a DowntimeOptimized run whose application changed them while ferry recorded and replayed;
// with the memory pipe, and through files (method Dump: ferry run, and a system move whose import
// has the target's password only).
// ferry runs as the least-privilege migration role, the application owns and writes its tables.
// Compared value by value as text rendered under fixed settings (hack/fixtures/edge-values.ts), and
// by the independent table digests of test/support/snapshot.ts.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createEdgePartitions,
  createEdgeValues,
  diffRowsText,
  EDGE_PARTITION_TABLES,
  EDGE_PARTS,
  EDGE_TABLES,
  edgeRowsText,
  mutateEdgePartitions,
  mutateEdgeValues,
} from '../../hack/fixtures/edge-values.ts';
import { setUpRoles, type Roles } from '../../hack/fixtures/roles.ts';
import { query, startLocalPair, type LocalPair } from '../../hack/local-pair.ts';
import { quoteIdent } from '../db/ident.ts';
import { shadowSchemaName } from '../state/shadow.ts';
import { ferry, startFerry, stopped } from '../../test/support/cli.ts';
import { schemaDigests, snapshotDatabase } from '../../test/support/snapshot.ts';

let pair: LocalPair;
let roles: Roles;
const SCHEMA = 'shop';
/** The method Dump cases' own copy of the fixture: the memory pipe's uptime cases change `shop`'s. */
const FILES = 'files';
const dir = mkdtempSync(join(tmpdir(), 'ferry-exact-'));

type Fixture = (c: pg.ClientBase, schema: string) => Promise<void>;

beforeAll(async () => {
  pair = await startLocalPair();
  // Every fixture table, created once by the application role; each case migrates its own.
  roles = await setUpRoles(pair, {
    schemas: [SCHEMA, FILES],
    populate: async (c) => {
      for (const schema of [SCHEMA, FILES]) {
        await createEdgeValues(c, schema);
        await createEdgePartitions(c, schema);
      }
    },
  });
});
afterAll(async () => pair?.stop());

// A failed case leaves its shadow schema and triggers, and a cut-over one a read-only source: neither
// may reach the next case.
let current: string | undefined;
afterEach(async () => {
  if (current) await ferry(['fallback', '-f', current], roles.env);
  current = undefined;
});

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** A manifest migrating the given tables of the fixture, written to a file. */
function manifest(name: string, tables: readonly string[], spec: Record<string, unknown> = {}): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    // Partitions move with their root: the patterns name roots only.
    roles.manifest(name, {
      transfer: { parallelism: 2 },
      tables: { include: tables.filter((t) => !t.startsWith(`${EDGE_PARTS}_`)) },
      ...spec,
    }),
  );
  current = file;
  return file;
}

/** Each case starts with an empty target. */
async function fresh(): Promise<void> {
  for (const r of await query<{ n: string }>(
    pair.target,
    "SELECT nspname AS n FROM pg_namespace WHERE nspname IN ('shop', 'files') OR nspname LIKE 'ferry\\_%'",
  ))
    await query(pair.target, `DROP SCHEMA ${quoteIdent(r.n)} CASCADE`);
}

/** Target equals source, value by value (the first difference named) and by digest. */
async function expectExact(schema: string, tables: readonly string[]): Promise<void> {
  for (const t of tables) {
    const [s, d] = await Promise.all([
      withClient(pair.source.url('shop'), (c) => edgeRowsText(c, schema, t)),
      withClient(pair.target.url('shop'), (c) => edgeRowsText(c, schema, t)),
    ]);
    expect.soft(diffRowsText(s, d), `${schema}.${t}`).toBeUndefined();
  }
  const [src, dst] = await Promise.all([
    schemaDigests(pair.source.url('shop'), schema),
    schemaDigests(pair.target.url('shop'), schema),
  ]);
  for (const t of tables) expect.soft(dst[t], `digest of ${schema}.${t}`).toEqual(src[t]);
}

async function standardRun(name: string, tables: readonly string[], spec = {}, schema = SCHEMA) {
  const file = manifest(name, tables, spec);
  await fresh();
  const r = await ferry(['run', '-f', file], roles.env);
  expect(r.code, r.stderr).toBe(0);
  await expectExact(schema, tables);
}

/** Resolves once `check` holds; fails, with the run's output, if the run ends first. */
async function until(
  what: string,
  check: () => Promise<boolean> | boolean,
  run: ReturnType<typeof startFerry>,
) {
  let ended: Awaited<typeof run.done> | undefined;
  void run.done.then((r) => (ended = r));
  const deadline = Date.now() + 120_000;
  while (!(await check())) {
    if (ended) throw new Error(`ferry run ended (${ended.code}) before ${what}:\n${ended.stderr}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** The bulk copy is done and changes are recorded for the replay. */
const bulkCopied = (name: string, run: ReturnType<typeof startFerry>) =>
  until(
    'the bulk copy was done',
    async () =>
      (
        await query<{ done: boolean }>(
          pair.source,
          `SELECT (value->>'bulkCopied')::boolean AS done FROM ${quoteIdent(shadowSchemaName(name))}.state WHERE key = 'uptime'`,
        ).catch(() => [])
      )[0]?.done === true,
    run,
  );

interface UptimeCase {
  spec?: Record<string, unknown>;
  schema?: string;
  /**
   * The application changes the rows while the bulk copy is paused at its first chunk's file
   * (method Dump): some chunks are in files from the snapshot, others not read yet. Otherwise once
   * the bulk copy is done, while the replay runs.
   */
  midCopy?: boolean;
}

/** DowntimeOptimized: bulk copy, the application's changes in uptime, approved cutover. */
async function downtimeOptimizedRun(
  name: string,
  mutate: Fixture,
  tables: readonly string[],
  { spec = {}, schema = SCHEMA, midCopy = false }: UptimeCase = {},
) {
  const file = manifest(name, tables, { mode: 'DowntimeOptimized', ...spec });
  await fresh();
  const pause = { FERRY_FAULT: 'dump.chunk-exported', FERRY_FAULT_SIGNAL: 'SIGSTOP' };
  const run = startFerry(['run', '-f', file], { ...roles.env, ...(midCopy && pause) });
  if (midCopy) {
    await until('it paused', () => stopped(run.child.pid!), run);
    const changing = withClient(roles.appUrl(), (c) => mutate(c, schema));
    // A TRUNCATE waits for a reader the pause caught in its transaction: it goes on once the run does.
    await sleep(1000);
    run.child.kill('SIGCONT');
    await changing;
    await bulkCopied(name, run);
  } else {
    await bulkCopied(name, run);
    await withClient(roles.appUrl(), (c) => mutate(c, schema));
  }
  await sleep(3000); // the replay applies the changes in uptime
  const approve = await ferry(['cutover', '-f', file], roles.env);
  expect(approve.code, approve.stderr).toBe(0);
  const done = await run.done;
  // Soft: a failed run still shows how the target differs.
  expect.soft(done.code, done.stderr).toBe(0);
  await expectExact(schema, tables);
}

describe('exact values, PostgreSQL 15 -> 18', () => {
  it('Standard: every edge value arrives exactly', async () => {
    await standardRun('edge-std', EDGE_TABLES);
  });

  it('DowntimeOptimized: values changed in uptime (limits, -0, NaN, json text, TOAST, key reuse, TRUNCATE) arrive exactly', async () => {
    await downtimeOptimizedRun('edge-dto', mutateEdgeValues, EDGE_TABLES);
  });

  it('Standard: a partitioned table arrives exactly, rows in their partitions', async () => {
    await standardRun('parts-std', EDGE_PARTITION_TABLES);
  });

  it('DowntimeOptimized: rows moved between partitions in uptime arrive exactly', async () => {
    await downtimeOptimizedRun('parts-dto', mutateEdgePartitions, EDGE_PARTITION_TABLES);
  });
});

/** The whole fixture, through files (spec.transfer.method: Dump) in a directory of the case's own. */
const ALL_TABLES = [...EDGE_TABLES, ...EDGE_PARTITION_TABLES];
const throughFiles = (name: string) => ({
  schemas: [{ source: FILES }],
  transfer: { parallelism: 2, method: 'Dump', dumpDir: join(dir, `${name}-dump`) },
});
const sourceSnapshot = () => snapshotDatabase(pair.source.url('shop'));
/** The import side's environment: the target's passwords only, none of the source's. */
const targetOnly = () => Object.fromEntries(Object.entries(roles.env).filter(([k]) => !/SOURCE/.test(k)));

describe('exact values through files (method Dump), PostgreSQL 15 -> 18', () => {
  it('Standard: every edge value and partition arrives exactly; the source untouched, the files gone', async () => {
    const before = await sourceSnapshot();
    await standardRun('files-std', ALL_TABLES, throughFiles('files-std'), FILES);
    expect(await sourceSnapshot()).toEqual(before);
    expect(existsSync(throughFiles('files-std').transfer.dumpDir)).toBe(false);
  });

  it('system move: ferry export, then ferry import with the target password only: every edge value arrives exactly, the source untouched', async () => {
    const before = await sourceSnapshot();
    const file = manifest('files-move', ALL_TABLES, throughFiles('files-move'));
    await fresh();
    const exported = await ferry(['export', '-f', file], roles.env);
    expect(exported.code, exported.stderr).toBe(0);
    const imported = await ferry(
      ['import', '-f', file, '--from', throughFiles('files-move').transfer.dumpDir],
      targetOnly(),
    );
    expect(imported.code, imported.stderr).toBe(0);
    await expectExact(FILES, ALL_TABLES);
    const completed = await ferry(['export', '-f', file, '--complete'], roles.env);
    expect(completed.code, completed.stderr).toBe(0);
    expect(await sourceSnapshot()).toEqual(before);
  });

  it('DowntimeOptimized: the application TRUNCATEs and refills (a table, a partition alone), changes and deletes keys while the bulk copy is half in files; exact after the cutover', async () => {
    await downtimeOptimizedRun(
      'files-dto',
      async (c, schema) => {
        await mutateEdgeValues(c, schema);
        await mutateEdgePartitions(c, schema);
      },
      ALL_TABLES,
      { spec: throughFiles('files-dto'), schema: FILES, midCopy: true },
    );
  });
});

// Values that break migration tools arrive exactly, PostgreSQL 15 -> 18: after a Standard run, and
// after a DowntimeOptimized run whose application changed them while ferry recorded and replayed.
// Compared value by value as text rendered under fixed settings (hack/fixtures/edge-values.ts), and
// by the independent table digests of engine/testing/snapshot.ts.
import { mkdtempSync, writeFileSync } from 'node:fs';
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
  EDGE_TABLES,
  edgeRowsText,
  mutateEdgePartitions,
  mutateEdgeValues,
} from '../../hack/fixtures/edge-values.ts';
import { manifestFor, query, startLocalPair, type LocalPair } from '../../hack/local-pair.ts';
import type { PostgresServer } from '../../hack/postgres/server.ts';
import { quoteIdent } from '../db/ident.ts';
import { shadowSchemaName } from '../state/shadow.ts';
import { ferry, startFerry } from '../testing/cli.ts';
import { schemaDigests } from '../testing/snapshot.ts';

let pair: LocalPair;
const dir = mkdtempSync(join(tmpdir(), 'ferry-exact-'));

type Fixture = (c: pg.ClientBase, schema: string) => Promise<void>;

beforeAll(async () => {
  pair = await startLocalPair();
});
afterAll(async () => pair?.stop());

// A failed case leaves its shadow schema and triggers, and a cut-over one a read-only source: neither
// may reach the next case.
let current: string | undefined;
afterEach(async () => {
  if (current) await ferry(['fallback', '-f', current], pair.env);
  current = undefined;
  await query(pair.source, 'ALTER DATABASE shop RESET default_transaction_read_only', [], 'postgres');
});

async function withClient<T>(s: PostgresServer, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: s.url('shop') });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** A manifest for migrating `schema` (source and target), written to a file. */
function manifest(name: string, schema: string, spec: Record<string, unknown> = {}): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    manifestFor(pair, name, { transfer: { parallelism: 2 }, ...spec }).replaceAll(
      'schema: shop',
      `schema: ${schema}`,
    ),
  );
  current = file;
  return file;
}

/** Each case starts from a freshly created fixture and an empty target. */
async function fresh(schema: string, create: Fixture): Promise<void> {
  await query(pair.source, `DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
  await withClient(pair.source, (c) => create(c, schema));
  await query(pair.target, `DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
  for (const r of await query<{ n: string }>(
    pair.target,
    "SELECT nspname AS n FROM pg_namespace WHERE nspname LIKE 'ferry\\_%'",
  ))
    await query(pair.target, `DROP SCHEMA ${quoteIdent(r.n)} CASCADE`);
}

/** Target equals source, value by value (the first difference named) and by digest. */
async function expectExact(schema: string, tables: readonly string[]): Promise<void> {
  for (const t of tables) {
    const [s, d] = await Promise.all([
      withClient(pair.source, (c) => edgeRowsText(c, schema, t)),
      withClient(pair.target, (c) => edgeRowsText(c, schema, t)),
    ]);
    expect.soft(diffRowsText(s, d), `${schema}.${t}`).toBeUndefined();
  }
  const [src, dst] = await Promise.all([
    schemaDigests(pair.source.url('shop'), schema),
    schemaDigests(pair.target.url('shop'), schema),
  ]);
  for (const t of tables) expect.soft(dst[t], `digest of ${schema}.${t}`).toEqual(src[t]);
}

async function standardRun(name: string, schema: string, create: Fixture, tables: readonly string[]) {
  const file = manifest(name, schema);
  await fresh(schema, create);
  const r = await ferry(['run', '-f', file], pair.env);
  expect(r.code, r.stderr).toBe(0);
  await expectExact(schema, tables);
}

/** Resolves once the bulk copy is done and changes are recorded for the replay; fails if the run ends first. */
async function bulkCopied(name: string, run: ReturnType<typeof startFerry>): Promise<void> {
  let ended: Awaited<typeof run.done> | undefined;
  void run.done.then((r) => (ended = r));
  const deadline = Date.now() + 120_000;
  for (;;) {
    const rows = await query<{ done: boolean }>(
      pair.source,
      `SELECT (value->>'bulkCopied')::boolean AS done FROM ${quoteIdent(shadowSchemaName(name))}.state WHERE key = 'uptime'`,
    ).catch(() => []);
    if (rows[0]?.done) return;
    if (ended)
      throw new Error(`ferry run ended (${ended.code}) before the bulk copy was done:\n${ended.stderr}`);
    if (Date.now() > deadline) throw new Error('timed out waiting for the bulk copy');
    await sleep(200);
  }
}

/** DowntimeOptimized: bulk copy, the application's changes in uptime, approved cutover. */
async function downtimeOptimizedRun(
  name: string,
  schema: string,
  create: Fixture,
  mutate: Fixture,
  tables: readonly string[],
) {
  const file = manifest(name, schema, { mode: 'DowntimeOptimized' });
  await fresh(schema, create);
  const run = startFerry(['run', '-f', file], pair.env);
  await bulkCopied(name, run);
  await withClient(pair.source, (c) => mutate(c, schema));
  await sleep(3000); // the replay applies the changes in uptime
  const approve = await ferry(['cutover', '-f', file], pair.env);
  expect(approve.code, approve.stderr).toBe(0);
  const done = await run.done;
  // Soft: a failed run still shows how the target differs.
  expect.soft(done.code, done.stderr).toBe(0);
  await expectExact(schema, tables);
}

describe('exact values, PostgreSQL 15 -> 18', () => {
  it('Standard: every edge value arrives exactly', async () => {
    await standardRun('edge-std', 'edge', createEdgeValues, EDGE_TABLES);
  });

  it('DowntimeOptimized: values changed in uptime (limits, -0, NaN, json text, TOAST, key reuse, TRUNCATE) arrive exactly', async () => {
    await downtimeOptimizedRun('edge-dto', 'edge', createEdgeValues, mutateEdgeValues, EDGE_TABLES);
  });

  it('Standard: a partitioned table arrives exactly, rows in their partitions', async () => {
    await standardRun('parts-std', 'parts', createEdgePartitions, EDGE_PARTITION_TABLES);
  });

  it('DowntimeOptimized: rows moved between partitions in uptime arrive exactly', async () => {
    await downtimeOptimizedRun(
      'parts-dto',
      'parts',
      createEdgePartitions,
      mutateEdgePartitions,
      EDGE_PARTITION_TABLES,
    );
  });
});

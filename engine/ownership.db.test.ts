// Ownership on real servers (PostgreSQL 15 -> 18) through the ferry CLI: fallback drops only what
// this migration created, and inputs that would destroy something are refused with nothing changed.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifestFor, query, queryOne, startLocalPair, type LocalPair } from '../hack/local-pair.ts';
import { createSampleDatabase } from '../hack/sample/sample.ts';
import { ferry } from '../test/support/cli.ts';
import { schemaDigests, snapshotDatabase, type DatabaseSnapshot } from '../test/support/snapshot.ts';

let pair: LocalPair;
const dir = mkdtempSync(join(tmpdir(), 'ferry-owner-'));

interface Doc {
  metadata: Record<string, string>;
  spec: { source: Record<string, unknown>; target: Record<string, unknown> };
}

/** A manifest named `name`, edited by `edit` (namespace, target...). */
function manifest(name: string, edit: (d: Doc) => void = () => {}): string {
  const doc = parse(
    manifestFor(pair, name, { transfer: { parallelism: 2, splitAbove: '1Mi', chunkRows: 5000 } }),
  ) as Doc;
  edit(doc);
  const file = join(dir, `${name}-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, stringify(doc));
  return file;
}
const inNamespace = (ns: string) => (d: Doc) => void (d.metadata['namespace'] = ns);

async function reset(): Promise<void> {
  for (const s of [pair.source, pair.target])
    for (const r of await query<{ n: string }>(
      s,
      "SELECT nspname AS n FROM pg_namespace WHERE nspname LIKE 'ferry\\_%' OR nspname IN ('shop2')",
    ))
      await query(s, `DROP SCHEMA "${r.n}" CASCADE`);
  await query(pair.target, 'DROP SCHEMA IF EXISTS shop CASCADE');
}

const snapshots = async (): Promise<{ source: DatabaseSnapshot; target: DatabaseSnapshot }> => ({
  source: await snapshotDatabase(pair.source.url('shop')),
  target: await snapshotDatabase(pair.target.url('shop')),
});

/** The command fails with one error matching `message`, and neither database changed. */
async function expectRefused(args: string[], message: RegExp): Promise<string> {
  const before = await snapshots();
  const r = await ferry(args, pair.env);
  expect(r.code, r.stderr).not.toBe(0);
  expect(r.stderr).toMatch(message);
  expect(r.stderr.match(/ferry: error:/g)).toHaveLength(1);
  expect(await snapshots()).toEqual(before);
  return r.stderr;
}

async function run(args: string[]): Promise<void> {
  const r = await ferry(args, pair.env);
  expect(r.code, r.stderr).toBe(0);
}

beforeAll(async () => {
  pair = await startLocalPair();
  const c = new pg.Client({ connectionString: pair.source.url('shop') });
  await c.connect();
  await createSampleDatabase(c, 'shop', 3e6);
  await c.end();
});

afterAll(async () => {
  await pair?.stop();
});

describe('two migrations named shop, in namespaces a and b, against the same source', () => {
  it('refuses b at Checks and in fallback, drops nothing of a, and a then completes', async () => {
    await reset();
    const a = manifest('shop', inNamespace('a'));
    const b = manifest('shop', inNamespace('b'));
    await run(['run', '-f', a, '--stop-after', 'Execution']);
    const comment = await queryOne<{ c: string }>(
      pair.source,
      "SELECT obj_description('ferry_shop'::regnamespace, 'pg_namespace') AS c",
    );
    expect(JSON.parse(comment.c.slice(comment.c.indexOf('{')))).toMatchObject({
      namespace: 'a',
      name: 'shop',
      uid: expect.stringMatching(/^[0-9a-f-]{36}$/),
      sourceSchema: 'shop',
      targetSchema: 'shop',
    });
    const both =
      /shadow schema ferry_shop of migration a\/shop \(uid [0-9a-f-]+\); this manifest is migration b\/shop/;
    const refused = await expectRefused(['run', '-f', b], both);
    expect(refused).toContain('phase Checks started');
    expect(refused).not.toContain('phase Checks done');
    await expectRefused(['fallback', '-f', b], both);
    await expectRefused(['status', '-f', b], both);
    // a's shadow schema and target objects are intact: a completes with exact data.
    const r = await ferry(['run', '-f', a], pair.env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/resuming migration shop/);
    const [src, dst] = await Promise.all([
      schemaDigests(pair.source.url('shop'), 'shop'),
      schemaDigests(pair.target.url('shop'), 'shop'),
    ]);
    expect(dst).toEqual(src);
    // The completed target schema no longer carries ferry's marker.
    const { c } = await queryOne<{ c: string | null }>(
      pair.target,
      "SELECT obj_description('shop'::regnamespace, 'pg_namespace') AS c",
    );
    expect(c).toBeNull();
  });
});

describe('fallback touches only what this migration created', () => {
  it('refuses a manifest whose target schema changed since the start, dropping nothing', async () => {
    await reset();
    const a = manifest('shop');
    await run(['run', '-f', a, '--stop-after', 'PreProcessing']);
    const moved = manifest('shop', (d) => void (d.spec.target['schema'] = 'shop2'));
    await expectRefused(
      ['fallback', '-f', moved],
      /migration shop \(uid [0-9a-f-]+\) was started for target 127\.0\.0\.1:\d+\/shop schema shop from source schema shop, the manifest says target 127\.0\.0\.1:\d+\/shop schema shop2/,
    );
    await run(['fallback', '-f', a]);
    expect(
      await query(pair.target, "SELECT 1 FROM pg_namespace WHERE nspname IN ('shop', 'ferry_shop')"),
    ).toEqual([]);
  });

  it('keeps a target schema that existed before, with its own table', async () => {
    await reset();
    await query(
      pair.target,
      'CREATE SCHEMA shop; CREATE TABLE shop.mine (id int); INSERT INTO shop.mine VALUES (1), (2)',
    );
    const before = await snapshotDatabase(pair.target.url('shop'));
    const a = manifest('shop');
    await run(['run', '-f', a, '--stop-after', 'Execution']);
    await run(['fallback', '-f', a]);
    expect(await snapshotDatabase(pair.target.url('shop'))).toEqual(before);
    expect(before.tables['shop.mine']).toMatchObject({ rows: 2 });
  });

  it('keeps a schema ferry created once someone put a table of their own in it', async () => {
    await reset();
    const a = manifest('shop');
    await run(['run', '-f', a, '--stop-after', 'PreProcessing']);
    await query(pair.target, 'CREATE TABLE shop.theirs (id int); INSERT INTO shop.theirs VALUES (7)');
    await run(['fallback', '-f', a]);
    const after = await snapshotDatabase(pair.target.url('shop'));
    expect(after.objects).toEqual(['schema public', 'schema shop', 'shop.theirs:r']);
    expect(after.tables['shop.theirs']).toMatchObject({ rows: 1 });
  });

  it("reads an earlier ferry's state (markers with the name only): reads its status and falls it back", async () => {
    await reset();
    const a = manifest('shop');
    await run(['run', '-f', a, '--stop-after', 'PreProcessing']);
    const { target, sourceSchema, planHash } = await queryOne<{
      target: string;
      sourceSchema: string;
      planHash: string;
    }>(
      pair.source,
      "SELECT value->>'target' || '/' || (value->>'targetSchema') AS target, value->>'sourceSchema' AS \"sourceSchema\", value->>'planHash' AS \"planHash\" FROM ferry_shop.state WHERE key = 'identity'",
    );
    await query(
      pair.source,
      "COMMENT ON SCHEMA ferry_shop IS 'ferry shadow schema of migration shop; drop it to fall back'",
    );
    await query(pair.source, "UPDATE ferry_shop.state SET value = $1 WHERE key = 'identity'", [
      JSON.stringify({ migration: 'shop', sourceSchema, target, planHash }),
    ]);
    await query(
      pair.target,
      "COMMENT ON SCHEMA ferry_shop IS 'ferry bookkeeping of migration shop'; COMMENT ON SCHEMA shop IS NULL",
    );
    const st = await ferry(['status', '-f', a, '--json'], pair.env);
    expect(JSON.parse(st.stdout)).toMatchObject({ phase: 'Execution' });
    await run(['fallback', '-f', a]);
    // The target schema carried no marker of an earlier ferry: its objects go, the empty schema stays.
    const after = await snapshotDatabase(pair.target.url('shop'));
    expect(after.objects).toEqual(['schema public', 'schema shop']);
    expect(await query(pair.source, "SELECT 1 FROM pg_namespace WHERE nspname = 'ferry_shop'")).toEqual([]);
  });
});

describe('refused at Preparation, nothing changed', () => {
  it("a target schema named like ferry's own", async () => {
    await reset();
    await expectRefused(
      ['run', '-f', manifest('shop', (d) => void (d.spec.target['schema'] = 'ferry_x'))],
      /spec\.target\.schema: ferry_x is named like ferry's own schemas \(ferry_\*; this migration's is ferry_shop\)/,
    );
  });

  it('a target that is the source, spelled localhost instead of 127.0.0.1', async () => {
    await reset();
    const file = manifest('shop', (d) => {
      d.spec.target = { ...d.spec.source, host: 'localhost', engine: 'postgres' };
    });
    await expectRefused(
      ['run', '-f', file],
      /spec\.target: source and target are the same schema of the same database \(source postgres@127\.0\.0\.1:\d+\/shop and target postgres@localhost:\d+\/shop reach the same server\)/,
    );
  });
});

// Validation against a real pair, PostgreSQL 15 -> 18, on the every-type fixture: after ferry migrated
// it exactly, one byte changed in any column of one row of the target (a value edited by one
// character), values moved between rows, or a row lost is caught, and the message names the table
// and the column.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifestFor, startLocalPair, type LocalPair } from '../../hack/local-pair.ts';
import { extractCatalog } from '../source/postgres/extract.ts';
import type { Catalog, Column } from '../catalog/types.ts';
import { loadSettings } from '../cli/load.ts';
import { quoteIdent } from '../db/ident.ts';
import { silentLogger } from '../log.ts';
import { createContext, type Context } from '../phases/context.ts';
import { ferry } from '../../test/support/cli.ts';
import { loadEveryType } from '../../test/support/every-type.ts';
import { validate } from './compare.ts';

let pair: LocalPair;
let ctx: Context;
let catalog: Catalog;
let target: pg.Client;

beforeAll(async () => {
  pair = await startLocalPair();
  const c = new pg.Client({ connectionString: pair.source.url('shop') });
  await c.connect();
  await loadEveryType(c, 'kit');
  const file = join(mkdtempSync(join(tmpdir(), 'ferry-validate-')), 'kit.yaml');
  writeFileSync(file, manifestFor(pair, 'kit').replaceAll('schema: shop', 'schema: kit'));
  const r = await ferry(['run', '-f', file, '--report-out', `${file}.json`], pair.env);
  expect(r.code, r.stderr).toBe(0);
  const settings = { ...loadSettings(file, pair.env), parallelism: 1 };
  ctx = createContext(settings, silentLogger, {}, undefined, {
    source: pair.source.password,
    target: pair.target.password,
  });
  target = new pg.Client({ connectionString: pair.target.url('shop') });
  await target.connect();
  await target.query('SET search_path = kit');
  // The same few rows of every type on both sides, every column settable (no identity, none generated).
  for (const side of [c, target])
    await side.query('CREATE TABLE kit.few AS SELECT * FROM kit.every_type WHERE id <= 50');
  catalog = await extractCatalog(c, 'kit');
  await c.end();
});
afterAll(async () => {
  await target?.end();
  await pair?.stop();
});

const only = (t: string) => validate(ctx, catalog, undefined, { tables: [t] });

/** Texts one character away from `v` (a digit or letter moved by one), in the order to try them. */
function oneCharAway(v: string): string[] {
  const out: string[] = [];
  for (let i = v.length - 1; i >= 0; i--) {
    const ch = v[i]!;
    const next = /[0-8a-yA-Y]/.test(ch)
      ? String.fromCharCode(ch.charCodeAt(0) + 1)
      : /[9zZ]/.test(ch)
        ? '1'
        : null;
    if (next) out.push(v.slice(0, i) + next + v.slice(i + 1));
  }
  return out;
}

/**
 * Sets the column of row `id` to a value one character away from its own, as the type reads it
 * back; where there is none (a boolean, an enum), to another row's value, or NULL. Returns the texts.
 */
async function change(
  c: Column,
  id: string,
): Promise<{ before: string; after: string | null; ctid: string }> {
  const col = quoteIdent(c.name);
  const { rows } = await target.query<{ v: string }>(`SELECT ${col}::text AS v FROM few WHERE id = $1`, [id]);
  const before = rows[0]!.v;
  const { rows: other } = await target.query<{ v: string }>(
    `SELECT ${col}::text AS v FROM few WHERE ${col}::text <> $1 LIMIT 1`,
    [before],
  );
  for (const after of [...oneCharAway(before), ...other.map((r) => r.v), null]) {
    const distinct = await target
      .query<{ d: boolean }>(`SELECT $1::text::${c.type}::text IS DISTINCT FROM $2 AS d`, [after, before])
      .then((r) => r.rows[0]!.d)
      .catch(() => false);
    if (!distinct) continue;
    const { rows: changed } = await target.query<{ ctid: string }>(
      `UPDATE few SET ${col} = $1::text::${c.type} WHERE id = $2 RETURNING ctid::text`,
      [after, id],
    );
    return { before, after, ctid: changed[0]!.ctid };
  }
  throw new Error(`no change found for ${c.name} value ${before}`);
}

describe('validation, PostgreSQL 15 -> 18', () => {
  it('finds the target equal to the source after the migration', async () => {
    expect(await only('every_type')).toBe(1);
  });

  it('catches a one-character change in any column and names the column', async () => {
    const columns = catalog.tables.find((t) => t.name === 'few')!.columns;
    expect(columns.length).toBeGreaterThan(30);
    const id = '1';
    for (const c of columns) {
      const { before, after, ctid } = await change(c, id);
      try {
        await expect(only('few'), `${c.name}: ${before} -> ${after}`).rejects.toThrow(
          new RegExp(
            `^validation failed: table few: same row count \\(50\\) but the content differs in column ${c.name}$`,
          ),
        );
      } finally {
        await target.query(`UPDATE few SET ${quoteIdent(c.name)} = $1::text::${c.type} WHERE ctid = $2`, [
          before,
          ctid,
        ]);
      }
    }
    expect(await only('few')).toBe(1);
    // A generated column is compared too: it follows the column it is computed from.
    await target.query('UPDATE every_type SET c_numeric = c_numeric + 0.01 WHERE id = 1');
    await expect(only('every_type')).rejects.toThrow(/differs in column c_numeric, c_total$/);
    await target.query('UPDATE every_type SET c_numeric = c_numeric - 0.01 WHERE id = 1');
  });

  it('catches values that moved between rows, and a lost row', async () => {
    const swap = `UPDATE few SET c_text = CASE id WHEN 1 THEN (SELECT c_text FROM few WHERE id = 2)
      ELSE (SELECT c_text FROM few WHERE id = 1) END WHERE id IN (1, 2)`;
    await target.query(swap);
    await expect(only('few')).rejects.toThrow(
      /table few: .* the content differs \(each column holds the same values: they moved between rows\)$/,
    );
    await target.query(swap);
    await target.query('DELETE FROM by_default WHERE id = 100000');
    await expect(only('by_default')).rejects.toThrow(
      /^validation failed: table by_default: source has 51 rows, target 50$/,
    );
    await target.query(`INSERT INTO by_default (id, v) VALUES (100000, 'explicit')`);
    expect(await validate(ctx, catalog, undefined)).toBe(catalog.tables.length);
  });
});

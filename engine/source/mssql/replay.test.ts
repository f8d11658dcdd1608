import { text } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { table } from '../../../test/support/catalog.ts';
import { pausableRows } from '../../../test/support/mssql-session.ts';
import { find, group, mssqlColumn, names, shape, tokenize } from '../../../test/support/mssql-sql.ts';
import type { Table } from '../../catalog/types.ts';
import type { SnapshotReads } from '../dialect.ts';
import type { MssqlConnection, RowSink } from './connect.ts';
import {
  driftOf,
  forgetSql,
  keysSql,
  maxIdsSql,
  openBatch,
  rowsSql,
  type Logged,
  type ValueCodec,
} from './replay.ts';

const id = mssqlColumn('id', { name: 'int' }, 'integer');
const code = mssqlColumn(
  'co]de',
  { name: 'varchar', maxLength: 10, precision: 0, collation: 'Latin1_General_CI_AS' },
  'text',
);
const note = mssqlColumn(
  "no'te",
  { name: 'nvarchar', maxLength: -1, precision: 0, collation: 'Latin1_General_CI_AS' },
  'text',
  false,
);
const total = mssqlColumn('total', { name: 'int' }, 'integer');
const tags: Table = { ...table('ta]gs'), columns: [code, id, note], key: ['co]de', 'id'] };
const other: Table = { ...table('other'), columns: [id, { ...total, generated: '([id]*(2))' }] };
const logged: Logged[] = [
  { table: tags, schema: 'sa]les', index: 2 },
  { table: other, schema: 'dbo', index: 5 },
];

/** encode.ts's shape: selects by name, texts by String. */
const codec: ValueCodec = {
  selectExpression: (column) => `ENC(${column})`,
  canonicalText: (v) => (v === null ? null : String(v)),
};

/** A session whose statements answer from `answers` (by a fragment of their text) and log what ran. */
function fakeSession(answers: Record<string, unknown[][]>) {
  const ran: string[] = [];
  const answer = (sql: string) => Object.entries(answers).find(([k]) => sql.includes(k))?.[1] ?? [];
  const c = {
    ran,
    paused: 0,
    run: async (sql: string) => {
      ran.push(sql);
      return sql.startsWith('DELETE') ? 3 : 0;
    },
    rows: async (sql: string) => {
      ran.push(sql);
      return answer(sql).map((r) => Object.fromEntries(r.map((v, i) => [`m${i - 1}`, v])));
    },
    stream: (sql: string, _params: unknown[], sink: RowSink) => {
      ran.push(sql);
      const rows = [...answer(sql)];
      return pausableRows(
        sink,
        () => rows.shift(),
        () => c.paused++,
      );
    },
  };
  return c;
}

describe('the SQL Server replay', () => {
  it("fixes the snapshot with one read of every log's highest id", () => {
    const t = tokenize(maxIdsSql('ferry_m', logged));
    expect(names(t)).toEqual(['ferry_m.log_2', 'm0', 'ferry_m.log_5', 'm1', 'ferry_m.state']);
    expect(shape(t).match(/MAX \( ID \)/g)).toHaveLength(2);
  });

  it("reads the distinct logged keys up to the batch's highest id, telling text apart by bytes", () => {
    const t = tokenize(keysSql('ferry_m', logged[0]!, '41', codec));
    expect(names(t)).toContain('ferry_m.log_2');
    expect(shape(t)).toContain('WHERE ID <= 41 GROUP BY');
    const by = shape(t.slice(find(t, ['GROUP', 'BY']) + 2));
    expect(by).toBe('[] , CONVERT ( VARBINARY ( 8000 ) , [] ) , DATALENGTH ( [] ) , []');
    expect(() => keysSql('ferry_m', logged[0]!, '41; DELETE', codec)).toThrow(/not an integer/);
  });

  it('re-reads the current rows of the logged keys (up to the highest id), copied columns only, whatever their names', () => {
    const t = tokenize(rowsSql('ferry_m', logged[0]!, '41', codec));
    expect(names(t)).toEqual(expect.arrayContaining(['co]de', "no'te", 'sa]les.ta]gs', 'ferry_m.log_2']));
    const exists = find(t, ['EXISTS']);
    const cond = shape(group(t, exists + 1));
    expect(cond).toContain('WHERE G . ID <= 41 AND G . [] = T . [] AND G . [] = T . []');
    const keys = group(t, exists + 1)
      .filter((x) => x.kind === 'ident')
      .map((x) => x.text);
    expect(keys).toEqual(['ferry_m', 'log_2', 'k0', 'co]de', 'k1', 'id']);
    // The nvarchar(max) column (c2) as readRows reads large values apart: NULL beside its length.
    expect(shape(t)).toMatch(/CASE WHEN DATALENGTH \( \[\] \) > 1048576 THEN NULL ELSE ENC \( C2 \) END/);
    expect(shape(t)).toMatch(/, DATALENGTH \( \[\] \) FROM \( SELECT/);
    // The generated column is the target's to compute.
    expect(shape(tokenize(rowsSql('ferry_m', logged[1]!, '7', codec)))).not.toContain('ENC ( C1 )');
    expect(forgetSql('ferry_m', logged[0]!, '41')).toBe('DELETE FROM [ferry_m].[log_2] WHERE id <= 41');
  });

  it('opens a SNAPSHOT batch, hands out the keys as COPY text, forgets the entries up to the max read and commits', async () => {
    const c = fakeSession({
      'CAST(MAX(id)': [[1, '41', null]],
      'log_2]\n': [
        ['a', 1],
        ['A', 1],
      ],
    });
    const batch = await openBatch(
      c as unknown as MssqlConnection,
      { store: 'ferry_m', logged, conversion: {} as never, codec, evenEmpty: false },
      {} as SnapshotReads,
    );
    expect(c.ran[0]).toBe('SET TRANSACTION ISOLATION LEVEL SNAPSHOT; BEGIN TRANSACTION');
    expect(batch!.summary).toEqual([{ tbl: 'ta]gs', truncated: false, keyed: true }]);
    expect(await batch!.keys((r) => text(r))).toBe('ta]gs\t{"a","1"}\nta]gs\t{"A","1"}\n');
    expect(await batch!.forget()).toBe(3);
    expect(c.ran.at(-1)).toBe('DELETE FROM [ferry_m].[log_2] WHERE id <= 41');
    await batch!.commit();
    expect(c.ran.at(-1)).toBe(
      'IF @@TRANCOUNT > 0 COMMIT TRANSACTION; SET TRANSACTION ISOLATION LEVEL READ COMMITTED',
    );
  });

  it('leaves no transaction open when the logs are empty', async () => {
    const c = fakeSession({ 'CAST(MAX(id)': [[1, null, null]] });
    const o = { store: 'ferry_m', logged, conversion: {} as never, codec, evenEmpty: false };
    expect(await openBatch(c as unknown as MssqlConnection, o, {} as SnapshotReads)).toBeUndefined();
    expect(c.ran.at(-1)).toMatch(/^IF @@TRANCOUNT > 0 COMMIT TRANSACTION/);
    const again = await openBatch(
      c as unknown as MssqlConnection,
      { ...o, evenEmpty: true },
      {} as SnapshotReads,
    );
    expect(again!.summary).toEqual([]);
    expect(await again!.forget()).toBe(0);
  });

  it('names the first table whose columns changed since the catalog was read', () => {
    const now = [
      { tbl: 'ta]gs', name: 'co]de', ty: 'varchar', len: 10, p: 0, s: 0, co: 'Latin1_General_CI_AS' },
      { tbl: 'ta]gs', name: 'id', ty: 'int', len: 4, p: 10, s: 0, co: null },
      { tbl: 'ta]gs', name: "no'te", ty: 'nvarchar', len: -1, p: 0, s: 0, co: 'Latin1_General_CI_AS' },
    ];
    expect(driftOf([tags], now)).toBeUndefined();
    const widened = now.map((r) => (r.name === 'co]de' ? { ...r, len: 20 } : r));
    expect(driftOf([tags], widened)).toMatch(
      /^the schema of table ta]gs changed .*columns now: co]de varchar\(20\) COLLATE Latin1_General_CI_AS, id int/,
    );
    expect(driftOf([tags], [])).toMatch(/table dropped/);
    const recollated = now.map((r) => (r.name === "no'te" ? { ...r, co: 'Latin1_General_BIN2' } : r));
    expect(driftOf([tags], recollated)).toMatch(/ta]gs changed/);
  });
});

import { describe, expect, it } from 'vitest';
import { table } from '../../../test/support/catalog.ts';
import { find, mssqlColumn, names, shape, tokenize } from '../../../test/support/mssql-sql.ts';
import type { Catalog, Table } from '../../catalog/types.ts';
import {
  bypassedBy,
  fenceMessage,
  killSql,
  ownTriggers,
  storeNameMax,
  triggerDdl,
  triggerName,
  writeHoldersSql,
} from './fence.ts';

const id = mssqlColumn('id', { name: 'int' }, 'integer');
const hostile: Table = { ...table("a]b'c"), schema: 'sa]les', columns: [id] };
const plain: Table = { ...table('orders'), schema: 'dbo', columns: [id] };
const keyless: Table = { ...table('events'), schema: 'dbo', columns: [id], key: [] };
const catalog: Catalog = {
  schema: 'dbo',
  serverVersion: 16,
  types: [],
  sequences: [],
  tables: [plain, hostile, keyless],
};

/** The statements of a trigger body: tokens between BEGIN and END, split at `;`. */
function statements(sql: string): string[] {
  const t = tokenize(sql);
  const begin = find(t, ['AS', 'BEGIN']);
  const body = t.slice(begin + 2, t.length - 1);
  expect(t.at(-1)!.text).toBe('END');
  const out: string[] = [];
  let cur: typeof body = [];
  for (const x of body) {
    if (x.kind === 'symbol' && x.text === ';') {
      out.push(shape(cur));
      cur = [];
    } else cur.push(x);
  }
  expect(cur).toEqual([]);
  return out;
}

describe('the SQL Server write fence', () => {
  it("names ferry's triggers by store and table position, within 128 characters, and tells them from another store's", () => {
    expect(triggerName('ferry_m1', 12)).toBe('ferry_m1_w12');
    expect(
      ownTriggers('ferry_m1', ['ferry_m1_w0', 'ferry_m1_w13', 'ferry_m1_x_w0', 'ferry_m10_w0', 'app_trg']),
    ).toEqual(['ferry_m1_w0', 'ferry_m1_w13']);
    expect(ownTriggers('ferry_a.b', ['ferry_aXb_w0', 'ferry_a.b_w0'])).toEqual(['ferry_a.b_w0']);
    const store = 'f'.repeat(storeNameMax(1000));
    expect(triggerName(store, 999).length).toBe(128);
  });

  it('checks the fence before anything else, and throws only when refusing', () => {
    const sql = triggerDdl('ferry_m', 'shop-v2', 'sa]les', hostile, 1, true);
    const t = tokenize(sql);
    // Created in the table's schema, on the table, after every kind of write.
    expect(names(t).slice(0, 2)).toEqual(['sa]les.ferry_m_w1', "sa]les.a]b'c"]);
    expect(find(t, ['AFTER', 'INSERT', ',', 'UPDATE', ',', 'DELETE', 'AS', 'BEGIN'])).toBeGreaterThan(0);
    const body = statements(sql);
    expect(body[0]).toBe('SET NOCOUNT ON');
    // One indexed read of the fence row, with locking: a SNAPSHOT writer sees a fence raised since it began.
    expect(body[1]).toBe(
      'DECLARE @FENCE VARCHAR ( 8 ) = ( SELECT STATE FROM [] . [] WITH ( READCOMMITTEDLOCK ) WHERE ID = 1 )',
    );
    expect(body[2]).toBe("IF @FENCE = '' THROW 50000 , '' , 1");
    expect(body[3]).toMatch(
      /^IF @FENCE = '' AND NOT EXISTS .* INSERT INTO \[\] \. \[\] \( TBL \) VALUES \( '' \)$/,
    );
    expect(body[4]).toMatch(/^INSERT INTO \[\] \. \[\] \(/);
    expect(body).toHaveLength(5);
    const strings = t.filter((x) => x.kind === 'string').map((x) => x.text);
    expect(strings.slice(0, 2)).toEqual(['refuse', fenceMessage('shop-v2', hostile)]);
    expect(strings[1]).toContain("ferry: sa]les.a]b'c is fenced for the cutover of migration shop-v2");
    expect(strings).toContain('detect');
    expect(strings.filter((s) => s === "sa]les.a]b'c")).toHaveLength(2);
    expect(names(t)).toContain('ferry_m.log_1');
  });

  it('a table only fenced (Standard mode, or not recorded) logs nothing', () => {
    const body = statements(triggerDdl('ferry_m', 'm', 'dbo', plain, 0, false));
    expect(body).toHaveLength(4);
    expect(body.join(' ')).not.toContain('DELETED');
  });

  it('reports missing or disabled triggers and missing TRUNCATE guards, per table', () => {
    const nul = '\u0000';
    const all = {
      triggers: new Set([
        `dbo${nul}orders${nul}ferry_m_w0`,
        `sa]les${nul}a]b'c${nul}ferry_m_w1`,
        `dbo${nul}events${nul}ferry_m_w2`,
      ]),
      guards: new Set([`dbo${nul}orders${nul}guard_0_key`, `sa]les${nul}a]b'c${nul}guard_1_key`]),
    };
    expect(bypassedBy('ferry_m', catalog, all)).toEqual([]);
    const broken = {
      // The trigger of table 0 found on another table is not table 0's.
      triggers: new Set([`dbo${nul}events${nul}ferry_m_w0`, `dbo${nul}events${nul}ferry_m_w2`]),
      guards: new Set([`dbo${nul}orders${nul}guard_0_key`]),
    };
    expect(bypassedBy('ferry_m', catalog, broken)).toEqual([
      'ferry_m_w0 on dbo.orders missing or disabled',
      "ferry_m_w1 on sa]les.a]b'c missing or disabled",
      "ferry_m.guard_1 missing: sa]les.a]b'c can be emptied by TRUNCATE, which fires no trigger",
    ]);
  });

  it("finds other sessions' open write locks on exactly the catalog's tables", () => {
    const t = tokenize(writeHoldersSql(catalog));
    const ids = t.flatMap((x, i) => (x.text === 'OBJECT_ID' ? [t[i + 2]!.text] : []));
    expect(ids.map((s) => names(tokenize(s)))).toEqual([['dbo.orders'], ["sa]les.a]b'c"], ['dbo.events']]);
    const sql = shape(t);
    expect(sql).toContain("L . REQUEST_MODE IN ( '' , '' , '' , '' )");
    expect(t.filter((x) => x.kind === 'string').map((x) => x.text)).toEqual(
      expect.arrayContaining(['IX', 'SIX', 'UIX', 'X', 'GRANT', 'OBJECT']),
    );
    expect(sql).toContain('L . REQUEST_SESSION_ID <> @@SPID');
    expect(sql).toContain('SYS . DM_TRAN_SESSION_TRANSACTIONS');
  });

  it('ends only sessions named by a positive integer', () => {
    expect(killSql('57')).toBe('KILL 57');
    for (const bad of ['', '0', '-1', '1.5', '57; DROP TABLE x', '57 ', 'abc', '99999999999', '2147483648'])
      expect(killSql(bad)).toBeUndefined();
  });
});

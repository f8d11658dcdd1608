import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import type { Column, Table } from '../../catalog/types.ts';
import type { Range } from '../../plan/chunks.ts';
import { column as plainColumn, table as plainTable } from '../../../test/support/catalog.ts';
import { pausableRows } from '../../../test/support/mssql-session.ts';
import type { MssqlColumn, MssqlColumnInfo } from './column.ts';
import type { RowSink } from './connect.ts';
import { rowEncoder } from './encode.ts';
import {
  boundariesSql,
  chunkSql,
  firstReadSql,
  holdSql,
  keyLiteral,
  rangePredicate,
  readRows,
  snapshotSteps,
} from './read.ts';

const HOSTILE = 'x]; DROP TABLE victim; --';

const column = (name: string, type: string, encoding: MssqlColumnInfo['encoding']): MssqlColumn => ({
  ...plainColumn(name),
  mssql: {
    type: { name: type, alias: null, maxLength: 8, precision: 0, scale: 0, collation: null, codePage: null },
    encoding,
  },
});

const table = (name: string, columns: Column[]): Table =>
  plainTable(name, { columns, key: [columns[0]!.name] });

const keyRange = (column: string, lo: string | null, hi: string | null): Range => ({
  kind: 'key',
  column,
  type: 'bigint',
  lo,
  hi,
  portable: true,
});

/** The bracket-quoted names of a T-SQL text, unquoted, and the text with them blanked out. */
function names(sql: string): { names: string[]; rest: string } {
  const found: string[] = [];
  const rest = sql.replace(/\[((?:[^\]]|\]\])*)\]/g, (_, inner: string) => {
    found.push(inner.replaceAll(']]', ']'));
    return '[]';
  });
  return { names: found, rest };
}

describe('the SQL Server snapshot', () => {
  it('quotes hostile schema and table names so nothing of them runs as SQL', () => {
    for (const sql of [
      holdSql({ schema: HOSTILE, name: `a[b]]c` }),
      firstReadSql({ schema: HOSTILE, name: 'a[b]]c' }),
    ]) {
      const { names: got, rest } = names(sql);
      expect(got).toEqual([HOSTILE, 'a[b]]c']);
      expect(rest).not.toMatch(/DROP|victim|--/);
    }
  });

  it('holds every table before any reader begins, and releases only after every reader has read', () => {
    const tables = [
      { schema: 'sales', name: 'orders' },
      { schema: 'dbo', name: 'b' },
      { schema: 'dbo', name: 'a' },
    ];
    const steps = snapshotSteps(tables, 30);
    const holds = steps.filter((s) => s.sql.includes('TABLOCK'));
    // Every table held, each with a lock kept to the end of the transaction, in one fixed order.
    expect(holds.map((s) => names(s.sql).names)).toEqual([
      ['dbo', 'a'],
      ['dbo', 'b'],
      ['sales', 'orders'],
    ]);
    for (const h of holds) {
      expect(h.on).toBe('coordinator');
      expect(h.sql).toMatch(/WITH \(TABLOCK, HOLDLOCK\)/);
      // A read the optimizer cannot turn into a constant scan (which would lock nothing).
      expect(h.sql).not.toMatch(/1\s*=\s*0|TOP \(0\)/);
    }
    const at = (re: RegExp, on: 'coordinator' | 'readers') =>
      steps.findIndex((s) => s.on === on && re.test(s.sql));
    const lockWait = at(/^SET LOCK_TIMEOUT 30000$/, 'coordinator');
    const begin = at(/^BEGIN TRANSACTION$/, 'coordinator');
    const lastHold = steps.indexOf(holds[holds.length - 1]!);
    const isolation = at(/^SET TRANSACTION ISOLATION LEVEL SNAPSHOT$/, 'readers');
    const readerBegin = at(/^BEGIN TRANSACTION$/, 'readers');
    const firstRead = at(/FROM \[/, 'readers');
    const release = at(/^COMMIT$/, 'coordinator');
    expect(lockWait).toBeGreaterThanOrEqual(0);
    const order = [
      lockWait,
      begin,
      steps.indexOf(holds[0]!),
      lastHold,
      isolation,
      readerBegin,
      firstRead,
      release,
    ];
    expect(order).toEqual(order.toSorted((a, b) => a - b));
    expect(begin).toBeLessThan(steps.indexOf(holds[0]!));
    expect(release).toBe(steps.length - 1);
    // The reader's first statement reads a migrated table, without hints that would skip versioning.
    const read = steps[firstRead]!.sql;
    expect(tables.map((t) => [t.schema, t.name])).toContainEqual(names(read).names);
    expect(read).not.toMatch(/WITH \(|NOLOCK|TOP \(0\)/);
  });

  it('opens nothing when no table is migrated', () => {
    expect(snapshotSteps([], 30)).toEqual([]);
  });
});

describe('a chunk of a SQL Server table', () => {
  const id = column('id', 'bigint', 'bigint');
  const t = table('t', [id, column('when', 'datetime2', 'timestamp'), column('n', 'nvarchar', 'text')]);

  it('filters [lo, hi) on the key, with open ends', () => {
    expect(rangePredicate(t, null)).toBe('');
    expect(rangePredicate(t, keyRange('id', null, null))).toBe('');
    expect(rangePredicate(t, keyRange('id', '-9223372036854775808', null))).toBe(
      'WHERE [id] >= -9223372036854775808',
    );
    expect(rangePredicate(t, keyRange('id', null, '9223372036854775807'))).toBe(
      'WHERE [id] < 9223372036854775807',
    );
    expect(rangePredicate(t, keyRange('id', '10', '20'))).toBe('WHERE [id] >= 10 AND [id] < 20');
  });

  it('reads each bound as a value of the key column type, quoted where it is text', () => {
    const when = t.columns[1]!;
    const lit = keyLiteral(when, '2024-02-29 12:34:56.1234567');
    expect(lit).toBe("CONVERT(datetime2(7), N'2024-02-29 12:34:56.1234567', 121)");
    const n = t.columns[2]!;
    const text = keyLiteral(n, "it's ]; DROP TABLE victim; --");
    // One literal: the quote doubled, nothing after its end.
    expect(text).toMatch(/^N'(?:[^']|'')*'$/);
    expect(text.slice(2, -1).replaceAll("''", "'")).toBe("it's ]; DROP TABLE victim; --");
    expect(() => keyLiteral(id, '1; DROP TABLE victim')).toThrow(/not a number/);
    // Logged keys of any key type read back (rows by key), each in the column's own type.
    expect(keyLiteral(column('u', 'uniqueidentifier', 'uuid'), '6f9619ff-8b86-d011-b42d-00c04fc964ff')).toBe(
      "CONVERT(uniqueidentifier, N'6f9619ff-8b86-d011-b42d-00c04fc964ff')",
    );
    expect(keyLiteral(column('b', 'varbinary', 'bytea'), '\\x00ff')).toBe('0x00ff');
    expect(() => keyLiteral(column('b', 'varbinary', 'bytea'), "\\x00'; --")).toThrow(/not bytea text/);
    expect(keyLiteral(column('f', 'bit', 'boolean'), 't')).toBe('1');
    // A bit a rule maps to an integer type: its key text is a digit.
    expect(keyLiteral(column('f', 'bit', 'integer'), '1')).toBe('1');
    expect(keyLiteral(column('f', 'bit', 'integer'), '0')).toBe('0');
    expect(() => keyLiteral(column('f', 'bit', 'boolean'), 'true')).toThrow(/not a bit/);
    expect(keyLiteral(column('o', 'datetimeoffset', 'timestamptz'), '2024-01-01 10:00:00.5+00')).toBe(
      "CONVERT(datetimeoffset(7), N'2024-01-01 10:00:00.5+00:00', 121)",
    );
    expect(() => keyLiteral(column('x', 'xml', 'xml'), '<a/>')).toThrow(/cannot be read back/);
    expect(() => rangePredicate(t, { kind: 'ctid', loPage: 1, hiPage: 2 })).toThrow(/no ctid ranges/);
  });

  it('quotes a hostile key column in the filter and the boundaries query', () => {
    const k = column(HOSTILE, 'int', 'integer');
    const h = table(HOSTILE, [k]);
    const { names: got, rest } = names(rangePredicate(h, keyRange(HOSTILE, '1', '2')));
    expect(got).toEqual([HOSTILE, HOSTILE]);
    expect(rest).not.toMatch(/DROP|victim|--/);
    const nv = table(HOSTILE, [column(HOSTILE, 'nvarchar', 'text')]);
    const sql = boundariesSql(HOSTILE, nv, HOSTILE, 4)!;
    expect(names(sql).rest).not.toMatch(/DROP|victim|--/);
    expect(sql).toContain('NTILE(4)');
  });

  it('cuts only keys whose order the range predicate shares: not uniqueidentifier, varchar or float', () => {
    const cut: [string, MssqlColumnInfo['encoding'], boolean][] = [
      ['uniqueidentifier', 'uuid', false],
      ['varchar', 'text', false],
      ['float', 'float8', false],
      ['varbinary', 'bytea', false],
      ['decimal', 'decimal', true],
      ['money', 'money', true],
      ['date', 'date', true],
      ['datetime', 'timestamp', true],
      ['nvarchar', 'text', true],
    ];
    for (const [type, enc, tiles] of cut) {
      const sql = boundariesSql('dbo', table('t', [column('k', type, enc)]), 'k', 4);
      if (tiles) expect(sql, type).toMatch(/NTILE\(4\)/);
      else expect(sql, type).toBeUndefined();
    }
  });

  it('selects the columns asked for from the schema given, filtered by the range', () => {
    const sql = chunkSql('sales', t, ['id', 'n'], keyRange('id', '5', null));
    expect(sql).toMatch(/^SELECT .* FROM \[sales\]\.\[t\] WHERE \[id\] >= 5$/);
    expect(sql).toContain('[n]');
    expect(sql).not.toContain('[when]');
  });
});

/**
 * A session whose statement hands `count` rows to the sink, and stops while the request is paused
 * (as tedious does between pause() and resume()).
 */
function fakeSession(count: number) {
  const seen = { pauses: 0, produced: 0 };
  const session = {
    stream: (_sql: string, _params: readonly unknown[], sink: RowSink) =>
      pausableRows(
        sink,
        () => (seen.produced < count ? [String(++seen.produced)] : undefined),
        () => seen.pauses++,
      ),
  };
  return { session, seen };
}

describe('readRows', () => {
  it('pauses the request while the consumer lags and delivers every row once, in order', async () => {
    const c = column('id', 'bigint', 'bigint');
    const t = table('t', [c]);
    const count = 200_000;
    const { session, seen } = fakeSession(count);
    const encode = rowEncoder([c], 't', { zeroDates: 'Refuse', invalidCharacters: 'Refuse' });
    let out = '';
    let ahead = 0;
    const slow = new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _enc, done) {
        out += chunk.toString('utf8');
        ahead = Math.max(ahead, seen.produced - out.split('\n').length);
        setImmediate(done);
      },
    });
    await pipeline(
      readRows(session, 'SELECT', t, 'dbo', ['id'], {
        conversion: { zeroDates: 'Refuse', invalidCharacters: 'Refuse' },
      }),
      slow,
    );
    expect(seen.pauses).toBeGreaterThan(0);
    // Never more than the stream's buffer (256 KiB) and a piece ahead of the consumer.
    expect(ahead).toBeLessThan(100_000);
    const expected = Array.from({ length: count }, (_, i) => encode([String(i + 1)])).join('');
    expect(out).toBe(expected);
  });

  it('ends the stream with the error a value is refused with', async () => {
    const c = column('n', 'nvarchar', 'text');
    const { session } = fakeSession(10);
    const rows = readRows(
      {
        stream: (sql, params, sink) =>
          session.stream(sql, params, { row: (_v, r) => sink.row(['a\u0000b'], r) }),
      },
      'SELECT',
      table('t', [c]),
      'dbo',
      ['n'],
      { conversion: { zeroDates: 'Refuse', invalidCharacters: 'Refuse' } },
    );
    await expect(pipeline(rows, new Writable({ write: (_c, _e, done) => done() }))).rejects.toThrow(/\bn\b/);
  });
});

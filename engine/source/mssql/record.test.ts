import { describe, expect, it } from 'vitest';
import { table } from '../../../test/support/catalog.ts';
import { find, group, mssqlColumn, names, shape, tokenize } from '../../../test/support/mssql-sql.ts';
import type { Table } from '../../catalog/types.ts';
import { columnTypeSql, guardDdl, logTableDdl, recordSql } from './record.ts';

const id = mssqlColumn('id', { name: 'bigint', maxLength: 8, precision: 19 }, 'bigint');
const code = mssqlColumn(
  'co]de',
  { name: 'nvarchar', maxLength: 80, precision: 0, collation: 'Latin1_General_CI_AS' },
  'text',
);
const at = mssqlColumn('at', { name: 'datetime2', maxLength: 8, precision: 27, scale: 7 }, 'timestamp');
const amount = mssqlColumn('amount', { name: 'decimal', maxLength: 17, precision: 38, scale: 10 }, 'decimal');

/** A table keyed by (co]de, id, at): text with a case-insensitive collation, bigint, datetime2. */
const orders: Table = {
  ...table("or'ders]x"),
  columns: [id, code, at, amount],
  key: ['co]de', 'id', 'at'],
};

describe('SQL Server change logs', () => {
  it("declares a key column's copy with the table's type, size and collation", () => {
    expect(columnTypeSql(code.mssql.type)).toBe('nvarchar(40) COLLATE Latin1_General_CI_AS');
    expect(columnTypeSql({ ...code.mssql.type, name: 'varbinary', maxLength: -1, collation: null })).toBe(
      'varbinary(max)',
    );
    expect(columnTypeSql(amount.mssql.type)).toBe('decimal(38, 10)');
    expect(columnTypeSql(at.mssql.type)).toBe('datetime2(7)');
    expect(columnTypeSql({ ...id.mssql.type, name: 'timestamp' })).toBe('binary(8)');
    expect(() => columnTypeSql({ ...code.mssql.type, collation: 'x; DROP TABLE t' })).toThrow(/collation/);
    expect(() => columnTypeSql({ ...code.mssql.type, name: 'int)--' })).toThrow(/type name/);
  });

  it('logs a composite key of mixed types in a table of the shadow schema, with an identity id and the time', () => {
    const t = tokenize(logTableDdl('ferry_m]1', orders, 3));
    expect(names(t)[0]).toBe('ferry_m]1.log_3');
    const cols = group(t, find(t, ['(']));
    const text = cols.map((x) => x.text).join(' ');
    expect(text).toContain('ID BIGINT IDENTITY ( 1 , 1 ) NOT NULL PRIMARY KEY');
    expect(text).toContain('k0 NVARCHAR ( 40 ) COLLATE LATIN1_GENERAL_CI_AS NOT NULL');
    expect(text).toContain('k1 BIGINT NOT NULL');
    expect(text).toContain('k2 DATETIME2 ( 7 ) NOT NULL');
    expect(text).toContain('at DATETIME2 ( 7 ) NOT NULL DEFAULT SYSUTCDATETIME ( )');
    // The amount is no key: the log holds keys only.
    expect(text).not.toContain('DECIMAL');
  });

  it("guards TRUNCATE with a foreign key referencing exactly the table's key columns, in key order", () => {
    const t = tokenize(guardDdl('ferry_m', 'sa]les', orders, 3));
    expect(names(t)[0]).toBe('ferry_m.guard_3');
    const fk = find(t, ['FOREIGN', 'KEY']);
    expect(t[fk - 1]).toEqual({ kind: 'ident', text: 'guard_3_key' });
    expect(group(t, fk + 2).map((x) => x.text)).toEqual(['k0', ',', 'k1', ',', 'k2']);
    const ref = find(t, ['REFERENCES']);
    expect(`${t[ref + 1]!.text}.${t[ref + 3]!.text}`).toBe("sa]les.or'ders]x");
    expect(
      group(t, ref + 4)
        .filter((x) => x.kind === 'ident')
        .map((x) => x.text),
    ).toEqual(['co]de', 'id', 'at']);
    // The guard's columns have the key's types (a foreign key needs them equal, collation included).
    const cols = group(t, find(t, ['(']));
    expect(cols.map((x) => x.text).join(' ')).toContain(
      'k0 NVARCHAR ( 40 ) COLLATE LATIN1_GENERAL_CI_AS NOT NULL',
    );
  });

  it('logs every old key and every new key that is not byte for byte an old one (a key update logs both)', () => {
    const sql = recordSql('ferry_m', orders, 3);
    const t = tokenize(sql);
    expect(names(t)[0]).toBe('ferry_m.log_3');
    const from = t.flatMap((x, i) => (x.text === 'FROM' ? [t[i + 1]!.text] : []));
    expect(from).toEqual(['DELETED', 'INSERTED', 'DELETED']);
    // Every old key, unfiltered.
    expect(shape(t.slice(find(t, ['FROM', 'DELETED']), find(t, ['UNION', 'ALL'])))).toBe('FROM DELETED AS O');
    const notExists = find(t, ['NOT', 'EXISTS']);
    expect(notExists).toBeGreaterThan(find(t, ['FROM', 'INSERTED']));
    const cond = group(t, notExists + 2)
      .map((x) => (x.kind === 'ident' ? `[${x.text}]` : x.text))
      .join(' ');
    // Text compares by bytes and length ('a' is not 'A', 'a' is not 'a '); other types by value.
    expect(cond).toContain(
      'CONVERT ( VARBINARY ( 8000 ) , O . [co]de] ) = CONVERT ( VARBINARY ( 8000 ) , N . [co]de] ) AND DATALENGTH ( O . [co]de] ) = DATALENGTH ( N . [co]de] )',
    );
    expect(cond).toContain('O . [id] = N . [id]');
    expect(cond).toContain('O . [at] = N . [at]');
    expect(cond).not.toContain('DATALENGTH ( O . [id] )');
  });
});

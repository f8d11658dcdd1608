import { describe, expect, it } from 'vitest';
import {
  ExpressionError,
  translateCondition,
  translateDefault,
  translateExpression,
  type ColumnRef,
} from './expression.ts';

const columns = new Map<string, ColumnRef>([
  ['qty', { kind: 'int' }],
  ['price', { kind: 'num' }],
  ['fee', { kind: 'num', money: true }],
  ['a]b', { kind: 'int' }],
  ['Mixed Case', { kind: 'int' }],
  ['flag', { kind: 'bool' }],
  ['first', { kind: 'string' }],
  ['last', { kind: 'string' }],
  ['code', { kind: 'string' }],
  ['title', { kind: 'string', utf16Units: true }],
  ['deleted_at', { kind: 'time' }],
  ['starts', { kind: 'time' }],
  ['id', { kind: 'uuid' }],
  ['blob', { kind: 'binary' }],
]);

describe('SQL Server expressions for PostgreSQL', () => {
  it('translates conditions as sys.check_constraints and filter_definition render them', () => {
    const cases: [string, string][] = [
      ['([qty]>(0))', '"qty" > 0'],
      ['([qty]>=(1) AND [qty]<=(10))', '("qty" >= 1) AND ("qty" <= 10)'],
      ['([deleted_at] IS NULL)', '"deleted_at" IS NULL'],
      ['([first] IS NOT NULL AND [qty]<>(3))', '("first" IS NOT NULL) AND ("qty" <> 3)'],
      ['([qty]=(2) OR [qty]=(1))', '("qty" = 2) OR ("qty" = 1)'],
      ['([flag]=(1))', '"flag" = true'],
      ['((0)=[flag])', 'false = "flag"'],
      ['([a]]b]<(5) AND [Mixed Case]!=(1))', '("a]b" < 5) AND ("Mixed Case" <> 1)'],
      ['([qty]!<(0))', '"qty" >= 0'],
      ['([qty] IN ((1), (2), (3)))', '"qty" IN (1, 2, 3)'],
      ['([qty] NOT BETWEEN (1) AND (10))', '"qty" NOT BETWEEN 1 AND 10'],
      ['(NOT [qty]>(0))', 'NOT ("qty" > 0)'],
      ['([price]*[qty]>(0.5))', '("price" * "qty") > 0.5'],
      ['([qty]-(-1)>(0))', '("qty" - (-1)) > 0'],
      ['([qty]%(2)=(0))', '("qty" % 2) = 0'],
      ["([starts]>='2020-01-01')", '"starts" >= \'2020-01-01\''],
      ['([starts]<[deleted_at])', '"starts" < "deleted_at"'],
      ["([id]<>'6F9619FF-8B86-D011-B42D-00C04FC964FF')", '"id" <> \'6F9619FF-8B86-D011-B42D-00C04FC964FF\''],
      ['(len([code])>(0))', 'char_length(rtrim("code")) > 0'],
      ['(abs([price])<=(100))', 'abs("price") <= 100'],
      ['([fee]+(1)>=(0))', '("fee" + 1) >= 0'],
      ['(isnull([qty],(0))>(0))', 'coalesce("qty", 0) > 0'],
    ];
    for (const [tsql, pg] of cases) expect(translateCondition(tsql, columns), tsql).toBe(pg);
  });

  it('translates computed columns with their kind', () => {
    expect(translateExpression('([price]*[qty])', columns)).toEqual({
      sql: '"price" * "qty"',
      kind: 'num',
      volatile: false,
    });
    // `+` of two strings is concatenation; of numbers, addition.
    expect(translateExpression("(([first]+N' ')+[last])", columns).sql).toBe('("first" || \' \') || "last"');
    expect(translateExpression('([qty]+(1))', columns)).toMatchObject({ sql: '"qty" + 1', kind: 'int' });
    expect(translateExpression('([qty]/(2))', columns).sql).toBe('"qty" / 2');
    expect(translateExpression('(getdate())', columns)).toMatchObject({ kind: 'time', volatile: true });
  });

  it('translates defaults for the column they belong to', () => {
    const int: ColumnRef = { kind: 'int' };
    const cases: [string, ColumnRef, string | null][] = [
      ['((0))', int, '0'],
      ['((-1))', int, '-1'],
      ['(-(1))', int, '-1'],
      ['((1.5))', { kind: 'num' }, '1.5'],
      ['((0))', { kind: 'num' }, '0'],
      ["(N'abc')", { kind: 'string' }, "'abc'"],
      ["('it''s')", { kind: 'string' }, "'it''s'"],
      ["('')", { kind: 'string' }, "''"],
      ['(NULL)', int, null],
      ['((1))', { kind: 'bool' }, 'true'],
      ['((0))', { kind: 'bool' }, 'false'],
      ['(CONVERT([bit],(0)))', { kind: 'bool' }, 'false'],
      ['(CONVERT([bit],(1)))', { kind: 'bool' }, 'true'],
      ['(CONVERT([decimal](10,2),(0)))', { kind: 'num' }, '0'],
      ['(getdate())', { kind: 'time' }, 'LOCALTIMESTAMP'],
      ['(sysdatetime())', { kind: 'time' }, 'LOCALTIMESTAMP'],
      ['(getutcdate())', { kind: 'time' }, "timezone('UTC', now())"],
      ['(sysdatetimeoffset())', { kind: 'time' }, 'CURRENT_TIMESTAMP'],
      ["('2020-01-01')", { kind: 'time' }, "'2020-01-01'"],
      ['(newid())', { kind: 'uuid' }, 'gen_random_uuid()'],
      ['(0x0A0b)', { kind: 'binary' }, "'\\x0a0b'::bytea"],
    ];
    for (const [tsql, target, pg] of cases) expect(translateDefault(tsql, target), tsql).toBe(pg);
    const sequences = (schema: string | null, name: string) =>
      schema === 'dbo' && name === 'order no' ? '"order no"' : undefined;
    expect(translateDefault('(NEXT VALUE FOR [dbo].[order no])', int, sequences)).toBe(
      `nextval('"order no"'::regclass)`,
    );
  });

  it('refuses what compares, converts or computes otherwise on PostgreSQL, naming why', () => {
    const refused: [string, RegExp][] = [
      ["([code]<>N'x')", /compares strings: .*collation/],
      ["([code]='A' OR [code]='B')", /compares strings/],
      ["([code] IN ('a', 'b'))", /compares strings/],
      ["([code] like 'A%')", /LIKE .*collation.*\[\.\.\.\] classes/],
      ['([first]>[last])', /compares strings/],
      ['([price]/(2))', /scales decimal \/ differently/],
      ['([fee]*[qty]>(0))', /rounds money products/],
      ['([flag]=(1) AND [flag]>(0))', /bit value compared with 0/],
      // SQL Server compares the bit as the number: never equal to 2.
      ['([flag]=(2))', /bit value compared with 2/],
      ['([deleted_at]+(1)>(0))', /arithmetic on other than numbers/],
      ['([first]+(1))', /mixes a string with another type/],
      ['([qty]&(1))', /operator & has no exact PostgreSQL twin/],
      ['(datediff(day,[starts],[deleted_at])>(0))', /day has no exact PostgreSQL twin/],
      ['(upper([code])=[code])', /function upper\(\) has no exact PostgreSQL twin/],
      ['(CONVERT([varchar](10),[starts],(120)))', /with a style has no exact PostgreSQL twin/],
      ['(CONVERT([int],(1.5)))', /CONVERT\(int, 1\.5\)|convert\(int, 1\.5\)/],
      ['(len([title])>(0))', /UTF-16 code units/],
      ['([nope]>(0))', /unknown column nope/],
      ['(CASE WHEN [qty]>(0) THEN (1) ELSE (0) END)', /CASE has no exact PostgreSQL twin/],
      ["([starts]>'01/02/2020')", /converts the string by its own rules/],
      ['([blob]=0x00)', /does not compare the same/],
      ['([qty]>(0)', /expected \)/],
    ];
    for (const [tsql, why] of refused) {
      expect(() => translateCondition(tsql, columns), tsql).toThrow(ExpressionError);
      expect(() => translateCondition(tsql, columns), tsql).toThrow(why);
    }
    expect(() => translateCondition('([qty]+(1))', columns)).toThrow(/is not a condition/);
  });

  it('refuses defaults of another kind than their column, and unknown sequences', () => {
    expect(() => translateDefault('((2))', { kind: 'string' })).toThrow(/a int value for a string column/);
    expect(() => translateDefault("('01/02/2020')", { kind: 'time' })).toThrow(ExpressionError);
    expect(() => translateDefault('(newsequentialid())', { kind: 'uuid' })).toThrow(/newsequentialid\(\)/);
    expect(() => translateDefault('(suser_sname())', { kind: 'string' })).toThrow(/suser_sname\(\)/);
    expect(() => translateDefault('(NEXT VALUE FOR [other].[seq])', { kind: 'int' })).toThrow(
      /sequence other\.seq is not migrated/,
    );
  });
});

import { describe, expect, it } from 'vitest';
import { ExpressionError, translateExpression, unquoteString } from './expression.ts';

describe('MySQL expressions for PostgreSQL', () => {
  it('rewrites column references, literals, comparisons, logic and known functions', () => {
    const cases: [string, string][] = [
      ['`n` > 0 and `n` < 100', '"n" > 0 AND "n" < 100'],
      ['`b` in (0,1)', '"b" IN (0, 1)'],
      ['`n` * 2 + 1', '"n" * 2 + 1'],
      ['(1 + 2)', '(1 + 2)'],
      ["concat(`a`,'-',`B c`)", 'concat("a", \'-\', "B c")'],
      ["`s` <> 'it''s' or `s` is null", '"s" <> \'it\'\'s\' OR "s" IS NULL'],
      ['`x` != 1 and not (`y` between 1 and 5)', '"x" <> 1 AND NOT ("y" BETWEEN 1 AND 5)'],
      ['current_timestamp(3)', 'CURRENT_TIMESTAMP(3)'],
      ['current_timestamp()', 'CURRENT_TIMESTAMP'],
      ['CURRENT_TIMESTAMP', 'CURRENT_TIMESTAMP'],
      ['curdate()', 'CURRENT_DATE'],
      ['char_length(`name`) > 2', 'char_length("name") > 2'],
      ['length(`b`)', 'octet_length("b")'],
      ['-1.5e3', '- 1.5e3'],
    ];
    for (const [mysql, pg] of cases) expect(translateExpression(mysql), mysql).toBe(pg);
  });

  it('refuses what means something else in PostgreSQL, or has no twin', () => {
    const refused: [string, RegExp][] = [
      ['`a` / 2', /operator \/ has no exact PostgreSQL twin/],
      ['`a` || `b`', /operator \|\|/],
      ['`a` div 2', /div has no exact PostgreSQL twin/],
      ['uuid()', /function uuid\(\) has no exact PostgreSQL twin/],
      ['`a` <=> NULL', /operator <=>/],
      ["json_extract(`j`, '$.a')", /function json_extract\(\)/],
    ];
    for (const [mysql, why] of refused) {
      expect(() => translateExpression(mysql), mysql).toThrow(ExpressionError);
      expect(() => translateExpression(mysql), mysql).toThrow(why);
    }
    const columns = new Map([
      ['a', null],
      ['flag', 'column flag becomes boolean on PostgreSQL'],
    ]);
    expect(translateExpression('`a` > 1', columns)).toBe('"a" > 1');
    expect(() => translateExpression('`other` > 1', columns)).toThrow('unknown column other');
    expect(() => translateExpression('`flag` in (0,1)', columns)).toThrow(
      'column flag becomes boolean on PostgreSQL',
    );
  });

  it('reads MySQL string literals: doubled quotes and backslash escapes', () => {
    expect(unquoteString("'it''s a\\\\b\\n'")).toEqual({ value: "it's a\\b\n", end: 14 });
  });
});

import { describe, expect, it } from 'vitest';
import { columnList, qualified, quoteIdent, quoteLiteral } from './ident.ts';

describe('identifier quoting', () => {
  it('quotes every identifier and doubles embedded quotes', () => {
    expect(quoteIdent('Order')).toBe('"Order"');
    expect(quoteIdent('select')).toBe('"select"');
    expect(quoteIdent('we"ird name')).toBe('"we""ird name"');
    expect(qualified('My Schema', 't')).toBe('"My Schema"."t"');
    expect(columnList(['a', 'B'])).toBe('"a", "B"');
  });
  it('quotes literals and refuses NUL bytes', () => {
    expect(quoteLiteral("it's")).toBe("'it''s'");
    expect(() => quoteIdent('a\0b')).toThrow(/NUL/);
  });
});

import { describe, expect, it } from 'vitest';
import { find, names, shape, tokenize } from '../../../test/support/mssql-sql.ts';
import { publicGrantsDdl, shadowOwnership, storeDdl } from './store.ts';

describe("ferry's state store on SQL Server", () => {
  it("is owned by the migrated schemas' owner where ferry may (ownership chaining), else granted to PUBLIC", () => {
    expect(shadowOwnership(['dbo'], 'ferry', true)).toEqual({ authorization: 'dbo' });
    expect(shadowOwnership(['app', 'app'], 'app', false)).toEqual({ authorization: 'app' });
    // Two owners: no single owner keeps every chain unbroken.
    expect(shadowOwnership(['dbo', 'sales'], 'ferry', true)).toEqual({ grantPublic: true });
    // Not that owner and no CONTROL on the database: it may not create a schema for it.
    expect(shadowOwnership(['dbo'], 'ferry', false)).toEqual({ grantPublic: true });
    expect(shadowOwnership([], 'ferry', true)).toEqual({ grantPublic: true });
  });

  it('creates the schema for that owner, and a state table keyed by bytes, whatever the names', () => {
    const [schema, state] = storeDdl("ferry_a]b'c", { authorization: "o]w'ner" });
    const s = tokenize(schema!);
    expect(shape(s)).toBe('CREATE SCHEMA [] AUTHORIZATION []');
    expect(names(s)).toEqual(["ferry_a]b'c", "o]w'ner"]);
    expect(shape(tokenize(storeDdl('ferry_m', { grantPublic: true })[0]!))).toBe('CREATE SCHEMA []');
    const t = tokenize(state!);
    expect(names(t)[0]).toBe("ferry_a]b'c.state");
    expect(shape(t)).toContain('K NVARCHAR ( 64 ) COLLATE LATIN1_GENERAL_BIN2 NOT NULL PRIMARY KEY');
    expect(shape(t)).toContain('V NVARCHAR ( MAX ) NOT NULL');
  });

  it('grants PUBLIC exactly what the triggers do: read the fence, note writes, append to the logs', () => {
    const grants = publicGrantsDdl('ferry_m', [0, 4]).map(tokenize);
    expect(grants.map((g) => [shape(g.slice(0, find(g, ['ON']))), names(g)[0]])).toEqual([
      ['GRANT SELECT', 'ferry_m.fence'],
      ['GRANT SELECT , INSERT', 'ferry_m.writes_seen'],
      ['GRANT INSERT', 'ferry_m.log_0'],
      ['GRANT INSERT', 'ferry_m.log_4'],
    ]);
    for (const g of grants) expect(shape(g).endsWith('TO PUBLIC')).toBe(true);
  });
});

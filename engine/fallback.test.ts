import { describe, expect, it } from 'vitest';
import { targetCleanup, type TargetFacts } from './fallback.ts';
import type { Created } from './phases/preprocessing.ts';
import type { Owner } from './state/owner.ts';

const owner: Owner = {
  namespace: 'a',
  name: 'shop',
  uid: 'u1',
  source: 's:5432/app',
  sourceSchema: 'shop',
  target: 't:5432/app',
  targetSchema: 'shop',
};
const created: Created = {
  targetSchemaCreated: true,
  tables: ['orders'],
  sequences: ['seq'],
  types: ['mood'],
};
const facts = (f: Partial<TargetFacts> = {}): TargetFacts => ({
  bookkeeping: owner,
  targetSchema: owner,
  strangers: [],
  ...f,
});
const cleanup = (c: Created | null, f: TargetFacts) => targetCleanup(owner, c, f, 'shop', 'ferry_shop');
const objectsOnly = [
  'DROP SCHEMA "ferry_shop" CASCADE',
  'DROP TABLE IF EXISTS "shop"."orders" CASCADE',
  'DROP SEQUENCE IF EXISTS "shop"."seq" CASCADE',
  'DROP TYPE IF EXISTS "shop"."mood" CASCADE',
];

describe('fallback on the target', () => {
  it('drops the target schema whole only when ferry made it, for this owner, and it holds nothing else', () => {
    expect(cleanup(created, facts())).toEqual({
      statements: ['DROP SCHEMA "ferry_shop" CASCADE', 'DROP SCHEMA IF EXISTS "shop" CASCADE'],
      dropped: ['target bookkeeping ferry_shop', 'target schema shop'],
    });
    for (const f of [
      facts({ targetSchema: null }),
      facts({ targetSchema: { ...owner, namespace: 'b' } }),
      facts({ targetSchema: { legacy: true, name: 'shop' } }),
      facts({ strangers: ['table shop.mine'] }),
    ])
      expect(cleanup(created, f)).toMatchObject({ statements: objectsOnly });
    expect(cleanup({ ...created, targetSchemaCreated: false }, facts())).toMatchObject({
      statements: objectsOnly,
    });
  });

  it("refuses when the bookkeeping schema is someone else's or not ferry's", () => {
    expect(cleanup(created, facts({ bookkeeping: { ...owner, uid: 'u2' } }))).toEqual({
      refuse: expect.stringMatching(
        /ferry_shop is not the bookkeeping of migration a\/shop \(uid u1\) \(it belongs to migration a\/shop \(uid u2\)\); nothing dropped/,
      ),
    });
    expect(cleanup(created, facts({ bookkeeping: null }))).toEqual({
      refuse: expect.stringMatching(/carries no ferry marker/),
    });
  });

  it('touches nothing on the target when the bookkeeping never committed (or PostProcessing removed it)', () => {
    expect(cleanup(created, facts({ bookkeeping: undefined }))).toEqual({ statements: [], dropped: [] });
  });

  it('drops only the bookkeeping when nothing was recorded as created', () => {
    expect(cleanup(null, facts())).toEqual({
      statements: ['DROP SCHEMA "ferry_shop" CASCADE'],
      dropped: ['target bookkeeping ferry_shop'],
    });
  });
});

describe('fallback of the objects ferry created besides tables', () => {
  const withObjects: Created = {
    targetSchemaCreated: false,
    tables: ['orders'],
    sequences: [],
    types: ['mood'],
    objects: {
      views: [
        { name: 'm', materialized: true },
        { name: 'v', materialized: false },
      ],
      functions: [{ kind: 'procedure' as const, signature: 'p(mood)' }],
      collations: ['plain'],
      extensions: ['citext'],
    },
  };

  it('drops exactly what ferry created: views first, routines before types, extensions it created last', () => {
    expect(cleanup(withObjects, facts())).toMatchObject({
      statements: [
        'DROP SCHEMA "ferry_shop" CASCADE',
        'SET LOCAL search_path = "shop"',
        'DROP VIEW IF EXISTS "shop"."v" CASCADE',
        'DROP MATERIALIZED VIEW IF EXISTS "shop"."m" CASCADE',
        'DROP TABLE IF EXISTS "shop"."orders" CASCADE',
        'DROP PROCEDURE IF EXISTS "shop".p(mood) CASCADE',
        'DROP TYPE IF EXISTS "shop"."mood" CASCADE',
        'DROP COLLATION IF EXISTS "shop"."plain"',
        'DROP EXTENSION IF EXISTS "citext"',
      ],
    });
  });

  it('drops a schema it created, and the extensions it created elsewhere', () => {
    expect(cleanup({ ...withObjects, targetSchemaCreated: true }, facts())).toMatchObject({
      statements: [
        'DROP SCHEMA "ferry_shop" CASCADE',
        'DROP SCHEMA IF EXISTS "shop" CASCADE',
        'DROP EXTENSION IF EXISTS "citext"',
      ],
      dropped: ['target bookkeeping ferry_shop', 'target schema shop', 'target extension citext'],
    });
  });
});

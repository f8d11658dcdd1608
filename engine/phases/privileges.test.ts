import { describe, expect, it } from 'vitest';
import {
  missingGrants,
  privilegeError,
  sequenceNeeds,
  sourceNeeds,
  targetNeeds,
  type Held,
  type Need,
  type Privilege,
} from './privileges.ts';

const holding = (needs: Need[], held: (n: Need) => Privilege[]): Held[] =>
  needs.map((n) => ({ ...n, held: held(n) }));

describe('privileges the migration role needs', () => {
  it('source: CONNECT and CREATE on the database, USAGE on the schema, SELECT and TRIGGER on every table', () => {
    expect(sourceNeeds({ database: 'shop', schema: 'shop', tables: ['orders'] })).toEqual([
      { kind: 'database', name: 'shop', privileges: ['CONNECT', 'CREATE'] },
      { kind: 'schema', name: 'shop', privileges: ['USAGE'] },
      { kind: 'table', schema: 'shop', name: 'orders', privileges: ['SELECT', 'TRIGGER'] },
    ]);
    expect(sequenceNeeds([{ schema: 'shop', name: 'orders_id_seq' }])).toEqual([
      { kind: 'sequence', schema: 'shop', name: 'orders_id_seq', privileges: ['SELECT'] },
    ]);
  });

  it('target: CONNECT and CREATE on the database; CREATE and USAGE on the schema only when it exists', () => {
    expect(targetNeeds({ database: 'shop', schema: 'app', schemaExists: false })).toEqual([
      { kind: 'database', name: 'shop', privileges: ['CONNECT', 'CREATE'] },
    ]);
    expect(targetNeeds({ database: 'shop', schema: 'app', schemaExists: true })[1]).toEqual({
      kind: 'schema',
      name: 'app',
      privileges: ['CREATE', 'USAGE'],
    });
  });
});

describe('missing GRANTs', () => {
  const needs = [
    ...sourceNeeds({ database: 'Shop DB', schema: 'shop', tables: ['orders', 'Audit "log"', 'events'] }),
    ...sequenceNeeds([{ schema: 'shop', name: 'orders_id_seq' }]),
  ];

  it('none when everything is held', () => {
    expect(
      missingGrants(
        'ferry',
        holding(needs, (n) => [...n.privileges]),
      ),
    ).toEqual([]);
  });

  it('one per object naming exactly what it lacks, identifiers quoted, databases, schemas, tables, sequences in order', () => {
    const held = holding(needs, (n) =>
      n.kind === 'database'
        ? ['CONNECT']
        : n.name === 'events'
          ? ['SELECT', 'TRIGGER']
          : n.kind === 'table'
            ? ['SELECT']
            : [],
    );
    expect(missingGrants('ferry_migrator', held.reverse())).toEqual([
      'GRANT CREATE ON DATABASE "Shop DB" TO "ferry_migrator";',
      'GRANT USAGE ON SCHEMA "shop" TO "ferry_migrator";',
      'GRANT TRIGGER ON TABLE "shop"."Audit ""log""" TO "ferry_migrator";',
      'GRANT TRIGGER ON TABLE "shop"."orders" TO "ferry_migrator";',
      'GRANT SELECT ON SEQUENCE "shop"."orders_id_seq" TO "ferry_migrator";',
    ]);
  });

  it('several privileges of one object in one GRANT, in the order they are needed', () => {
    const held = holding(sourceNeeds({ database: 'shop', schema: 'shop', tables: ['t'] }), (n) =>
      n.kind === 'table' ? [] : [...n.privileges],
    );
    expect(missingGrants('Mig"rator', held)).toEqual([
      'GRANT SELECT, TRIGGER ON TABLE "shop"."t" TO "Mig""rator";',
    ]);
  });
});

describe('the refusal', () => {
  it('is absent when no side lacks anything', () => {
    expect(privilegeError([{ where: 'source a@h:1/d', role: 'a', grants: [] }])).toBeUndefined();
  });

  it('lists every side that lacks something, with its role and every GRANT', () => {
    const err = privilegeError([
      {
        where: 'source m@127.0.0.1:5432/shop',
        role: 'm',
        grants: ['GRANT TRIGGER ON TABLE "shop"."t" TO "m";'],
      },
      { where: 'target x@h:1/d', role: 'x', grants: [] },
      {
        where: 'target m@127.0.0.1:5433/shop',
        role: 'm',
        grants: ['GRANT CREATE ON DATABASE "shop" TO "m";'],
      },
    ]);
    expect(err?.name).toBe('PrivilegeError');
    expect(err?.message).toBe(
      [
        'missing privileges, nothing was changed (see README, Privileges)',
        "source m@127.0.0.1:5432/shop: role m lacks privileges; as the objects' owner or a superuser, run:",
        '  GRANT TRIGGER ON TABLE "shop"."t" TO "m";',
        "target m@127.0.0.1:5433/shop: role m lacks privileges; as the objects' owner or a superuser, run:",
        '  GRANT CREATE ON DATABASE "shop" TO "m";',
      ].join('\n'),
    );
  });
});

import { describe, expect, it } from 'vitest';
import type { Catalog } from '../catalog/types.ts';
import { table } from '../../test/support/catalog.ts';
import { targetVersionProblems } from './target-version.ts';

describe('targetVersionProblems', () => {
  const c: Catalog = {
    schema: 'shop',
    serverVersion: 180004,
    types: [],
    sequences: [],
    tables: [
      table('accounts', {
        constraints: [
          {
            name: 'accounts_email_key',
            kind: 'u',
            definition: 'UNIQUE NULLS NOT DISTINCT (email)',
            references: null,
          },
          { name: 'accounts_pkey', kind: 'p', definition: 'PRIMARY KEY (id)', references: null },
        ],
        indexes: [
          {
            name: 'accounts_code',
            definition: 'CREATE UNIQUE INDEX accounts_code ON accounts USING btree (code) NULLS NOT DISTINCT',
          },
          { name: 'accounts_name', definition: 'CREATE INDEX accounts_name ON accounts USING btree (name)' },
        ],
      }),
    ],
  };

  it('names each constraint and index a target before PostgreSQL 15 cannot create', () => {
    expect(targetVersionProblems(c, 14)).toEqual([
      "accounts: accounts_email_key uses NULLS NOT DISTINCT (PostgreSQL 15), which the target's PostgreSQL 14 does not have",
      "accounts: accounts_code uses NULLS NOT DISTINCT (PostgreSQL 15), which the target's PostgreSQL 14 does not have",
    ]);
  });

  it('has nothing to say to PostgreSQL 15 and later', () => {
    expect(targetVersionProblems(c, 15)).toEqual([]);
    expect(targetVersionProblems(c, 18)).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import type { Settings } from '../../api/settings.ts';
import type { Endpoint } from '../../db/connect.ts';
import { ConfigError } from '../../db/password.ts';
import type { MssqlRow, Param } from './connect.ts';
import {
  checkSource,
  endSessionsGrant,
  missingMssqlGrants,
  mssqlNeeds,
  prepare,
  SHADOW_NAME_MAX,
} from './prepare.ts';

const base = {
  where: 'source ferry@db:1433/shop',
  version: '16.0.4135.4',
  database: 'shop',
  snapshotIsolation: 1,
  schemas: ['dbo', 'Sales Dept'],
  present: new Set(['dbo', 'Sales Dept']),
  shadow: 'ferry_m1',
};

describe('SQL Server Preparation', () => {
  it('accepts SQL Server 2016+ with the schemas present and SNAPSHOT allowed', () => {
    expect(() => checkSource(base)).not.toThrow();
    expect(() => checkSource({ ...base, version: '13.0.6300.2' })).not.toThrow();
  });

  it('refuses what no GRANT fixes, naming it', () => {
    const refused: [Partial<typeof base>, RegExp][] = [
      [
        { version: '12.0.6024.0' },
        /SQL Server 12\.0\.6024\.0 is not supported \(SQL Server 2016, 13\.x, or newer\)/,
      ],
      [{ present: new Set(['dbo']) }, /schema Sales Dept does not exist in database shop/],
      [{ schemas: ['dbo', 'ferry_other'] }, /ferry_other is ferry's own/],
      [
        { snapshotIsolation: 0, database: 'sh]op' },
        /ALTER DATABASE \[sh\]\]op\] SET ALLOW_SNAPSHOT_ISOLATION ON/,
      ],
      // Being switched on is not on yet.
      [{ snapshotIsolation: 3 }, /does not allow SNAPSHOT isolation/],
      [{ shadow: `ferry_${'m'.repeat(SHADOW_NAME_MAX)}` }, /metadata\.name: it is too long/],
    ];
    for (const [change, why] of refused) {
      expect(() => checkSource({ ...base, ...change }), why.source).toThrow(ConfigError);
      expect(() => checkSource({ ...base, ...change }), why.source).toThrow(why);
    }
  });

  it('asks for what the user lacks, one GRANT per securable, names quoted', () => {
    const needs = mssqlNeeds(['dbo', 'a]b']);
    const held = (n: { schema: string | null; permission: string }) =>
      (n.schema === 'dbo' && n.permission !== 'ALTER') || n.permission === 'CREATE TABLE';
    expect(missingMssqlGrants('mig user', needs, held)).toEqual([
      'GRANT ALTER ON SCHEMA::[dbo] TO [mig user];',
      'GRANT SELECT, VIEW DEFINITION, ALTER ON SCHEMA::[a]]b] TO [mig user];',
      'GRANT CREATE SCHEMA, VIEW DATABASE STATE TO [mig user];',
    ]);
    expect(missingMssqlGrants('mig', needs, () => true)).toEqual([]);
    expect(endSessionsGrant('ferry')).toMatch(/^GRANT ALTER ANY CONNECTION TO \[ferry\];/);
  });

  it('asks the server through HAS_PERMS_BY_NAME with the schemas as parameters', async () => {
    const calls: { sql: string; params: readonly Param[] }[] = [];
    const session = {
      rows: async (sql: string, params: readonly Param[] = []): Promise<MssqlRow[]> => {
        calls.push({ sql, params });
        if (sql.includes('SERVERPROPERTY'))
          return [
            {
              version: '15.0.2000.5',
              edition: 'Developer Edition (64-bit)',
              db: 'shop',
              usr: 'ferry',
              snapshot: 1,
            },
          ];
        if (sql.includes('FROM sys.schemas')) return params.map((name) => ({ name }));
        // Holds everything but ALTER on the second schema.
        const needs = mssqlNeeds(['dbo', "o'brien"]);
        return needs.map((n, i) => ({ i, ok: n.schema === "o'brien" && n.permission === 'ALTER' ? 0 : 1 }));
      },
    };
    // Preparation reads the migrated schemas of the settings.
    const settings = {
      schemas: [
        { source: 'dbo', target: 'dbo' },
        { source: "o'brien", target: 'obrien' },
      ],
    } as unknown as Settings;
    const e = {
      role: 'source',
      conn: { host: 'db', port: 1433, database: 'shop', user: 'ferry' },
    } as unknown as Endpoint;
    const prepared = await prepare(session, e, settings, 'ferry_m1');
    expect(prepared.server).toBe('SQL Server 15.0.2000.5 (Developer Edition (64-bit))');
    expect(prepared.missing.grants).toEqual(["GRANT ALTER ON SCHEMA::[o'brien] TO [ferry];"]);
    for (const c of calls.slice(1)) expect(c.sql).not.toContain("o'brien");
    const perms = calls.at(-1)!;
    expect(perms.sql).toMatch(/HAS_PERMS_BY_NAME\(@p1, N'SCHEMA', @p2\)/);
    expect(perms.sql).toMatch(/HAS_PERMS_BY_NAME\(NULL, N'DATABASE', @p\d+\)/);
    expect(perms.params.slice(0, 2)).toEqual(['dbo', 'SELECT']);
  });
});

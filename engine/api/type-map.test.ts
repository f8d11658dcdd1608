// spec.typeMap and spec.conversion: resolution into Settings, and the manifest's refusals.
import { describe, expect, it } from 'vitest';
import { parseManifest } from './manifest.ts';
import { resolveSettings } from './settings.ts';
import { problems } from '../../test/support/manifest.ts';

const manifest = (spec: string, engine = 'mysql') => `
apiVersion: ferry.dev/v1alpha1
kind: Migration
metadata: { name: demo }
spec:
  source: { engine: ${engine}, host: db1, database: shop, user: app, password: { env: PW } }
  target: { engine: postgres, host: db2, database: app, user: app, password: { env: PW } }
${spec}`;

describe('spec.typeMap and spec.conversion', () => {
  it('resolves rules in order and the conversion policies, with their defaults', () => {
    const s = resolveSettings(
      parseManifest(
        manifest(`  typeMap:
    - { sourceType: "tinyint(1)", targetType: smallint }
    - { table: "legacy_*", column: flags, targetType: "numeric(20,0)" }
  conversion: { zeroDates: Sentinel }`),
        'm.yaml',
      ),
    );
    expect(s.typeMap).toEqual([
      { sourceType: 'tinyint(1)', targetType: 'smallint' },
      { table: 'legacy_*', column: 'flags', targetType: 'numeric(20,0)' },
    ]);
    expect(s.conversion).toEqual({ zeroDates: 'Sentinel', invalidCharacters: 'Refuse' });
    const d = resolveSettings(parseManifest(manifest(''), 'm.yaml'));
    expect([d.typeMap, d.conversion]).toEqual([[], { zeroDates: 'Refuse', invalidCharacters: 'Refuse' }]);
  });

  it('takes them for a SQL Server source, whose schema is dbo unless named, and which refuses the Dump method', () => {
    const yaml = manifest('  typeMap: [{ sourceType: "datetime2(7)", targetType: text }]', 'mssql');
    expect(problems(yaml)).toEqual([]);
    const s = resolveSettings(parseManifest(yaml, 'm.yaml'));
    expect([s.source.schema, s.target.schema, s.source.port]).toEqual(['dbo', 'dbo', 1433]);
    expect(problems(manifest('  transfer: { method: Dump, dumpDir: /tmp/d }', 'mssql'))).toEqual([
      'spec.transfer.method: Dump needs a postgres source (a mssql source cannot yet export a chunk with its digest from one snapshot); use method Pipe',
    ]);
  });

  it('refuses them for a PostgreSQL source', () => {
    expect(
      problems(
        manifest(
          '  typeMap: [{ column: a, targetType: text }]\n  conversion: { zeroDates: Nullify }',
          'postgres',
        ),
      ),
    ).toEqual([
      'spec.typeMap: only for a mysql or mssql source (a postgres source keeps its types)',
      'spec.conversion: only for a mysql or mssql source (a postgres source keeps its types)',
    ]);
  });

  it('refuses a rule for every column, a target type that is not a type name, and unknown policies', () => {
    expect(problems(manifest('  typeMap: [{ targetType: text }]'))).toEqual([
      'spec.typeMap[0]: give at least one of table, column, sourceType (a rule for every column is not allowed)',
    ]);
    expect(problems(manifest('  typeMap: [{ column: a, targetType: "text; DROP TABLE x" }]'))).toEqual([
      expect.stringMatching(/^spec\.typeMap\.0\.targetType: expected string to match/),
    ]);
    expect(problems(manifest('  typeMap: [{ column: a }]'))).toContain('spec.typeMap.0.targetType: required');
    expect(problems(manifest('  conversion: { zeroDates: Zero }'))).toEqual([
      'spec.conversion.zeroDates: must be one of Refuse, Nullify, Sentinel (got "Zero")',
    ]);
    expect(problems(manifest('  conversion: { invalidCharacter: Replace }'))).toEqual([
      'spec.conversion.invalidCharacter: unknown field (did you mean invalidCharacters?)',
    ]);
    expect(problems(manifest('  typeMap: [{ colum: a, targetType: text }]'))).toContain(
      'spec.typeMap.0.colum: unknown field (did you mean column?)',
    );
  });
});

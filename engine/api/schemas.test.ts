// spec.schemas: resolution into Settings, and the manifest's refusals.
import { describe, expect, it } from 'vitest';
import { parseManifest } from './manifest.ts';
import { resolveSettings, targetSchemaOf } from './settings.ts';
import { problems } from '../../test/support/manifest.ts';

const manifest = (spec: string, schemaFields = '') => `
apiVersion: ferry.dev/v1alpha1
kind: Migration
metadata: { name: demo }
spec:
  source: { engine: postgres, host: db1, database: app, user: app, password: { env: PW }${schemaFields} }
  target: { engine: postgres, host: db2, database: app, user: app, password: { env: PW } }
${spec}`;

describe('spec.schemas', () => {
  it('resolves each schema with its target, defaulting to the source name; the first is source/target.schema', () => {
    const s = resolveSettings(
      parseManifest(
        manifest('  schemas: [{ source: sales, target: sales_v2 }, { source: billing }]'),
        'm.yaml',
      ),
    );
    expect(s.schemas).toEqual([
      { source: 'sales', target: 'sales_v2' },
      { source: 'billing', target: 'billing' },
    ]);
    expect([s.source.schema, s.target.schema]).toEqual(['sales', 'sales_v2']);
    expect(targetSchemaOf(s, 'billing')).toBe('billing');
    expect(() => targetSchemaOf(s, 'other')).toThrow(/schema other is not migrated/);
  });

  it('keeps a manifest with source.schema/target.schema as a one-element list', () => {
    const s = resolveSettings(parseManifest(manifest('', ', schema: shop'), 'm.yaml'));
    expect(s.schemas).toEqual([{ source: 'shop', target: 'shop' }]);
    expect(resolveSettings(parseManifest(manifest(''), 'm.yaml')).schemas).toEqual([
      { source: 'public', target: 'public' },
    ]);
  });

  it('refuses it together with source.schema, naming the field', () => {
    expect(problems(manifest('  schemas: [{ source: sales }]', ', schema: shop'))).toEqual([
      'spec.source.schema: not allowed together with spec.schemas (name the schemas there)',
    ]);
  });

  it('refuses a schema twice, two sources onto one target, and targets named like ferry_*', () => {
    expect(
      problems(
        manifest(
          '  schemas: [{ source: a }, { source: a, target: a2 }, { source: b, target: a }, { source: c, target: ferry_x }]',
        ),
      ),
    ).toEqual([
      'spec.schemas[1].source: schema a is already migrated by spec.schemas[0]',
      'spec.schemas[2].target: schema a already receives spec.schemas[0]; two source schemas cannot go into one target schema',
      "spec.schemas[3].target: ferry_x is named like ferry's own schemas (ferry_*), which fallback drops: choose another target schema",
    ]);
  });

  it('refuses an empty list and unknown fields by the schema', () => {
    expect(problems(manifest('  schemas: []'))).toEqual([
      'spec.schemas: expected array length to be greater or equal to 1',
    ]);
    expect(problems(manifest('  schemas: [{ source: a, taget: b }]'))).toEqual([
      'spec.schemas.0.taget: unknown field (did you mean target?)',
    ]);
  });
});

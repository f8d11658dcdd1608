import { describe, expect, it } from 'vitest';
import type { Migration } from './kube.ts';
import { forgetMigration, recordMigration, registry } from './metrics.ts';

const mig = (name: string, phase: NonNullable<Migration['status']>['phase']): Migration => ({
  metadata: { namespace: 'ns', name },
  spec: {} as Migration['spec'],
  status: { phase, progress: { rows: 5, bytes: 50, percent: 10 } },
});

const phaseSeries = async () =>
  (await registry.getSingleMetric('ferry_migration_phase')!.get()).values
    .filter((v) => v.value === 1)
    .map((v) => `${v.labels['name']}=${v.labels['phase']}`)
    .sort();

describe('per-Migration metrics', () => {
  it("a Migration's series survive another's updates and go when it is deleted", async () => {
    recordMigration(mig('a', 'Execution'));
    recordMigration(mig('b', 'Preparation'));
    recordMigration(mig('b', 'Checks'));
    expect(await phaseSeries()).toEqual(['a=Execution', 'b=Checks']);
    forgetMigration('ns', 'a');
    expect(await phaseSeries()).toEqual(['b=Checks']);
    const rows = (await registry.getSingleMetric('ferry_rows_copied')!.get()).values;
    expect(rows.map((v) => v.labels['name'])).toEqual(['b']);
  });
});

// The operator end to end: kubectl apply a Migration, and the operator drives it to Completed on
// real databases, with transfer Pods run by the pod runner.
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { query, startLocalPair, type LocalPair } from '../hack/local-pair.ts';
import { createSampleDatabase } from '../hack/sample/sample.ts';
import { schemaDigests } from '../engine/testing/snapshot.ts';
import { eventually, kubeconfig, kubectl, namespace } from '../test/controlplane/kube.ts';
import { migrationYaml, secretYaml, startOperator, type OperatorProcess } from './testing.ts';

let pair: LocalPair;
let operator: OperatorProcess | undefined;

beforeAll(async () => {
  pair = await startLocalPair();
  const c = new pg.Client({ connectionString: pair.source.url('shop') });
  await c.connect();
  await createSampleDatabase(c, 'shop', 4e6);
  await c.end();
});
afterAll(async () => {
  await operator?.stop();
  if (operator) (await import('node:fs')).writeFileSync('/tmp/operator-test.log', operator.output());
  await pair?.stop();
});
beforeEach(async () => {
  await query(pair.target, 'DROP SCHEMA IF EXISTS shop CASCADE');
});

async function expectTargetEqualsSource(): Promise<void> {
  const [src, dst] = await Promise.all([
    schemaDigests(pair.source.url('shop'), 'shop'),
    schemaDigests(pair.target.url('shop'), 'shop'),
  ]);
  for (const [t, d] of Object.entries(src)) expect(dst[t], `table ${t}`).toEqual(d);
}

const jsonOf = (ns: string, what: string) =>
  JSON.parse(kubectl(['-n', ns, 'get', what, '-o', 'json'])) as Record<string, any>;

describe('operator, Standard mode', () => {
  it('kubectl apply -> Completed: table groups, transfer pods, status, printer columns, events, data equal', async () => {
    operator ??= await startOperator(kubeconfig());
    const ns = namespace('std');
    kubectl(['-n', ns, 'apply', '-f', '-'], secretYaml(pair));
    kubectl(
      ['-n', ns, 'apply', '-f', '-'],
      migrationYaml(pair, 'shop', {
        transfer: { parallelism: 2, tableGroups: 3, splitAbove: '1Mi', chunkRows: 5000 },
      }),
    );
    try {
      kubectl(['-n', ns, 'wait', '--for=condition=Ready', 'migration/shop', '--timeout=180s']);
    } catch (err) {
      throw new Error(
        `${(err as Error).message}\nstatus: ${JSON.stringify(jsonOf(ns, 'migration/shop').status, null, 1)}\noperator:\n${operator.output().slice(-4000)}`,
      );
    }
    await expectTargetEqualsSource();
    const m = jsonOf(ns, 'migration/shop');
    expect(m.status.phase).toBe('Completed');
    expect(m.status.phases.map((p: { phase: string }) => p.phase)).toEqual([
      'Preparation',
      'Extraction',
      'Configuration',
      'Checks',
      'PreProcessing',
      'Execution',
      'PostProcessing',
      'Completed',
    ]);
    expect(m.status.progress.rows).toBeGreaterThan(20000);
    expect(m.metadata.finalizers ?? []).toEqual([]);
    const table = kubectl(['-n', ns, 'get', 'migrations']);
    expect(table).toMatch(/NAME\s+PHASE\s+PROGRESS\s+DOWNTIME\s+AGE/);
    expect(table).toMatch(/shop\s+Completed\s+100%/);
    const groups = jsonOf(ns, 'tablegroups').items as { status: { phase: string; attempts: number } }[];
    expect(groups).toHaveLength(3);
    for (const g of groups) expect(g.status).toMatchObject({ phase: 'Succeeded', attempts: 1 });
    const events = kubectl(['-n', ns, 'get', 'events', '-o', 'jsonpath={.items[*].reason}']);
    expect(events).toContain('PhaseExecution');
    expect(events).toContain('PhaseCompleted');
  });
});

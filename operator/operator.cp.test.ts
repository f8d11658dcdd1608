// The operator end to end: kubectl apply a Migration, and the operator drives it to Completed on
// real databases, with transfer Pods run by the pod runner. As users deploy: the application role
// shop_app owns and writes the data, ferry connects as the least-privilege ferry_migrator.
import pg from 'pg';
import { parse } from 'yaml';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { setUpRoles, type Roles } from '../hack/fixtures/roles.ts';
import { query, startLocalPair, type LocalPair } from '../hack/local-pair.ts';
import { createSampleDatabase } from '../hack/sample/sample.ts';
import { startWriters } from '../test/support/writers.ts';
import { schemaDigests, snapshotDatabase } from '../test/support/snapshot.ts';
import { eventually, kubeconfig, kubectl, namespace } from '../test/controlplane/kube.ts';
import { argoHealth } from '../charts/ferry/argocd/health.ts';
import { OPERATOR_RULES } from './rbac.ts';
import {
  migrationYaml,
  operatorKubeconfig,
  patchSpec,
  secretYaml,
  startOperator,
  waitForMigration,
  type OperatorProcess,
} from '../test/support/operator.ts';

// The operator runs under its ServiceAccount, bound to exactly the rules of rbac.ts (the chart's Role),
// with leader election on, as installed.
const LEADER = ['--lease-namespace', 'ferry-system'];

let pair: LocalPair;
let roles: Roles;
let operator: OperatorProcess | undefined;

beforeAll(async () => {
  pair = await startLocalPair();
  roles = await setUpRoles(pair, { populate: (app) => createSampleDatabase(app, 'shop', 4e6) });
});
afterAll(async () => {
  await operator?.stop();
  await pair?.stop();
});
// Each test starts clean, even after one that failed half-way.
beforeEach(async () => {
  await query(pair.target, 'DROP SCHEMA IF EXISTS shop CASCADE');
  for (const server of [pair.source, pair.target])
    await query(server, 'DROP SCHEMA IF EXISTS ferry_shop CASCADE');
});

async function expectTargetEqualsSource(excluded: string[] = []): Promise<void> {
  const [src, dst] = await Promise.all([
    schemaDigests(pair.source.url('shop'), 'shop'),
    schemaDigests(pair.target.url('shop'), 'shop'),
  ]);
  for (const [t, d] of Object.entries(src))
    if (!excluded.includes(t)) expect(dst[t], `table ${t}`).toEqual(d);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- kubectl JSON, inspected field by field
type Json = Record<string, any>;
const jsonOf = (ns: string, what: string) =>
  JSON.parse(kubectl(['-n', ns, 'get', what, '-o', 'json'])) as Json;

/** Waits for a condition, and on timeout fails with the Migration's status and the operator's log. */
const waitFor = (ns: string, condition: string, timeout = '180s') =>
  waitForMigration(kubectl, ns, condition, operator, { timeout });

async function chunksDone(): Promise<number> {
  const t = await query(
    pair.target,
    "SELECT 1 FROM pg_tables WHERE schemaname = 'ferry_shop' AND tablename = 'chunk_done'",
  );
  if (!t.length) return 0;
  return Number(
    (await query<{ n: string }>(pair.target, 'SELECT count(*)::text AS n FROM ferry_shop.chunk_done'))[0]!.n,
  );
}

describe('operator, Standard mode', () => {
  it('kubectl apply -> Completed: table groups, transfer pods, status, printer columns, events, data equal', async () => {
    operator ??= await startOperator(operatorKubeconfig(kubeconfig()), LEADER);
    const ns = namespace('std');
    kubectl(['-n', ns, 'apply', '-f', '-'], secretYaml(pair, roles));
    const applied = migrationYaml(
      pair,
      'shop',
      { transfer: { parallelism: 2, tableGroups: 3, splitAbove: '1Mi', chunkRows: 5000 } },
      roles,
    );
    kubectl(['-n', ns, 'apply', '-f', '-'], applied);
    waitFor(ns, 'condition=Ready');
    await expectTargetEqualsSource();
    const m = jsonOf(ns, 'migration/shop');
    expect(m.status.phase).toBe('Completed');
    // The spec is the user's alone (GitOps tools would see any rewrite as drift): still as applied.
    expect(m.spec).toEqual(parse(applied).spec);
    expect(m.metadata.generation).toBe(1);
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

describe('operator, failures and fallback', () => {
  const slow = { transfer: { parallelism: 1, tableGroups: 4, splitAbove: '256Ki', chunkRows: 1000 } };

  it('an operator killed mid-transfer and started again ends Completed with exact data', async () => {
    operator ??= await startOperator(operatorKubeconfig(kubeconfig()), LEADER);
    const ns = namespace('killop');
    kubectl(['-n', ns, 'apply', '-f', '-'], secretYaml(pair, roles));
    kubectl(['-n', ns, 'apply', '-f', '-'], migrationYaml(pair, 'shop', slow, roles));
    await eventually('some chunks to commit', async () => ((await chunksDone()) >= 2 ? true : undefined));
    await operator.stop();
    operator = await startOperator(operatorKubeconfig(kubeconfig()), LEADER);
    waitFor(ns, 'condition=Ready');
    await expectTargetEqualsSource();
  });

  it('a transfer Pod deleted mid-transfer is retried, with exact data and no duplicates', async () => {
    operator ??= await startOperator(operatorKubeconfig(kubeconfig()), LEADER);
    const ns = namespace('delpod');
    kubectl(['-n', ns, 'apply', '-f', '-'], secretYaml(pair, roles));
    kubectl(['-n', ns, 'apply', '-f', '-'], migrationYaml(pair, 'shop', slow, roles));
    const pod = await eventually('a running transfer pod', () => {
      const pods = jsonOf(ns, 'pods').items as Json[];
      return pods.find((p) => p.status?.phase === 'Running')?.metadata.name as string | undefined;
    });
    await eventually('some chunks to commit', async () => ((await chunksDone()) >= 1 ? true : undefined));
    kubectl(['-n', ns, 'delete', 'pod', pod, '--wait=false']);
    waitFor(ns, 'condition=Ready');
    await expectTargetEqualsSource();
    const groups = jsonOf(ns, 'tablegroups').items as Json[];
    expect(
      groups.some((g) => g.status.attempts > 1),
      'a group ran a second attempt',
    ).toBe(true);
    expect(kubectl(['-n', ns, 'get', 'events', '-o', 'jsonpath={.items[*].reason}'])).toContain(
      'TransferRetrying',
    );
  });

  it('spec.fallback: true mid-run ends RolledBack: source identical, target clean', async () => {
    operator ??= await startOperator(operatorKubeconfig(kubeconfig()), LEADER);
    const before = await snapshotDatabase(pair.source.url('shop'));
    const targetBefore = await snapshotDatabase(pair.target.url('shop'));
    const ns = namespace('fallback');
    kubectl(['-n', ns, 'apply', '-f', '-'], secretYaml(pair, roles));
    kubectl(['-n', ns, 'apply', '-f', '-'], migrationYaml(pair, 'shop', slow, roles));
    await eventually('some chunks to commit', async () => ((await chunksDone()) >= 1 ? true : undefined));
    patchSpec(kubectl, ns, 'shop', { fallback: true });
    waitFor(ns, 'jsonpath={.status.phase}=RolledBack');
    expect(await snapshotDatabase(pair.source.url('shop'))).toEqual(before);
    expect(await snapshotDatabase(pair.target.url('shop'))).toEqual(targetBefore);
    await eventually('transfer pods to be gone', () =>
      (jsonOf(ns, 'pods').items as Json[]).every((p) => p.status?.phase !== 'Running') ? true : undefined,
    );
  });
});

/** The Migration's condition of a type, from a fresh read. */
const conditionOf = (ns: string, type: string): Json | undefined =>
  ((jsonOf(ns, 'migration/shop').status?.conditions ?? []) as Json[]).find((c) => c.type === type);

/** A session of ours holding a table lock in an open transaction, until released. */
async function holdLock(url: string, sql: string): Promise<{ release: () => Promise<void> }> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  await c.query('BEGIN');
  await c.query(sql);
  return {
    release: async () => {
      await c.query('ROLLBACK').catch(() => {});
      await c.end();
    },
  };
}

/** pids of ferry's sessions of a purpose (application_name ferry:shop:<purpose>) waiting on a lock. */
const waitingFerrySessions = async (server: LocalPair['source'], purpose: string) =>
  (
    await query<{ pid: number }>(
      server,
      `SELECT pid FROM pg_stat_activity WHERE application_name = 'ferry:shop:${purpose}' AND wait_event_type = 'Lock'`,
    )
  ).map((r) => r.pid);

describe('operator, faults', () => {
  it('database sessions terminated during Execution are retried (Degraded/Retrying, same phase), then Completed and exact', async () => {
    operator ??= await startOperator(operatorKubeconfig(kubeconfig()), LEADER);
    const ns = namespace('transient');
    kubectl(['-n', ns, 'apply', '-f', '-'], secretYaml(pair, roles));
    kubectl(['-n', ns, 'apply', '-f', '-'], migrationYaml(pair, 'shop', {}, roles));
    await eventually("ferry's bookkeeping on the target", async () =>
      (
        await query(
          pair.target,
          "SELECT 1 FROM pg_tables WHERE schemaname = 'ferry_shop' AND tablename = 'step_done'",
        )
      ).length
        ? true
        : undefined,
    );
    // Each post-load build records itself in step_done in its own transaction: it waits behind this
    // lock, while the transfer (COPY, TRUNCATE) goes on. The transfer Pods leave what waits to the
    // operator, which runs it.
    const lock = await holdLock(pair.target.url('shop'), 'LOCK TABLE ferry_shop.step_done IN SHARE MODE');
    // Every ferry session on the target ends, as an administrator (or a failover) would end them.
    const terminate = () =>
      query(
        pair.target,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'ferry:shop:%'",
      );
    try {
      const ended = new Set<number>();
      const waiting = async () =>
        (await waitingFerrySessions(pair.target, 'build')).filter((p) => !ended.has(p));
      for (let i = 0; i < 3; i++) {
        // New sessions each time: the operator retried the builds after the last termination.
        const pids = await eventually(
          'post-load builds waiting on the lock',
          async () => {
            const w = await waiting();
            return w.length ? w : undefined;
          },
          180_000,
        );
        pids.forEach((p) => ended.add(p));
        await terminate();
        // A pass retries a build a few times itself before the failure shows: end those sessions too.
        const degraded = await eventually('Degraded/Retrying', async () => {
          const again = await waiting();
          again.forEach((p) => ended.add(p));
          if (again.length) await terminate();
          const c = conditionOf(ns, 'Degraded');
          return c?.status === 'True' && c.reason === 'Retrying' ? c : undefined;
        });
        expect(degraded.message).toMatch(/terminating connection due to administrator command/);
        expect(jsonOf(ns, 'migration/shop').status.phase).toBe('Execution');
      }
    } finally {
      await lock.release();
    }
    waitFor(ns, 'condition=Ready');
    await expectTargetEqualsSource();
    expect(conditionOf(ns, 'Degraded')).toMatchObject({ status: 'False' });
    expect(kubectl(['-n', ns, 'get', 'events', '-o', 'jsonpath={.items[*].reason}'])).toContain('Retrying');
  });

  it('an operator killed while a DowntimeOptimized Migration waits in PreProcessing continues there: Completed and exact', async () => {
    operator ??= await startOperator(operatorKubeconfig(kubeconfig()), LEADER);
    const ns = namespace('killprep');
    // The application holds a write lock: ferry's recording trigger waits (and retries) behind it.
    const lock = await holdLock(roles.appUrl(), 'LOCK TABLE shop.customers IN ROW EXCLUSIVE MODE');
    try {
      kubectl(['-n', ns, 'apply', '-f', '-'], secretYaml(pair, roles));
      kubectl(
        ['-n', ns, 'apply', '-f', '-'],
        migrationYaml(
          pair,
          'shop',
          { mode: 'DowntimeOptimized', tables: { exclude: ['audit_log'] }, cutover: { approved: true } },
          roles,
        ),
      );
      await eventually('PreProcessing waiting on the application', async () =>
        jsonOf(ns, 'migration/shop').status?.phase === 'PreProcessing' &&
        (await waitingFerrySessions(pair.source, 'preprocess')).length > 0
          ? true
          : undefined,
      );
      await operator.stop();
      operator = await startOperator(operatorKubeconfig(kubeconfig()), LEADER);
      await eventually('the new operator in PreProcessing', async () =>
        (await waitingFerrySessions(pair.source, 'preprocess')).length > 0 ? true : undefined,
      );
    } finally {
      await lock.release();
    }
    waitFor(ns, 'condition=Ready');
    await expectTargetEqualsSource(['audit_log']);
    const m = jsonOf(ns, 'migration/shop');
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
  });

  it('the engine finished but Completed was never written (operator gone right after the cleanup): Completed with its report', async () => {
    operator ??= await startOperator(operatorKubeconfig(kubeconfig()), LEADER);
    const ns = namespace('lostwrite');
    kubectl(['-n', ns, 'apply', '-f', '-'], secretYaml(pair, roles));
    kubectl(['-n', ns, 'apply', '-f', '-'], migrationYaml(pair, 'shop', {}, roles));
    await eventually('the shadow schema', async () =>
      (
        await query(
          pair.source,
          "SELECT 1 FROM pg_tables WHERE schemaname = 'ferry_shop' AND tablename = 'state'",
        )
      ).length
        ? true
        : undefined,
    );
    // The cleanup (DROP SCHEMA ferry_shop) waits behind this lock; the report is handed over before it.
    const lock = await holdLock(pair.source.url('shop'), 'LOCK TABLE ferry_shop.state IN ACCESS SHARE MODE');
    const rbac = (rules: typeof OPERATOR_RULES) =>
      kubectl(
        ['apply', '-f', '-'],
        JSON.stringify({
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'ClusterRole',
          metadata: { name: 'ferry-operator' },
          rules,
        }),
      );
    try {
      await eventually('the report in status', () => jsonOf(ns, 'migration/shop').status?.report, 180_000);
      expect(jsonOf(ns, 'migration/shop').status.phase).toBe('PostProcessing');
      // From here on the operator cannot write status (as if it had died), and the cleanup completes.
      rbac(OPERATOR_RULES.filter((r) => !r.resources.includes('migrations/status')));
    } finally {
      await lock.release();
    }
    try {
      await eventually('the shadow schema to be dropped', async () =>
        (await query(pair.source, "SELECT 1 FROM pg_namespace WHERE nspname = 'ferry_shop'")).length
          ? undefined
          : true,
      );
      await operator.stop();
      expect(jsonOf(ns, 'migration/shop').status.phase).toBe('PostProcessing');
    } finally {
      rbac(OPERATOR_RULES);
    }
    operator = await startOperator(operatorKubeconfig(kubeconfig()), LEADER);
    waitFor(ns, 'condition=Ready');
    await expectTargetEqualsSource();
    const m = jsonOf(ns, 'migration/shop');
    expect(m.status.phase).toBe('Completed');
    expect(m.status.report.map((t: { table: string }) => t.table)).toEqual(
      expect.arrayContaining(['customers', 'orders', 'events']),
    );
    expect(m.status.progress.rows).toBeGreaterThan(20000);
    expect(m.metadata.finalizers ?? []).toEqual([]);
  });

  it('a Migration deleted after its Secret waits (Degraded, naming the way out); ferry.dev/abandon-cleanup lets it go with an Event', async () => {
    operator ??= await startOperator(operatorKubeconfig(kubeconfig()), LEADER);
    const ns = namespace('abandon');
    const slow = { transfer: { parallelism: 1, tableGroups: 4, splitAbove: '256Ki', chunkRows: 1000 } };
    kubectl(['-n', ns, 'apply', '-f', '-'], secretYaml(pair, roles));
    kubectl(['-n', ns, 'apply', '-f', '-'], migrationYaml(pair, 'shop', slow, roles));
    await eventually('some chunks to commit', async () => ((await chunksDone()) >= 1 ? true : undefined));
    kubectl(['-n', ns, 'delete', 'secret', 'db-passwords']);
    kubectl(['-n', ns, 'delete', 'migration', 'shop', '--wait=false']);
    // A pass that read the Secret before it saw the deletion reports the plain SecretNotFound first:
    // wait for the deletion's own message.
    const degraded = await eventually('Degraded/SecretNotFound naming the way out', () => {
      const c = conditionOf(ns, 'Degraded');
      return c?.status === 'True' && c.reason === 'SecretNotFound' && c.message.includes('abandon-cleanup')
        ? c
        : undefined;
    });
    expect(degraded.message).toContain('kubectl annotate migration shop ferry.dev/abandon-cleanup=true');
    expect(jsonOf(ns, 'migration/shop').metadata.finalizers).toContain('ferry.dev/fallback');
    kubectl(['-n', ns, 'annotate', 'migration', 'shop', 'ferry.dev/abandon-cleanup=true']);
    await eventually('the Migration to be gone', () => {
      try {
        kubectl(['-n', ns, 'get', 'migration', 'shop']);
        return undefined;
      } catch {
        return true;
      }
    });
    const events = kubectl([
      '-n',
      ns,
      'get',
      'events',
      '-o',
      'jsonpath={range .items[*]}{.reason}: {.message}{"\\n"}{end}',
    ]);
    expect(events).toMatch(/CleanupAbandoned: .*Left behind: the shadow schema ferry_shop/);
    // What it left is what the Event names; the next test starts clean.
    expect(await query(pair.source, "SELECT 1 FROM pg_namespace WHERE nspname = 'ferry_shop'")).toHaveLength(
      1,
    );
    await query(pair.source, 'DROP SCHEMA ferry_shop CASCADE');
    await query(pair.target, 'DROP SCHEMA IF EXISTS ferry_shop CASCADE');
  });
});

describe('operator, two replicas', () => {
  it('a standby replica is Ready (a rollout is not stalled) while the leader keeps the Lease', async () => {
    operator ??= await startOperator(operatorKubeconfig(kubeconfig()), LEADER);
    const lease = [
      '-n',
      'ferry-system',
      'get',
      'lease',
      'ferry-operator',
      '-o',
      'jsonpath={.spec.holderIdentity}',
    ];
    const leaseHolder = () => {
      try {
        return kubectl(lease);
      } catch {
        return ''; // not created yet
      }
    };
    const leader = await eventually('a leader', () => leaseHolder() || undefined);
    const standby = await startOperator(operatorKubeconfig(kubeconfig()), LEADER);
    try {
      const ready = await eventually('the standby to answer /readyz', () =>
        fetch(`http://127.0.0.1:${standby.metricsPort}/readyz`).then(
          (r) => r.status,
          () => undefined,
        ),
      );
      expect(ready, standby.output()).toBe(200);
      expect(leaseHolder()).toBe(leader);
      expect(standby.output()).not.toContain('operator started');
    } finally {
      await standby.stop();
    }
  });
});

describe('invalid Migrations', () => {
  it('the apiserver rejects an unknown field and a bad enum, naming the field', () => {
    const ns = namespace('invalid');
    const bad = (spec: Record<string, unknown>) => {
      try {
        kubectl(['-n', ns, 'apply', '-f', '-'], migrationYaml(pair, 'shop', spec, roles));
        return '';
      } catch (err) {
        return String((err as { stderr?: string }).stderr ?? err);
      }
    };
    expect(bad({ transfer: { parallelsim: 2 } })).toMatch(/unknown field "spec.transfer.parallelsim"/);
    expect(bad({ mode: 'Fast' })).toMatch(
      /spec.mode: Unsupported value: "Fast": supported values: "Standard", "DowntimeOptimized"/,
    );
  });

  it('a missing Secret is reported in a condition with a clear reason, and nothing is changed', async () => {
    operator ??= await startOperator(operatorKubeconfig(kubeconfig()), LEADER);
    const ns = namespace('nosecret');
    kubectl(['-n', ns, 'apply', '-f', '-'], migrationYaml(pair, 'shop', {}, roles));
    waitFor(ns, 'condition=Degraded', '60s');
    const m = jsonOf(ns, 'migration/shop');
    const degraded = (m.status.conditions as Json[]).find((c) => c.type === 'Degraded')!;
    expect(degraded).toMatchObject({ status: 'True', reason: 'SecretNotFound' });
    expect(degraded.message).toBe(`spec.source.password: Secret ${ns}/db-passwords not found`);
    expect(await query(pair.source, "SELECT 1 FROM pg_namespace WHERE nspname = 'ferry_shop'")).toEqual([]);
    expect(argoHealth('Migration', m)).toMatchObject({ status: 'Degraded' });

    // The Secret turns up later (as with External Secrets): the migration goes on and is no longer Degraded.
    kubectl(['-n', ns, 'apply', '-f', '-'], secretYaml(pair, roles));
    waitFor(ns, 'condition=Ready');
    const done = jsonOf(ns, 'migration/shop');
    expect((done.status.conditions as Json[]).find((c) => c.type === 'Degraded')).toMatchObject({
      status: 'False',
    });
    expect(argoHealth('Migration', done)).toMatchObject({ status: 'Healthy' });
  });

  it('spec.fallback: true on a Failed migration ends RolledBack and leaves what ferry did not create', async () => {
    operator ??= await startOperator(operatorKubeconfig(kubeconfig()), LEADER);
    // A target schema a DBA made for the migration role, holding a table ferry did not create.
    await query(
      pair.target,
      'CREATE SCHEMA shop AUTHORIZATION ferry_migrator; CREATE TABLE shop.customers (mine int)',
    );
    const ns = namespace('failedfb');
    kubectl(['-n', ns, 'apply', '-f', '-'], secretYaml(pair, roles));
    kubectl(['-n', ns, 'apply', '-f', '-'], migrationYaml(pair, 'shop', {}, roles));
    waitFor(ns, 'jsonpath={.status.phase}=Failed', '60s');
    const failed = jsonOf(ns, 'migration/shop');
    expect(failed.status.lastError).toMatchObject({ phase: 'Checks' });
    expect(failed.status.lastError.message).toContain('customers');
    expect(argoHealth('Migration', failed)).toMatchObject({ status: 'Degraded' });
    patchSpec(kubectl, ns, 'shop', { fallback: true });
    waitFor(ns, 'jsonpath={.status.phase}=RolledBack', '60s');
    expect(jsonOf(ns, 'migration/shop').metadata.finalizers ?? []).toEqual([]);
    expect(await query(pair.target, "SELECT 1 FROM pg_tables WHERE schemaname = 'shop'")).toHaveLength(1);
    expect(await query(pair.source, "SELECT 1 FROM pg_namespace WHERE nspname = 'ferry_shop'")).toEqual([]);
  });

  it('source and target cannot change once the migration has started', async () => {
    operator ??= await startOperator(operatorKubeconfig(kubeconfig()), LEADER);
    const ns = namespace('immutable');
    kubectl(['-n', ns, 'apply', '-f', '-'], secretYaml(pair, roles));
    kubectl(['-n', ns, 'apply', '-f', '-'], migrationYaml(pair, 'shop', {}, roles));
    waitFor(ns, 'condition=Ready');
    let err = '';
    try {
      patchSpec(kubectl, ns, 'shop', { source: { database: 'other' } });
    } catch (e) {
      err = String((e as { stderr?: string }).stderr ?? e);
    }
    expect(err).toMatch(/spec.source and spec.target cannot change once the migration has started/);
  });
});

describe('operator, DowntimeOptimized', () => {
  it('copies in uptime while the application writes; kubectl patch approves the cutover; Completed, exact, downtime shown', async () => {
    operator ??= await startOperator(operatorKubeconfig(kubeconfig()), LEADER);
    const ns = namespace('dto');
    kubectl(['-n', ns, 'apply', '-f', '-'], secretYaml(pair, roles));
    const writers = startWriters(roles.appUrl(), { sessions: 2, rate: 200 });
    try {
      kubectl(
        ['-n', ns, 'apply', '-f', '-'],
        migrationYaml(pair, 'shop', { mode: 'DowntimeOptimized', tables: { exclude: ['audit_log'] } }, roles),
      );
      waitFor(ns, 'condition=CutoverReady');
      // What Argo CD shows while the downtime waits for approval.
      expect(argoHealth('Migration', jsonOf(ns, 'migration/shop'))).toMatchObject({ status: 'Suspended' });
      await new Promise((r) => setTimeout(r, 1500));
      expect(writers.committed(), 'the application kept writing in uptime').toBeGreaterThan(20);
      // The application stops for its switch to the target: once the migration completes the source
      // is writable again, and writes there after that would not be migrated (the fence itself is
      // tested against running writers in the db tier).
      await writers.stop();
      patchSpec(kubectl, ns, 'shop', { cutover: { approved: true } });
      waitFor(ns, 'condition=Ready');
    } finally {
      await writers.stop();
    }
    await expectTargetEqualsSource(['audit_log']);
    const m = jsonOf(ns, 'migration/shop');
    expect(m.status.downtimeSeconds).toBeGreaterThan(0);
    expect(kubectl(['-n', ns, 'get', 'migrations'])).toMatch(/shop\s+Completed\s+100%\s+[\d.]+s/);
  });
});

describe('examples', () => {
  it('every example manifest is accepted by the apiserver (server-side dry run)', () => {
    kubectl(['create', 'namespace', 'shop-migration']);
    try {
      for (const f of [
        'standard',
        'downtime-optimized',
        'fallback',
        'system-move-export',
        'system-move-import',
      ])
        expect(kubectl(['apply', '--dry-run=server', '-f', `examples/cluster/${f}.yaml`])).toMatch(
          /migration.ferry.dev\/shop(-online)? created \(server dry run\)/,
        );
    } finally {
      kubectl(['delete', 'namespace', 'shop-migration', '--wait=false']);
    }
  });
});

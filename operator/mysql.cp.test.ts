// The operator with a MySQL source: kubectl apply a Migration from MariaDB 10.11 into PostgreSQL and
// the operator drives it to Completed, transfer Pods run by the pod runner, ferry connecting to
// MariaDB as the least-privilege migration user (password from a Secret) while the application
// writes as its own user. The target ends exactly the source, nothing of ferry's left on MariaDB.
import { setTimeout as sleep } from 'node:timers/promises';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, beforeEach, expect, inject, it } from 'vitest';
import {
  bothSides,
  MIGRATOR_USER,
  resetTarget,
  sourceState,
  type Canonical,
  type MysqlMigration,
} from '../test/support/mysql-roles.ts';
import {
  applicationWrites,
  AUDIT_CANONICAL,
  CANONICAL,
  startMysqlShop,
  startMysqlWriters,
} from '../test/support/mysql-shop.ts';
import { PHASES } from '../engine/phases/phase.ts';
import { eventually, kubeconfig, kubectl, namespace } from '../test/controlplane/kube.ts';
import {
  migrationBetween,
  operatorKubeconfig,
  passwordsSecretYaml,
  patchSpec,
  podLogs,
  secretPassword,
  startOperator,
  operatorLog,
  type OperatorProcess,
} from '../test/support/operator.ts';

const LEADER = ['--lease-namespace', 'ferry-system'];
/** Small chunks and two groups: several transfer Pods, each with several chunks. */
const TRANSFER = { parallelism: 2, tableGroups: 2, splitAbove: '64Ki', chunkRows: 1000 };

let m: MysqlMigration;
let operator: OperatorProcess | undefined;

beforeAll(async () => {
  m = await startMysqlShop();
});
afterAll(async () => {
  await operator?.stop();
  await m?.stop();
});
// Each test starts with an empty target, even after one that failed half-way.
beforeEach(() => resetTarget(m));

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- kubectl JSON, inspected field by field
type Json = Record<string, any>;
const jsonOf = (ns: string, what: string) =>
  JSON.parse(kubectl(['-n', ns, 'get', what, '-o', 'json'])) as Json;

/** The Migration's condition `type` is True. */
const conditionTrue = (mig: Json, type: string) =>
  ((mig.status?.conditions ?? []) as Json[]).some((c) => c.type === type && c.status === 'True');

/**
 * Waits for condition `type` by polling, so that the application's writers (in this process) go on
 * meanwhile: `kubectl wait` would block the event loop. Fails at once when the Migration Failed, and
 * on timeout, with its status, table groups, Pods and their logs, and the operator's log.
 */
async function waitFor(ns: string, type: string): Promise<void> {
  const described = () =>
    [
      `status: ${JSON.stringify(jsonOf(ns, 'migration/shop').status, null, 1)}`,
      kubectl([
        '-n',
        ns,
        'get',
        'tablegroups',
        '-o',
        'jsonpath={range .items[*]}{.metadata.name} {.status}{"\\n"}{end}',
      ]),
      podLogs(kubectl, ns, inject('podLogs')),
      `operator:\n${operatorLog(operator, ns)}`,
    ].join('\n');
  await eventually(
    type,
    () => {
      const mig = jsonOf(ns, 'migration/shop');
      if (mig.status?.phase === 'Failed') throw new Error('the Migration Failed');
      return conditionTrue(mig, type) || undefined;
    },
    150_000,
  ).catch((e: Error) => Promise.reject(new Error(`${e.message}\n${described()}`)));
}

/** Applies the Secret with the migration user's password and a Migration `shop` from MariaDB with `spec`. */
function applyMigration(ns: string, spec: Record<string, unknown>): void {
  kubectl(['-n', ns, 'apply', '-f', '-'], passwordsSecretYaml(m.passwords));
  const sides = m.connections({ source: secretPassword('source'), target: secretPassword('target') });
  kubectl(['-n', ns, 'apply', '-f', '-'], migrationBetween('shop', sides, spec));
}

async function expectTargetEqualsSource(tables: Record<string, Canonical>): Promise<void> {
  for (const [t, side] of Object.entries(await bothSides(m, tables)))
    expect(side.target, t).toEqual(side.source);
}

/** What the status lists once a migration completed: every phase, in order. */
const ALL_PHASES = [...PHASES, 'Completed'];

it('Standard: kubectl apply -> Completed through transfer Pods, data exact, source untouched, nothing of ferry left', async () => {
  operator ??= await startOperator(operatorKubeconfig(kubeconfig()), LEADER);
  const ns = namespace('mystd');
  const before = await sourceState(m);
  applyMigration(ns, { transfer: TRANSFER });
  await waitFor(ns, 'Ready');
  await expectTargetEqualsSource({ ...CANONICAL, ...AUDIT_CANONICAL });
  const after = await sourceState(m);
  expect(after.leftovers).toEqual([]);
  expect(after.sums).toEqual(before.sums);

  const mig = jsonOf(ns, 'migration/shop');
  expect(mig.status.phase).toBe('Completed');
  expect(mig.status.phases.map((p: { phase: string }) => p.phase)).toEqual(ALL_PHASES);
  // 300 customers, 5000 orders, 200 tags, 2 audit rows, 203 extremes in each of two tables.
  expect(mig.status.progress.rows).toBe(5908);
  expect(kubectl(['-n', ns, 'get', 'migrations'])).toMatch(/shop\s+Completed\s+100%/);
  const groups = jsonOf(ns, 'tablegroups').items as Json[];
  expect(groups).toHaveLength(2);
  for (const g of groups) expect(g.status).toMatchObject({ phase: 'Succeeded', attempts: 1 });
  const pods = jsonOf(ns, 'pods').items as Json[];
  expect(pods.length, 'a transfer Pod per table group').toBeGreaterThanOrEqual(2);
  for (const p of pods) expect(p.status.phase, p.metadata.name).toBe('Succeeded');
  // The password reaches the Pods from the Secret only: neither the status nor a Pod spec holds it.
  expect(JSON.stringify(mig)).not.toContain(m.passwords.source);
  expect(JSON.stringify(pods)).not.toContain(m.passwords.source);
});

it('DowntimeOptimized: the application writes during uptime, kubectl patch approves the cutover, Completed and exact', async () => {
  operator ??= await startOperator(operatorKubeconfig(kubeconfig()), LEADER);
  const ns = namespace('mydto');
  const writers = startMysqlWriters(m, 2);
  let w: Awaited<ReturnType<typeof writers.stop>>;
  try {
    applyMigration(ns, { mode: 'DowntimeOptimized', tables: { exclude: ['audit'] }, transfer: TRANSFER });
    await waitFor(ns, 'CutoverReady');
    const copied = writers.committed();
    await new Promise((r) => setTimeout(r, 1500));
    expect(writers.committed(), 'the application kept writing in uptime').toBeGreaterThan(copied);
    // The writers go on until the cutover's fence refuses them: what they committed before it is migrated.
    patchSpec(kubectl, ns, 'shop', { cutover: { approved: true } });
    await waitFor(ns, 'Ready');
  } finally {
    w = await writers.stop();
  }
  expect(w.error).toBeUndefined();
  expect(w.fenced, 'the cutover fenced the application off').toBe(true);
  expect(w.committed).toBeGreaterThan(100);
  await expectTargetEqualsSource(CANONICAL);
  expect((await sourceState(m)).leftovers).toEqual([]);

  const mig = jsonOf(ns, 'migration/shop');
  expect(mig.status.phases.map((p: { phase: string }) => p.phase)).toEqual(ALL_PHASES);
  expect(mig.status.downtimeSeconds).toBeGreaterThan(0);
  expect(kubectl(['-n', ns, 'get', 'migrations'])).toMatch(/shop\s+Completed\s+100%\s+[\d.]+s/);
  // The application writes again once the migration is done.
  await applicationWrites(m);
});

/**
 * Kills every session of ferry's migration user on MariaDB (as root) every EVERY_MS, until stopped;
 * returns how many. Until the first kill it looks every FIRST_MS: the whole run takes a few seconds,
 * and its sessions may all be between two looks a second apart.
 */
function startSessionKiller(): { stop: () => Promise<number> } {
  const EVERY_MS = 1000;
  const FIRST_MS = 100;
  let stopped = false;
  let killed = 0;
  const loop = (async () => {
    const root = await m.root();
    try {
      for (let waited = 0; waited < 150_000 && !stopped;) {
        const ms = killed ? EVERY_MS : FIRST_MS;
        await sleep(ms);
        waited += ms;
        if (stopped) break;
        const [sessions] = await root.query<RowDataPacket[]>(
          'SELECT ID AS id FROM information_schema.PROCESSLIST WHERE USER = ?',
          [MIGRATOR_USER],
        );
        // One may end by itself between the list and the KILL.
        for (const s of sessions)
          await root.query(`KILL CONNECTION ${Number(s['id'])}`).then(
            () => killed++,
            () => {},
          );
      }
    } finally {
      await root.end();
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return killed;
    },
  };
}

it('DowntimeOptimized with writers, every ferry session on MariaDB killed every second: Completed and exact', async () => {
  operator ??= await startOperator(operatorKubeconfig(kubeconfig()), LEADER);
  const ns = namespace('mychaos');
  const writers = startMysqlWriters(m, 2);
  const killer = startSessionKiller();
  let w: Awaited<ReturnType<typeof writers.stop>>;
  let killed: number;
  try {
    applyMigration(ns, {
      mode: 'DowntimeOptimized',
      tables: { exclude: ['audit'] },
      cutover: { approved: true },
      transfer: TRANSFER,
    });
    await waitFor(ns, 'Ready');
  } finally {
    killed = await killer.stop();
    w = await writers.stop();
  }
  process.stdout.write(`ferry's MariaDB sessions killed: ${killed}\n`);
  expect(killed, 'sessions of ferry killed').toBeGreaterThan(0);
  expect(w.error).toBeUndefined();
  expect(w.fenced, 'the cutover fenced the application off').toBe(true);
  await expectTargetEqualsSource(CANONICAL);
  expect((await sourceState(m)).leftovers).toEqual([]);
  expect(jsonOf(ns, 'migration/shop').status.phase).toBe('Completed');
  await applicationWrites(m);
});

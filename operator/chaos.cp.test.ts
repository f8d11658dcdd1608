// Chaos on the control plane: a whole DowntimeOptimized Migration while the application writes as
// shop_app, every ferry database session on both servers is terminated every few seconds (as an
// administrator or a failover would end them) and the operator is killed and started again twice.
// Transient errors must stay transient: the Migration ends Completed, the target exactly the source,
// nothing of ferry's left behind.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { setUpRoles, type Roles } from '../hack/fixtures/roles.ts';
import { query, startLocalPair, type LocalPair } from '../hack/local-pair.ts';
import { createSampleDatabase } from '../hack/sample/sample.ts';
import { bothDigests, ferryLeftovers, applicationCanWrite } from '../test/support/rehearsal.ts';
import { startWriters } from '../test/support/writers.ts';
import { eventually, kubeconfig, kubectl, namespace } from '../test/controlplane/kube.ts';
import {
  migrationYaml,
  operatorKubeconfig,
  operatorLog,
  patchSpec,
  secretYaml,
  startOperator,
  type OperatorProcess,
} from '../test/support/operator.ts';

const LEADER = ['--lease-namespace', 'ferry-system'];
/** The terminator's pace and bounds: a session ended every few seconds, never more than this often. */
const EVERY_MS = 3000;
const MAX_ROUNDS = 120;

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

/** Ends every ferry session on both servers (as the superuser), every EVERY_MS, until stopped or bounded. */
function startTerminator(): { stop: () => Promise<number> } {
  let stopped = false;
  let ended = 0;
  const terminate = async (server: LocalPair['source']) =>
    (
      await query<{ pid: number }>(
        server,
        "SELECT pid FROM pg_stat_activity WHERE application_name LIKE 'ferry:%' AND pg_terminate_backend(pid)",
      )
    ).length;
  const loop = (async () => {
    for (let round = 0; round < MAX_ROUNDS && !stopped; round++) {
      await sleep(EVERY_MS);
      if (stopped) break;
      ended += (await terminate(pair.source)) + (await terminate(pair.target));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return ended;
    },
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- kubectl JSON, inspected field by field
type Json = Record<string, any>;
const migration = (ns: string) =>
  JSON.parse(kubectl(['-n', ns, 'get', 'migration/shop', '-o', 'json'])) as Json;
const conditionTrue = (ns: string, type: string) =>
  ((migration(ns).status?.conditions ?? []) as Json[]).some((c) => c.type === type && c.status === 'True');
const described = (ns: string) =>
  [
    `status: ${JSON.stringify(migration(ns).status, null, 1)}`,
    `table groups:\n${kubectl(['-n', ns, 'get', 'tablegroups', '-o', 'jsonpath={range .items[*]}{.metadata.name} {.status}{"\\n"}{end}'])}`,
    `pods:\n${kubectl(['-n', ns, 'get', 'pods', '-o', 'wide'])}`,
    `operator:\n${operatorLog(operator, ns)}`,
  ].join('\n');

async function restartOperator(): Promise<void> {
  await operator?.stop();
  operator = await startOperator(operatorKubeconfig(kubeconfig()), LEADER);
}

it('DowntimeOptimized with writers, ferry sessions terminated every few seconds, the operator killed twice: Completed and exact', async () => {
  operator = await startOperator(operatorKubeconfig(kubeconfig()), LEADER);
  const ns = namespace('chaos');
  kubectl(['-n', ns, 'apply', '-f', '-'], secretYaml(pair, roles));
  const writers = startWriters(roles.appUrl(), { sessions: 2, rate: 100 });
  const terminator = startTerminator();
  let ended = 0;
  let refused = 0;
  try {
    kubectl(
      ['-n', ns, 'apply', '-f', '-'],
      migrationYaml(
        pair,
        'shop',
        {
          mode: 'DowntimeOptimized',
          tables: { exclude: ['audit_log'] },
          transfer: { parallelism: 2, tableGroups: 3, splitAbove: '512Ki', chunkRows: 2000 },
        },
        roles,
      ),
    );
    // First kill: once the bulk copy is under way.
    await eventually(
      'Execution',
      () => (migration(ns).status?.phase === 'Execution' ? true : undefined),
      180_000,
    ).catch((e: Error) => Promise.reject(new Error(`${e.message}\n${described(ns)}`)));
    await restartOperator();
    // Second kill: in uptime, once the cutover waits for approval.
    await eventually('CutoverReady', () => conditionTrue(ns, 'CutoverReady') || undefined, 240_000).catch(
      (e: Error) => Promise.reject(new Error(`${e.message}\n${described(ns)}`)),
    );
    await restartOperator();
    await eventually('CutoverReady again', () => conditionTrue(ns, 'CutoverReady') || undefined, 120_000);
    expect(writers.committed(), 'the application kept writing in uptime').toBeGreaterThan(20);
    patchSpec(kubectl, ns, 'shop', { cutover: { approved: true } });
    await eventually(
      'Completed',
      () => {
        const phase = migration(ns).status?.phase as string | undefined;
        if (phase === 'Failed') throw new Error(`the Migration Failed\n${described(ns)}`);
        return phase === 'Completed' || undefined;
      },
      240_000,
    ).catch((e: Error) => Promise.reject(new Error(`${e.message}\n${described(ns)}`)));
  } finally {
    ended = await terminator.stop();
    refused = (await writers.stop()).refused;
  }
  // The chaos was real: sessions were ended, and the fence refused the application at the cutover.
  expect(ended).toBeGreaterThan(0);
  expect(refused).toBeGreaterThan(0);
  const { source, target } = await bothDigests(pair);
  delete source.audit_log;
  expect(target).toEqual(source);
  expect(await ferryLeftovers(pair)).toEqual([]);
  expect(await applicationCanWrite(roles)).toBe(true);
});

// `npm run demo`: ferry as a cluster user meets it, on this machine. A real control plane and the
// pod runner (no kubelet here), two throwaway PostgreSQL servers (15 -> 18) with a sample shop
// database, ferry installed with its Helm chart, a Migration applied with kubectl and followed in the
// terminal until Completed; then the kubectl commands to look around. In a terminal it stays up
// until Ctrl-C; otherwise (a pipe, CI) or with --exit it cleans up and exits.
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs, promisify } from 'node:util';
import { formatBytes } from '../../engine/progress.ts';
import type { MigrationStatus } from '../../engine/api/status.ts';
import { migrationYaml, secretYaml } from '../../test/support/operator.ts';
import { binaries, startControlPlane } from '../controlplane/controlplane.ts';
import { setUpRoles } from '../fixtures/roles.ts';
import { startLocalPair } from '../local-pair.ts';
import { freePort } from '../net.ts';
import { podRunnerChartValues } from '../pod-runner/chart-values.ts';
import { startPodRunner } from '../pod-runner/runner.ts';
import { createSampleDatabase } from '../sample/sample.ts';

const { values } = parseArgs({ options: { exit: { type: 'boolean', default: false } } });
const stayUp = process.stdin.isTTY && !values.exit;
const bytes = Number(process.env['FERRY_DEMO_BYTES'] ?? 100e6);
const chart = resolve(import.meta.dirname, '../../charts/ferry');
const NS = 'shop-migration';
const step = (s: string) => console.log(`\n== ${s}`);

step(
  'control plane: etcd, kube-apiserver, kube-controller-manager (built from source the first time, ~8 min)',
);
const bin = binaries();
const cp = await startControlPlane({ bin });
const podLogs = join(cp.dir, 'pods');
const runner = await startPodRunner({ kubeconfig: cp.kubeconfig, logDir: podLogs });
// Asynchronous on purpose: the pod runner shares this process's event loop.
const run = async (file: string, args: string[], input?: string) => {
  const p = promisify(execFile)(file, args, { encoding: 'utf8' });
  if (input !== undefined) p.child.stdin!.end(input);
  return (await p).stdout;
};
const kubectl = (args: string[], input?: string) =>
  run('kubectl', ['--kubeconfig', cp.kubeconfig, ...args], input);
const helm = (args: string[]) => run(join(bin, 'helm'), ['--kubeconfig', cp.kubeconfig, ...args]);
console.log(`kube-apiserver ${cp.server}; pods run as local processes, their logs in ${podLogs}`);

let pair: Awaited<ReturnType<typeof startLocalPair>> | undefined;
let code = 1;
try {
  step(`databases: PostgreSQL 15 (source) and 18 (target), sample shop of ~${formatBytes(bytes)}`);
  pair = await startLocalPair();
  // As in production: the application role shop_app owns the data, ferry runs as ferry_migrator.
  const roles = await setUpRoles(pair, { populate: (app) => createSampleDatabase(app, 'shop', bytes) });
  console.log(
    `source 127.0.0.1:${pair.source.port}, target 127.0.0.1:${pair.target.port}; ferry connects as ${roles.migrator.source.user}`,
  );

  step('helm install ferry charts/ferry (CRDs, RBAC, the operator Deployment)');
  const metricsPort = await freePort();
  process.stdout.write(
    (
      await helm([
        'install',
        'ferry',
        chart,
        '-n',
        'ferry-system',
        '--create-namespace',
        '--wait',
        '--timeout',
        '180s',
        ...podRunnerChartValues(metricsPort),
      ])
    ).split('\nNOTES:')[0]! + '\n',
  );

  step(`kubectl apply -f migration.yaml (namespace ${NS}: a Secret with both passwords, the Migration)`);
  const dir = join(cp.dir, 'demo');
  mkdirSync(dir, { recursive: true });
  const manifest = join(dir, 'migration.yaml');
  writeFileSync(
    manifest,
    `${secretYaml(pair, roles)}---\n${migrationYaml(
      pair,
      'shop',
      {
        transfer: { parallelism: 2, tableGroups: 4, splitAbove: '8Mi', chunkRows: 50000 },
        validation: 'Checksum',
      },
      roles,
    )}`,
  );
  await kubectl(['create', 'namespace', NS]);
  process.stdout.write(await kubectl(['-n', NS, 'apply', '-f', manifest]));

  step(`following migration/shop (kubectl -n ${NS} get migration shop -w)`);
  const status = await follow();
  if (status.phase === 'Completed') {
    code = 0;
    step('done');
    process.stdout.write(await kubectl(['-n', NS, 'get', 'migration,tablegroups']));
    const phases = (status.phases ?? [])
      .filter((p) => p.endedAt && p.phase !== 'Completed')
      .map((p) => `${p.phase} ${((Date.parse(p.endedAt!) - Date.parse(p.startedAt)) / 1000).toFixed(1)}s`);
    console.log(`\nphases: ${phases.join(', ')}`);
    console.log(
      `copied ${(status.progress?.rows ?? 0).toLocaleString('en-US')} rows, ${formatBytes(status.progress?.bytes ?? 0)}; validated by checksum`,
    );
  } else console.log(`\nthe migration ended ${status.phase}: ${status.lastError?.message ?? ''}`);

  step('look around');
  const commands: [string, string][] = [
    [`export KUBECONFIG=${cp.kubeconfig}`, ''],
    [`kubectl -n ${NS} get migrations,tablegroups`, ''],
    [`kubectl -n ${NS} describe migration shop`, 'phases, conditions, events'],
    [`kubectl -n ${NS} get migration shop -o jsonpath='{.status.report}'`, 'rows and seconds per table'],
    [`kubectl -n ${NS} get pods`, 'the transfer Pods, one per table group'],
    [`kubectl -n ferry-system get deploy,pods,lease`, 'the operator and its leader Lease'],
    [`curl -s 127.0.0.1:${metricsPort}/metrics | grep ^ferry_`, "the operator's metrics"],
    [`tail ${podLogs}/ferry-system_*_operator.log`, 'Pod logs (no kubelet here: kubectl logs cannot)'],
    [
      `kubectl -n ${NS} get secret db-passwords -o jsonpath='{.data.target}' | base64 -d`,
      'the password for:',
    ],
    [
      `psql -h 127.0.0.1 -p ${pair.target.port} -U ${roles.migrator.target.user} shop`,
      'the migrated database',
    ],
  ];
  const width = Math.max(...commands.map(([c]) => c.length)) + 2;
  for (const [c, why] of commands) console.log(why ? `${c.padEnd(width)}# ${why}` : c);
  if (stayUp) {
    console.log('\nEverything stays up until you press Ctrl-C.');
    await new Promise<void>((res) => {
      process.once('SIGINT', res);
      process.once('SIGTERM', res);
    });
  }
} catch (err) {
  console.error(`\ndemo failed: ${(err as Error).message}`);
} finally {
  console.log('\nstopping: pod runner, control plane, databases');
  await runner.stop();
  await cp.stop();
  await pair?.stop();
}
process.exit(code);

/**
 * Prints progress as `kubectl get -w` would, plus rows, rate and ETA, until the Migration ends. In a
 * terminal the line of the current phase is rewritten in place.
 */
async function follow(): Promise<MigrationStatus> {
  let last = '';
  let lastPhase = '';
  for (;;) {
    const json = await kubectl(['-n', NS, 'get', 'migration', 'shop', '-o', 'jsonpath={.status}']);
    const s = JSON.parse(json || '{}') as MigrationStatus;
    const phase = s.phase ?? 'Pending';
    const p = s.progress;
    const line = [
      phase.padEnd(14),
      s.progressText ?? '',
      p ? `${p.rows.toLocaleString('en-US')} rows` : '',
      p?.bytesPerSecond ? `${(p.bytesPerSecond / 1e6).toFixed(1)} MB/s` : '',
    ]
      .filter(Boolean)
      .join('  ');
    if (line !== last) {
      const text = `${new Date().toISOString().slice(11, 19)}  ${line}`;
      if (!process.stdout.isTTY) console.log(text);
      else process.stdout.write(`${phase === lastPhase ? '\r\x1b[K' : '\n'}${text}`);
    }
    last = line;
    lastPhase = phase;
    if (phase === 'Completed' || phase === 'Failed' || phase === 'RolledBack') {
      if (process.stdout.isTTY) process.stdout.write('\n');
      return s;
    }
    await sleep(500);
  }
}

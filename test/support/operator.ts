// Control-plane test helpers for the operator: the operator as a real process, and Migration
// manifests pointing at throwaway databases.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import { LEADER_ELECTION_RULES, OPERATOR_RULES } from '../../operator/rbac.ts';
import { stringify } from 'yaml';
import type { Roles } from '../../hack/fixtures/roles.ts';
import type { LocalPair } from '../../hack/local-pair.ts';
import { freePort } from '../../hack/net.ts';
import { FERRY } from './cli.ts';

export interface OperatorProcess {
  child: ChildProcess;
  metricsPort: number;
  output: () => string;
  stop: () => Promise<void>;
}

/**
 * The end of the operator's log as it concerns namespace `ns`: its own lines and those about no
 * namespace, not other tests' Migrations (which a cluster-wide operator also reconciles).
 */
export function operatorLog(operator: OperatorProcess | undefined, ns: string, chars = 6000): string {
  const lines = (operator?.output() ?? '').split('\n');
  const mine = lines.filter((l) => !/"namespace":"/.test(l) || l.includes(`"namespace":"${ns}"`));
  return mine.join('\n').slice(-chars);
}

export async function startOperator(
  kubeconfig: string,
  args: string[] = ['--no-leader-elect'],
): Promise<OperatorProcess> {
  const port = await freePort();
  const child = spawn(FERRY, ['operator', '--metrics-port', String(port), ...args], {
    env: { ...process.env, KUBECONFIG: kubeconfig, FERRY_LOG_JSON: '1', FERRY_METRICS_ADDRESS: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((res) => child.on('exit', () => res()));
  return {
    child,
    metricsPort: port,
    output: () => out,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/**
 * Waits (kubectl wait) for a condition of migration/shop; on timeout fails with its status, what
 * `more` tells (Pods, their logs) and the operator's log.
 */
export function waitForMigration(
  kubectl: (args: string[]) => string,
  ns: string,
  condition: string,
  operator: OperatorProcess | undefined,
  { timeout = '180s', more = () => '' }: { timeout?: string; more?: () => string } = {},
): void {
  try {
    kubectl(['-n', ns, 'wait', `--for=${condition}`, 'migration/shop', `--timeout=${timeout}`]);
  } catch (err) {
    const status = (
      JSON.parse(kubectl(['-n', ns, 'get', 'migration/shop', '-o', 'json'])) as { status?: unknown }
    ).status;
    throw new Error(
      `${(err as Error).message}\nstatus: ${JSON.stringify(status, null, 1)}\n${more()}\noperator:\n${operatorLog(operator, ns)}`,
    );
  }
}

/** Each Pod of namespace `ns` with the end of its log, from the pod runner's `logDir` (none on a real cluster). */
export function podLogs(kubectl: (args: string[]) => string, ns: string, logDir: string): string {
  const names = kubectl(['-n', ns, 'get', 'pods', '-o', 'name']).split('\n').filter(Boolean);
  return names
    .map((n) => {
      const file = join(logDir, `${ns}_${n.replace('pod/', '')}_transfer.log`);
      return `${n}:\n${logDir && existsSync(file) ? readFileSync(file, 'utf8').slice(-1500) : '(no log)'}`;
    })
    .join('\n');
}

/** The Secret db-passwords: the source's password under key `source`, the target's under `target`. */
export function passwordsSecretYaml(passwords: { source: string; target: string }): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'db-passwords' },
    stringData: passwords,
  });
}

/** The Secret with the databases' passwords: the migration role's with `roles`, else the superuser's. */
export function secretYaml(pair: LocalPair, roles?: Roles): string {
  const password = (side: 'source' | 'target') =>
    roles ? roles.env[roles.migrator[side].passwordEnv]! : pair[side].password;
  return passwordsSecretYaml({ source: password('source'), target: password('target') });
}

/** A side's password in the cluster: its key in the Secret db-passwords. */
export const secretPassword = (key: 'source' | 'target') => ({
  secretKeyRef: { name: 'db-passwords', key },
});

/** A Migration between two connections (spec.source and spec.target, of any engine). */
export function migrationBetween(
  name: string,
  sides: { source: Record<string, unknown>; target: Record<string, unknown> },
  spec: Record<string, unknown> = {},
): string {
  return stringify({
    apiVersion: 'ferry.dev/v1alpha1',
    kind: 'Migration',
    metadata: { name },
    spec: { ...sides, ...spec },
  });
}

/** A Migration of the `shop` schema; with `roles`, ferry connects as the migration role (as users deploy). */
export function migrationYaml(
  pair: LocalPair,
  name: string,
  spec: Record<string, unknown> = {},
  roles?: Roles,
): string {
  const conn = (s: LocalPair['source'], key: 'source' | 'target') => ({
    engine: 'postgres',
    host: s.host,
    port: s.port,
    database: 'shop',
    user: roles ? roles.migrator[key].user : s.user,
    schema: 'shop',
    password: secretPassword(key),
  });
  return migrationBetween(
    name,
    { source: conn(pair.source, 'source'), target: conn(pair.target, 'target') },
    spec,
  );
}

/** Merges `patch` into the spec of Migration `name` (kubectl patch --type=merge), as a user would. */
export function patchSpec(
  kubectl: (args: string[]) => string,
  ns: string,
  name: string,
  patch: Record<string, unknown>,
): string {
  return kubectl([
    '-n',
    ns,
    'patch',
    'migration',
    name,
    '--type=merge',
    '-p',
    JSON.stringify({ spec: patch }),
  ]);
}

/**
 * A kubeconfig for the operator's ServiceAccount, bound to exactly the rules in rbac.ts (what the
 * Helm chart ships; the Lease rules in ferry-system only), with a token from the TokenRequest API: the tests run the operator with no
 * more rights than a real installation gives it.
 */
export function operatorKubeconfig(admin: string): string {
  const k = (args: string[], input?: string) =>
    execFileSync('kubectl', ['--kubeconfig', admin, ...args], {
      encoding: 'utf8',
      input,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
  const docs = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ferry-system' } },
    {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'ferry-operator', namespace: 'ferry-system' },
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'ferry-operator' },
      rules: OPERATOR_RULES,
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'ferry-operator' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'ferry-operator' },
      subjects: [{ kind: 'ServiceAccount', name: 'ferry-operator', namespace: 'ferry-system' }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'ferry-operator', namespace: 'ferry-system' },
      rules: LEADER_ELECTION_RULES,
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'ferry-operator', namespace: 'ferry-system' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'ferry-operator' },
      subjects: [{ kind: 'ServiceAccount', name: 'ferry-operator', namespace: 'ferry-system' }],
    },
  ];
  k(['apply', '-f', '-'], docs.map((d) => JSON.stringify(d)).join('\n'));
  const token = k(['-n', 'ferry-system', 'create', 'token', 'ferry-operator', '--duration=2h']).trim();
  const cfg = parse(readFileSync(admin, 'utf8')) as {
    clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
  };
  const cluster = cfg.clusters[0]!.cluster;
  const file = join(dirname(admin), 'operator.kubeconfig');
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster }],
      users: [{ name: 'ferry-operator', user: { token } }],
      contexts: [{ name: 'c', context: { cluster: 'c', user: 'ferry-operator', namespace: 'ferry-system' } }],
      'current-context': 'c',
    }),
  );
  return file;
}

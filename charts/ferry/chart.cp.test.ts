// The Helm chart: lint, golden renders, RBAC equal to what the operator's code declares, values
// checked by values.schema.json, and a real `helm install` whose operator (a Pod run by the pod
// runner, under the chart's ServiceAccount, in namespaces enforcing the restricted Pod Security
// Standard) drives a Migration to Completed.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binaries } from '../../hack/controlplane/controlplane.ts';
import { setUpRoles, type Roles } from '../../hack/fixtures/roles.ts';
import { startLocalPair, type LocalPair } from '../../hack/local-pair.ts';
import { freePort } from '../../hack/net.ts';
import { podRunnerChartValues } from '../../hack/pod-runner/chart-values.ts';
import { createSampleDatabase } from '../../hack/sample/sample.ts';
import { schemaDigests } from '../../test/support/snapshot.ts';
import { LEADER_ELECTION_RULES, OPERATOR_RULES } from '../../operator/rbac.ts';
import { migrationYaml, secretYaml } from '../../test/support/operator.ts';
import { eventually, kubeconfig, kubectl } from '../../test/controlplane/kube.ts';

const chart = resolve(import.meta.dirname);
const golden = join(chart, 'golden');
const helmBin = join(binaries(), 'helm');
const KUBE_VERSION = '1.36.3';

const helm = (args: string[]) =>
  execFileSync(helmBin, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const helmError = (args: string[]) => {
  try {
    helm(args);
  } catch (err) {
    return (err as { stderr: string }).stderr;
  }
  throw new Error(`helm ${args.join(' ')} succeeded, expected it to fail`);
};
const render = (...args: string[]) =>
  helm(['template', 'ferry', chart, '--namespace', 'ferry-system', '--kube-version', KUBE_VERSION, ...args]);

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- rendered manifests, inspected field by field
type Doc = Record<string, any>;
const docs = (text: string) =>
  parseAllDocuments(text)
    .map((d) => d.toJS() as Doc)
    .filter(Boolean);
const find = (all: Doc[], kind: string) => {
  const d = all.find((x) => x.kind === kind);
  if (!d) throw new Error(`the chart renders no ${kind}`);
  return d;
};

describe('chart: static', () => {
  it('passes helm lint --strict, with the defaults and with every option on', () => {
    expect(helm(['lint', '--strict', chart, '--kube-version', KUBE_VERSION])).toContain('0 chart(s) failed');
    expect(
      helm([
        'lint',
        '--strict',
        chart,
        '--kube-version',
        KUBE_VERSION,
        '-f',
        join(golden, 'all-options.values.yaml'),
      ]),
    ).toContain('0 chart(s) failed');
  });

  it.each([
    ['default', []],
    ['all-options', ['-f', join(golden, 'all-options.values.yaml')]],
  ])('renders golden/%s.yaml (UPDATE_GOLDEN=1 to accept a change)', (name, args) => {
    const file = join(golden, `${name}.yaml`);
    const out = render(...args);
    if (process.env['UPDATE_GOLDEN']) writeFileSync(file, out);
    expect(out).toBe(readFileSync(file, 'utf8'));
  });

  it('grants exactly the rules of operator/rbac.ts, bound to the Deployment’s ServiceAccount', () => {
    const all = docs(render());
    expect(find(all, 'ClusterRole').rules).toEqual(OPERATOR_RULES);
    const role = find(all, 'Role');
    expect(role.rules).toEqual(LEADER_ELECTION_RULES);
    expect(role.metadata.namespace).toBe('ferry-system');
    const account = find(all, 'Deployment').spec.template.spec.serviceAccountName;
    for (const kind of ['ClusterRoleBinding', 'RoleBinding'])
      expect(find(all, kind).subjects, kind).toEqual([
        { kind: 'ServiceAccount', name: account, namespace: 'ferry-system' },
      ]);
    expect(find(all, 'ServiceAccount').metadata.name).toBe(account);
    // Without leader election there is no Lease to touch, so no Role either.
    expect(docs(render('--set', 'leaderElection.enabled=false')).map((d) => d.kind)).not.toContain('Role');
  });

  it('runs two replicas with leader election, restricted security, one image for operator and transfers', () => {
    const d = find(docs(render()), 'Deployment');
    expect(d.spec.replicas).toBe(2);
    const pod = d.spec.template.spec;
    const c = pod.containers[0];
    expect(c.args).not.toContain('--no-leader-elect');
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(c.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    const env = Object.fromEntries(c.env.map((e: Doc) => [e.name, e.value ?? e.valueFrom]));
    expect(env['FERRY_IMAGE']).toBe(c.image);
    expect(c.image).toBe('ghcr.io/ferry-dev/ferry:0.1.0');
    expect(
      docs(render('--set', 'leaderElection.enabled=false')).find((x) => x.kind === 'Deployment')!.spec
        .template.spec.containers[0].args,
    ).toContain('--no-leader-elect');
    // A drain keeps one replica; a single replica gets no budget (it would block every drain).
    expect(find(docs(render()), 'PodDisruptionBudget').spec.minAvailable).toBe(1);
    expect(docs(render('--set', 'replicaCount=1')).map((x) => x.kind)).not.toContain('PodDisruptionBudget');
  });

  it.each([
    [['--set', 'replicaCount=-1'], 'replicaCount'],
    [['--set', 'metrics.port=70000'], '/metrics/port'],
    [['--set', 'imag.tag=0.2.0'], 'imag'],
    [['--set', 'logLevel=verbose'], 'logLevel'],
    [['--set', 'image.digest=latest'], '/image/digest'],
  ])('rejects bad values %j, naming %s', (args, field) => {
    const err = helmError(['template', 'ferry', chart, '--kube-version', KUBE_VERSION, ...args]);
    expect(err).toContain('values don');
    expect(err).toContain(field);
  });

  it('refuses a ServiceMonitor without the metrics Service it scrapes', () => {
    const err = helmError([
      'template',
      'ferry',
      chart,
      '--kube-version',
      KUBE_VERSION,
      '--set',
      'metrics.serviceMonitor.enabled=true',
      '--set',
      'metrics.service.enabled=false',
    ]);
    expect(err).toContain('metrics.serviceMonitor.enabled needs metrics.service.enabled');
  });

  it('ships the generated CRDs', () => {
    for (const f of ['ferry.dev_migrations.yaml', 'ferry.dev_tablegroups.yaml'])
      expect(readFileSync(join(chart, 'crds', f), 'utf8'), f).toBe(
        readFileSync(join(chart, '../../crds', f), 'utf8'),
      );
  });
});

describe('chart: helm install', () => {
  const release = 'ferry-helm';
  let pair: LocalPair;
  let roles: Roles;
  let metricsPort: number;
  const restricted = (ns: string) => {
    kubectl(['create', 'namespace', ns]);
    kubectl(['label', 'namespace', ns, 'pod-security.kubernetes.io/enforce=restricted']);
  };

  beforeAll(async () => {
    pair = await startLocalPair();
    // As users deploy: shop_app owns the data, ferry connects as ferry_migrator.
    roles = await setUpRoles(pair, { populate: (app) => createSampleDatabase(app, 'shop', 2e6) });
    metricsPort = await freePort();
  });
  afterAll(async () => {
    try {
      helm(['--kubeconfig', kubeconfig(), 'uninstall', 'ferry', '-n', release, '--wait']);
    } catch {
      // not installed: the test failed before
    }
    await pair?.stop();
  });

  it('installs the operator, which drives a Migration to Completed under the chart’s RBAC', async () => {
    restricted(release);
    helm([
      '--kubeconfig',
      kubeconfig(),
      'install',
      'ferry',
      chart,
      '-n',
      release,
      ...podRunnerChartValues(metricsPort),
      '--wait',
      '--timeout',
      '120s',
    ]);
    expect(
      kubectl(['-n', release, 'get', 'deployment', 'ferry', '-o', 'jsonpath={.status.readyReplicas}']),
    ).toBe('1');
    const holder = await eventually('the operator to take the Lease', () => {
      try {
        return (
          kubectl([
            '-n',
            release,
            'get',
            'lease',
            'ferry-operator',
            '-o',
            'jsonpath={.spec.holderIdentity}',
          ]) || undefined
        );
      } catch {
        return undefined;
      }
    });
    expect(holder).toBeTruthy();

    const ns = 'helm-shop';
    restricted(ns);
    kubectl(['-n', ns, 'apply', '-f', '-'], secretYaml(pair, roles));
    kubectl(
      ['-n', ns, 'apply', '-f', '-'],
      migrationYaml(pair, 'shop', { transfer: { tableGroups: 2 } }, roles),
    );
    try {
      kubectl([
        '-n',
        ns,
        'wait',
        '--for=jsonpath={.status.phase}=Completed',
        'migration/shop',
        '--timeout=180s',
      ]);
    } catch (err) {
      const status = kubectl(['-n', ns, 'get', 'migration', 'shop', '-o', 'jsonpath={.status}']);
      const pods = kubectl(['-n', release, 'get', 'pods', '-o', 'wide']);
      throw new Error(`${(err as Error).message}\nstatus: ${status}\noperator pods:\n${pods}`);
    }
    const [src, dst] = await Promise.all([
      schemaDigests(pair.source.url('shop'), 'shop'),
      schemaDigests(pair.target.url('shop'), 'shop'),
    ]);
    for (const [t, d] of Object.entries(src)) expect(dst[t], `table ${t}`).toEqual(d);

    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/ferry_migration_phase\{[^}]*name="shop"[^}]*phase="Completed"[^}]*\} 1/);

    helm(['--kubeconfig', kubeconfig(), 'uninstall', 'ferry', '-n', release, '--wait']);
    await eventually('the operator Pod to go', () =>
      kubectl(['-n', release, 'get', 'pods', '-o', 'name']).trim() === '' ? true : undefined,
    );
    // The CRDs (and so every Migration) outlive the release: Helm never deletes crds/.
    expect(kubectl(['-n', ns, 'get', 'migration', 'shop', '-o', 'name'])).toContain(
      'migration.ferry.dev/shop',
    );
  });
});

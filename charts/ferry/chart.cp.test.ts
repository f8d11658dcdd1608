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

  it('with watchNamespaces, grants the rules of operator/rbac.ts in each watched namespace and nothing cluster-wide', () => {
    const all = docs(render('--set', 'watchNamespaces={shop,billing}'));
    const kinds = all.map((d) => d.kind);
    expect(kinds).not.toContain('ClusterRole');
    expect(kinds).not.toContain('ClusterRoleBinding');
    const account = find(all, 'Deployment').spec.template.spec.serviceAccountName;
    const subjects = [{ kind: 'ServiceAccount', name: account, namespace: 'ferry-system' }];
    const roles = all.filter((d) => d.kind === 'Role');
    const bindings = all.filter((d) => d.kind === 'RoleBinding');
    const inNs = (list: Doc[], ns: string) => list.filter((d) => d.metadata.namespace === ns);
    for (const ns of ['shop', 'billing']) {
      expect(
        inNs(roles, ns).map((r) => r.rules),
        ns,
      ).toEqual([OPERATOR_RULES]);
      const [b] = inNs(bindings, ns);
      expect(b?.roleRef, ns).toEqual({
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'Role',
        name: inNs(roles, ns)[0]!.metadata.name,
      });
      expect(b?.subjects, ns).toEqual(subjects);
    }
    // The Lease Role stays in the release namespace, and nothing else is granted anywhere.
    expect(inNs(roles, 'ferry-system').map((r) => r.rules)).toEqual([LEADER_ELECTION_RULES]);
    expect(roles).toHaveLength(3);
    expect(bindings).toHaveLength(3);
    const env = find(all, 'Deployment').spec.template.spec.containers[0].env as Doc[];
    expect(env.find((e) => e.name === 'FERRY_WATCH_NAMESPACES')?.value).toBe('shop,billing');
    // Cluster-wide by default: the operator gets no namespace list.
    const defaults = find(docs(render()), 'Deployment').spec.template.spec.containers[0].env as Doc[];
    expect(defaults.map((e) => e.name)).not.toContain('FERRY_WATCH_NAMESPACES');
  });

  it('hands the transfer image allowlist to the operator; none by default', () => {
    const env = (...args: string[]) =>
      find(docs(render(...args)), 'Deployment').spec.template.spec.containers[0].env as Doc[];
    expect(
      env('--set', 'transferPod.allowedImages={r.example/ferry:*,r.example/x:1}').find(
        (e) => e.name === 'FERRY_TRANSFER_IMAGES_ALLOWED',
      )?.value,
    ).toBe('r.example/ferry:*,r.example/x:1');
    expect(env().map((e) => e.name)).not.toContain('FERRY_TRANSFER_IMAGES_ALLOWED');
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
    // What the README's `docker build -t ferry:0.1.0 .` produces: no made-up registry.
    expect(c.image).toBe('ferry:0.1.0');
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
    [['--set', 'watchNamespaces={Shop}'], '/watchNamespaces/0'],
    [['--set', 'watchNamespaces={shop,shop}'], '/watchNamespaces'],
    [['--set', 'transferPod.allowedImages={*}'], '/transferPod/allowedImages/0'],
    [['--set', 'transferPod.allowedImages={a/*/b}'], '/transferPod/allowedImages/0'],
    [['--set', 'transferPod.allowed={a}'], 'allowed'],
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

  it('ships the generated CRDs, which `helm show crds` (the upgrade path in NOTES) prints', () => {
    const files = ['ferry.dev_migrations.yaml', 'ferry.dev_tablegroups.yaml'];
    for (const f of files)
      expect(readFileSync(join(chart, 'crds', f), 'utf8'), f).toBe(
        readFileSync(join(chart, '../../crds', f), 'utf8'),
      );
    const shown = docs(helm(['show', 'crds', chart]));
    expect(shown.map((d) => d.metadata.name).sort()).toEqual([
      'migrations.ferry.dev',
      'tablegroups.ferry.dev',
    ]);
    expect(readFileSync(join(chart, 'templates', 'NOTES.txt'), 'utf8')).toContain(
      'helm show crds <chart> | kubectl apply --server-side -f -',
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

  it('installs the operator scoped to one namespace, which drives a Migration to Completed under the chart’s RBAC, refuses a transfer image off its allowlist and leaves other namespaces alone', async () => {
    restricted(release);
    const ns = 'helm-shop';
    const elsewhere = 'helm-unwatched';
    restricted(ns);
    restricted(elsewhere);
    helm([
      '--kubeconfig',
      kubeconfig(),
      'install',
      'ferry',
      chart,
      '-n',
      release,
      ...podRunnerChartValues(metricsPort),
      '--set',
      `watchNamespaces={${ns}}`,
      '--set',
      'transferPod.allowedImages={registry.example.com/ferry:*}',
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

    kubectl(['-n', ns, 'apply', '-f', '-'], secretYaml(pair, roles));
    kubectl(['-n', elsewhere, 'apply', '-f', '-'], secretYaml(pair, roles));
    kubectl(['-n', elsewhere, 'apply', '-f', '-'], migrationYaml(pair, 'shop', {}, roles));
    const evilImage = 'registry.example.com/other:1';
    kubectl(
      ['-n', ns, 'apply', '-f', '-'],
      migrationYaml(pair, 'evil', { transferPod: { image: evilImage } }, roles),
    );
    const refused = await eventually('the image override to be refused', () => {
      const st = JSON.parse(
        kubectl(['-n', ns, 'get', 'migration', 'evil', '-o', 'jsonpath={.status}']) || '{}',
      ) as Doc;
      return st['phase'] === 'Failed' ? st : undefined;
    });
    expect(refused['conditions'].find((c: Doc) => c.type === 'Degraded')).toMatchObject({
      status: 'True',
      reason: 'InvalidSpec',
      message: expect.stringContaining(
        `spec.transferPod.image: ${evilImage} is refused: it is not in the operator's allowlist (registry.example.com/ferry:*)`,
      ),
    });
    expect(kubectl(['-n', ns, 'get', 'pods', '-o', 'name']).trim()).toBe('');
    kubectl(['-n', ns, 'delete', 'migration', 'evil', '--timeout=60s']);
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
    // Outside watchNamespaces the operator neither sees nor touches a Migration.
    expect(
      kubectl([
        '-n',
        elsewhere,
        'get',
        'migration',
        'shop',
        '-o',
        'jsonpath={.status}{.metadata.finalizers}',
      ]),
    ).toBe('');
    // Later tests run cluster-wide operators: they must not inherit a Migration whose servers are gone.
    kubectl(['-n', elsewhere, 'delete', 'migration', 'shop', '--timeout=60s']);

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

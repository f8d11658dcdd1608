// The control plane and the pod runner, exercised the way the operator tests will use them.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { clients, eventually, kubectl, namespace } from '../../test/controlplane/kube.ts';
import { binaries, startControlPlane } from './controlplane.ts';

const CRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: { name: widgets.test.ferry.dev }
spec:
  group: test.ferry.dev
  scope: Namespaced
  names: { plural: widgets, singular: widget, kind: Widget }
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            description: What a widget should be.
            properties:
              size: { type: integer, description: 'How large the widget is, in millimetres.' }
`;

function pod(name: string, command: string[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox', command, ...extra }] },
  });
}

async function phaseOf(ns: string, name: string, want: string[]): Promise<Record<string, unknown>> {
  const { core } = clients();
  return eventually(`pod ${ns}/${name} to reach ${want.join(' or ')}`, async () => {
    const p = await core.readNamespacedPod({ name, namespace: ns });
    return want.includes(p.status?.phase ?? '') ? (p as unknown as Record<string, unknown>) : undefined;
  });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('control plane', () => {
  it('serves kubectl: namespaces, a CRD, get and explain', () => {
    const ns = namespace('kubectl');
    kubectl(['apply', '-f', '-'], CRD);
    kubectl(['wait', '--for=condition=Established', 'crd/widgets.test.ferry.dev']);
    kubectl(
      ['-n', ns, 'apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'test.ferry.dev/v1',
        kind: 'Widget',
        metadata: { name: 'w1' },
        spec: { size: 3 },
      }),
    );
    expect(kubectl(['-n', ns, 'get', 'widgets', '-o', 'jsonpath={.items[0].spec.size}'])).toBe('3');
    expect(kubectl(['explain', 'widgets.spec.size'])).toContain('How large the widget is, in millimetres.');
    expect(kubectl(['version', '-o', 'json'])).toMatch(/"gitVersion": "v1\.36\.\d+"/);
  });

  it('garbage-collects the objects an owner owns', async () => {
    const ns = namespace('gc');
    const { core } = clients();
    const owner = await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'owner' } },
    });
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: {
        metadata: {
          name: 'owned',
          ownerReferences: [
            {
              apiVersion: 'v1',
              kind: 'ConfigMap',
              name: 'owner',
              uid: owner.metadata!.uid!,
              controller: true,
            },
          ],
        },
      },
    });
    await core.deleteNamespacedConfigMap({ name: 'owner', namespace: ns });
    await eventually('the owned ConfigMap to be collected', async () =>
      core.readNamespacedConfigMap({ name: 'owned', namespace: ns }).then(
        () => undefined,
        (e: { code?: number }) => e.code === 404 || undefined,
      ),
    );
  });
});

describe('pod runner', () => {
  it('runs a Pod whose command succeeds to Succeeded, and one that exits 3 to Failed with exit code 3', async () => {
    const ns = namespace('pods');
    kubectl(['-n', ns, 'apply', '-f', '-'], pod('ok', ['sh', '-c', 'echo hello from $HOSTNAME-less pod']));
    kubectl(['-n', ns, 'apply', '-f', '-'], pod('three', ['sh', '-c', 'exit 3']));
    await phaseOf(ns, 'ok', ['Succeeded']);
    const failed = (await phaseOf(ns, 'three', ['Failed'])) as {
      status: { containerStatuses: { state: { terminated: { exitCode: number; reason: string } } }[] };
    };
    expect(failed.status.containerStatuses[0]!.state.terminated).toMatchObject({
      exitCode: 3,
      reason: 'Error',
    });
    expect(kubectl(['-n', ns, 'get', 'pod', 'ok', '-o', 'jsonpath={.spec.nodeName}'])).toBe('ferry-local');
    const logs = inject('podLogs');
    if (logs) expect(readFileSync(join(logs, `${ns}_ok_main.log`), 'utf8')).toContain('hello from');
  });

  it('kills the process when its Pod is deleted', async () => {
    const ns = namespace('kill');
    const dir = mkdtempSync(join(tmpdir(), 'ferry-pod-'));
    kubectl(
      ['-n', ns, 'apply', '-f', '-'],
      pod('sleeper', ['sh', '-c', `echo $$ > ${dir}/pid; exec sleep 600`]),
    );
    await phaseOf(ns, 'sleeper', ['Running']);
    const pid = await eventually('the pid file', () =>
      existsSync(join(dir, 'pid')) ? Number(readFileSync(join(dir, 'pid'), 'utf8')) : undefined,
    );
    await eventually('the process to be alive', () => alive(pid) || undefined);
    kubectl(['-n', ns, 'delete', 'pod', 'sleeper', '--wait=true', '--timeout=60s']);
    await eventually(`process ${pid} to be killed`, () => !alive(pid) || undefined);
  });

  it('passes a value from a Secret into the process environment, and reports a missing one', async () => {
    const ns = namespace('env');
    kubectl(['-n', ns, 'create', 'secret', 'generic', 'db', '--from-literal=password=s3cr3t-value']);
    const env = { env: [{ name: 'PW', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }] };
    kubectl(
      ['-n', ns, 'apply', '-f', '-'],
      pod('reads-secret', ['sh', '-c', 'test "$PW" = s3cr3t-value'], env),
    );
    await phaseOf(ns, 'reads-secret', ['Succeeded']);
    const missing = { env: [{ name: 'PW', valueFrom: { secretKeyRef: { name: 'nope', key: 'password' } } }] };
    kubectl(['-n', ns, 'apply', '-f', '-'], pod('no-secret', ['true'], missing));
    const { core } = clients();
    const waiting = await eventually('CreateContainerConfigError', async () => {
      const p = await core.readNamespacedPod({ name: 'no-secret', namespace: ns });
      return p.status?.containerStatuses?.[0]?.state?.waiting;
    });
    expect(waiting).toMatchObject({
      reason: 'CreateContainerConfigError',
      message: 'secret "nope" not found',
    });
  });
});

describe('cached build', () => {
  it('a second start reuses the cached binaries and is ready in seconds', async () => {
    const t0 = performance.now();
    binaries();
    const build = (performance.now() - t0) / 1000;
    const cp = await startControlPlane();
    const ready = (performance.now() - t0) / 1000;
    try {
      expect(build, 'cached build check, seconds').toBeLessThan(10);
      expect(ready, 'second control plane ready, seconds').toBeLessThan(30);
    } finally {
      await cp.stop();
    }
    expect(existsSync(cp.dir)).toBe(false);
  });
});

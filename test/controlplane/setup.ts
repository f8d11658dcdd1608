// Global setup of the control-plane test tier: one real control plane (and the pod runner) for the
// whole run, with the CRDs from crds/ applied. With FERRY_TEST_KUBECONFIG pointing at a real cluster
// (kind, say) the tier runs there instead, and no pod runner is started: the cluster has kubelets.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startControlPlane } from '../../hack/controlplane/controlplane.ts';
import { startPodRunner } from '../../hack/pod-runner/runner.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfig: string;
    /** Where the pod runner writes container logs; empty on a real cluster. */
    podLogs: string;
  }
}

const crds = resolve(import.meta.dirname, '../../crds');

function applyCrds(kubeconfig: string): void {
  if (!existsSync(crds) || !readdirSync(crds).some((f) => f.endsWith('.yaml'))) return;
  execFileSync('kubectl', ['--kubeconfig', kubeconfig, 'apply', '--server-side', '-f', crds], {
    stdio: 'inherit',
  });
  execFileSync(
    'kubectl',
    ['--kubeconfig', kubeconfig, 'wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all'],
    {
      stdio: 'inherit',
    },
  );
}

export default async function setup(project: TestProject) {
  const external = process.env['FERRY_TEST_KUBECONFIG'];
  if (external) {
    applyCrds(external);
    project.provide('kubeconfig', external);
    project.provide('podLogs', '');
    return;
  }
  const cp = await startControlPlane();
  const podLogs = join(cp.dir, 'pods');
  const runner = await startPodRunner({ kubeconfig: cp.kubeconfig, logDir: podLogs });
  applyCrds(cp.kubeconfig);
  project.provide('kubeconfig', cp.kubeconfig);
  project.provide('podLogs', podLogs);
  return async () => {
    await runner.stop();
    await cp.stop();
  };
}

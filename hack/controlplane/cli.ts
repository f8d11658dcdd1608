// `npm run cluster:up` / `npm run cluster:down`: a local control plane (and the pod runner) that
// outlives the command, for kubectl and the demo. State lives in .ferry/cluster.json.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startControlPlane, stopProcesses } from './controlplane.ts';

const root = resolve(import.meta.dirname, '../..');
const stateFile = join(root, '.ferry', 'cluster.json');

interface State {
  dir: string;
  kubeconfig: string;
  pids: number[];
  logs: string;
}

async function up(): Promise<void> {
  if (existsSync(stateFile)) {
    const s = JSON.parse(readFileSync(stateFile, 'utf8')) as State;
    console.error(`already up; kubeconfig:`);
    console.log(s.kubeconfig);
    return;
  }
  const cp = await startControlPlane();
  const logs = join(root, '.ferry', 'pods');
  mkdirSync(logs, { recursive: true });
  const out = openSync(join(cp.dir, 'pod-runner.log'), 'a');
  const runner = spawn(
    process.execPath,
    [join(root, 'hack/pod-runner/main.ts'), '--kubeconfig', cp.kubeconfig, '--logs', logs],
    {
      detached: true,
      stdio: ['ignore', out, out],
    },
  );
  closeSync(out);
  runner.unref();
  const state: State = { dir: cp.dir, kubeconfig: cp.kubeconfig, pids: [...cp.pids, runner.pid!], logs };
  writeFileSync(stateFile, JSON.stringify(state, null, 2));
  console.error(
    `control plane up (etcd, kube-apiserver, kube-controller-manager, pod runner); pod logs in ${logs}`,
  );
  console.error(`export KUBECONFIG=${cp.kubeconfig}`);
  console.log(cp.kubeconfig);
}

async function down(): Promise<void> {
  if (!existsSync(stateFile)) {
    console.error('not up');
    return;
  }
  const s = JSON.parse(readFileSync(stateFile, 'utf8')) as State;
  await stopProcesses(s.pids, s.dir);
  rmSync(stateFile);
  console.error('control plane stopped');
}

const cmd = process.argv[2];
if (cmd === 'up') await up();
else if (cmd === 'down') await down();
else {
  console.error('usage: cli.ts up|down');
  process.exit(2);
}

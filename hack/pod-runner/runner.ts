// A stand-in for the kubelet in this environment (no container runtime, no kubelet): it registers a
// Node, binds pending Pods to it (there is no scheduler either), runs each container's command as a
// local process with the Pod's environment, writes Pod status as a kubelet would, and kills the
// process when the Pod is deleted. Pods with a service account get its token (see service-account.ts);
// a claim bound to a hostPath volume is that host directory (see volumes.ts).
// Test and demo infrastructure only: the operator does not know it
// exists. The image's `ferry` entrypoint maps to this checkout's bin/ferry.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { resolveEnv, EnvError } from './env.ts';
import { removeServiceAccount, serviceAccountEnv } from './service-account.ts';
import { hostMounts, hostPath, unboundClaim } from './volumes.ts';

export interface PodRunnerOptions {
  kubeconfig: string;
  logDir: string;
  nodeName?: string;
  /** How often the runner looks at Pods. */
  intervalMs?: number;
}

export interface PodRunner {
  nodeName: string;
  logFile(namespace: string, pod: string, container: string): string;
  stop(): Promise<void>;
}

const FERRY = resolve(import.meta.dirname, '../../bin/ferry');
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

interface Running {
  pod: k8s.V1Pod;
  procs: Map<string, ChildProcess>;
  exits: Map<string, { code: number; signal: string | null; at: string; message?: string }>;
  restarts: Map<string, number>;
  startedAt: Map<string, string>;
  deleting: boolean;
}

/** The command a container runs here: `ferry ...` (the image's entrypoint) becomes this checkout's CLI. */
export function commandOf(c: k8s.V1Container): string[] {
  const argv = [...(c.command ?? []), ...(c.args ?? [])];
  if (argv.length === 0) return [FERRY];
  if (argv[0] === 'ferry' || argv[0] === '/usr/local/bin/ferry') return [FERRY, ...argv.slice(1)];
  return argv;
}

export async function startPodRunner(opts: PodRunnerOptions): Promise<PodRunner> {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(opts.kubeconfig);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const nodeName = opts.nodeName ?? 'ferry-local';
  const running = new Map<string, Running>();
  mkdirSync(opts.logDir, { recursive: true });
  const logFile = (ns: string, pod: string, container: string) =>
    join(opts.logDir, `${ns}_${pod}_${container}.log`);
  const credentialsDir = (pod: k8s.V1Pod) => join(opts.logDir, '.serviceaccount', pod.metadata!.uid!);

  await registerNode(core, nodeName);
  let stopped = false;

  const patchStatus = async (pod: k8s.V1Pod, status: k8s.V1PodStatus) => {
    try {
      await core.patchNamespacedPodStatus(
        { name: pod.metadata!.name!, namespace: pod.metadata!.namespace!, body: { status } },
        mergePatch,
      );
    } catch (err) {
      if ((err as { code?: number }).code !== 404) throw err;
    }
  };

  const statusOf = (r: Running): k8s.V1PodStatus => {
    const containers = r.pod.spec!.containers;
    const policy = r.pod.spec!.restartPolicy ?? 'Always';
    const states = containers.map((c) => {
      const exit = r.exits.get(c.name);
      const proc = r.procs.get(c.name);
      const state: k8s.V1ContainerState =
        proc && !exit
          ? { running: { startedAt: new Date(r.startedAt.get(c.name)!) } }
          : exit
            ? {
                terminated: {
                  exitCode: exit.code,
                  signal: exit.signal ? 15 : undefined,
                  reason: exit.code === 0 ? 'Completed' : 'Error',
                  message: exit.message,
                  startedAt: new Date(r.startedAt.get(c.name)!),
                  finishedAt: new Date(exit.at),
                },
              }
            : { waiting: { reason: 'ContainerCreating' } };
      return {
        name: c.name,
        image: c.image ?? '',
        imageID: '',
        ready: !!state.running,
        started: !!state.running,
        restartCount: r.restarts.get(c.name) ?? 0,
        state,
      } satisfies k8s.V1ContainerStatus;
    });
    const terminal = (code: number) => policy === 'Never' || (policy === 'OnFailure' && code === 0);
    const done = containers.every((c) => r.exits.has(c.name) && terminal(r.exits.get(c.name)!.code));
    const phase = done
      ? containers.every((c) => r.exits.get(c.name)!.code === 0)
        ? 'Succeeded'
        : 'Failed'
      : 'Running';
    const ready = states.every((s) => s.ready);
    const now = new Date();
    return {
      phase,
      hostIP: '127.0.0.1',
      podIP: '127.0.0.1',
      podIPs: [{ ip: '127.0.0.1' }],
      startTime: new Date(r.pod.status?.startTime ?? now),
      conditions: [
        { type: 'PodScheduled', status: 'True', lastTransitionTime: now },
        { type: 'Initialized', status: 'True', lastTransitionTime: now },
        { type: 'ContainersReady', status: ready ? 'True' : 'False', lastTransitionTime: now },
        { type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: now },
      ],
      containerStatuses: states,
    };
  };

  const startContainer = (r: Running, c: k8s.V1Container, launch: Launch) => {
    const { env, mounts } = launch;
    const ns = r.pod.metadata!.namespace!;
    const name = r.pod.metadata!.name!;
    const argv = commandOf(c).map((a) => hostPath(a, mounts));
    const file = logFile(ns, name, c.name);
    const log = openSync(file, 'a');
    const child = spawn(argv[0]!, argv.slice(1), {
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/tmp', ...env },
      cwd: c.workingDir,
      stdio: ['ignore', log, log],
      detached: true,
    });
    closeSync(log);
    r.procs.set(c.name, child);
    r.exits.delete(c.name);
    r.startedAt.set(c.name, new Date().toISOString());
    child.on('error', () => {});
    child.on('exit', (code, signal) => {
      const failed = code !== 0;
      r.exits.set(c.name, {
        code: code ?? 128 + 15,
        signal,
        at: new Date().toISOString(),
        // As the kubelet does with this policy: the end of the log says why it failed.
        ...(failed && c.terminationMessagePolicy === 'FallbackToLogsOnError' && { message: logTail(file) }),
      });
      r.procs.delete(c.name);
      if (r.deleting || stopped) return;
      const policy = r.pod.spec!.restartPolicy ?? 'Always';
      const again = policy === 'Always' || (policy === 'OnFailure' && code !== 0);
      void patchStatus(r.pod, statusOf(r)).catch(() => {});
      if (again) {
        const n = (r.restarts.get(c.name) ?? 0) + 1;
        r.restarts.set(c.name, n);
        setTimeout(
          () => !r.deleting && !stopped && startContainer(r, c, launch),
          Math.min(500 * 2 ** (n - 1), 10_000),
        );
      }
    });
  };

  const start = async (pod: k8s.V1Pod) => {
    const r: Running = {
      pod,
      procs: new Map(),
      exits: new Map(),
      restarts: new Map(),
      startedAt: new Map(),
      deleting: false,
    };
    const launches: Launch[] = [];
    try {
      const account = await serviceAccountEnv(core, kc.getCurrentCluster()!, pod, credentialsDir(pod));
      for (const c of pod.spec!.containers) {
        const mounts = await hostMounts(core, pod, c);
        const env = Object.fromEntries(
          Object.entries({ ...account, ...(await resolveEnv(core, pod, c)) }).map(([k, v]) => [
            k,
            hostPath(v, mounts),
          ]),
        );
        launches.push({ env, mounts });
      }
    } catch (err) {
      if (!(err instanceof EnvError)) throw err;
      // What the kubelet reports when a referenced Secret or key is missing; retried next round.
      await patchStatus(pod, {
        phase: 'Pending',
        containerStatuses: pod.spec!.containers.map((c) => ({
          name: c.name,
          image: c.image ?? '',
          imageID: '',
          ready: false,
          restartCount: 0,
          state: { waiting: { reason: 'CreateContainerConfigError', message: err.message } },
        })),
      });
      return;
    }
    running.set(pod.metadata!.uid!, r);
    pod.spec!.containers.forEach((c, i) => startContainer(r, c, launches[i]!));
    await patchStatus(pod, statusOf(r));
  };

  const kill = async (r: Running, graceSeconds: number) => {
    r.deleting = true;
    for (const p of r.procs.values()) signal(p, 'SIGTERM');
    const deadline = Date.now() + graceSeconds * 1000;
    while (r.procs.size && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
    for (const p of r.procs.values()) signal(p, 'SIGKILL');
    removeServiceAccount(credentialsDir(r.pod));
  };

  const reconcile = async () => {
    const { items } = await core.listPodForAllNamespaces({});
    const seen = new Set<string>();
    for (const pod of items) {
      const uid = pod.metadata!.uid!;
      seen.add(uid);
      const spec = pod.spec!;
      if (!spec.nodeName) {
        if (pod.metadata!.deletionTimestamp || !matchesNode(spec, nodeName)) continue;
        // As the scheduler: not before its claims are bound.
        if (await unboundClaim(core, pod)) continue;
        await core
          .createNamespacedPodBinding({
            name: pod.metadata!.name!,
            namespace: pod.metadata!.namespace!,
            body: { metadata: { name: pod.metadata!.name! }, target: { kind: 'Node', name: nodeName } },
          })
          .catch(() => {});
        continue;
      }
      if (spec.nodeName !== nodeName) continue;
      const r = running.get(uid);
      if (pod.metadata!.deletionTimestamp) {
        if (r && !r.deleting) await kill(r, Math.min(pod.metadata!.deletionGracePeriodSeconds ?? 30, 5));
        // The kubelet confirms a graceful deletion once the containers are gone.
        await core
          .deleteNamespacedPod({
            name: pod.metadata!.name!,
            namespace: pod.metadata!.namespace!,
            gracePeriodSeconds: 0,
          })
          .catch(() => {});
        running.delete(uid);
        continue;
      }
      if (r) {
        r.pod = pod;
        continue;
      }
      if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') continue;
      await start(pod);
    }
    for (const [uid, r] of running) {
      if (!seen.has(uid)) {
        await kill(r, 0);
        running.delete(uid);
      }
    }
  };

  let timer: NodeJS.Timeout | undefined;
  const loop = async () => {
    try {
      await reconcile();
    } catch (err) {
      console.error(`pod runner: ${(err as Error).message}`);
    }
    if (!stopped) timer = setTimeout(loop, opts.intervalMs ?? 300);
  };
  void loop();

  return {
    nodeName,
    logFile,
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await Promise.all([...running.values()].map((r) => kill(r, 2)));
      running.clear();
    },
  };
}

/** What a container gets: its environment and, for the paths it is handed, its mounts (volumes.ts). */
interface Launch {
  env: Record<string, string>;
  mounts: Map<string, string>;
}

/** The last lines of a log, as the kubelet's FallbackToLogsOnError takes them (at most 80 lines, 2 KiB). */
function logTail(file: string): string {
  const text = readFileSync(file);
  return text
    .subarray(Math.max(0, text.length - 2048))
    .toString('utf8')
    .split('\n')
    .slice(-80)
    .join('\n');
}

function signal(p: ChildProcess, sig: NodeJS.Signals): void {
  try {
    // The process group: a container's command may have children of its own.
    process.kill(-p.pid!, sig);
  } catch {
    p.kill(sig);
  }
}

const nodeLabels = (name: string): Record<string, string> => ({
  'kubernetes.io/hostname': name,
  'kubernetes.io/os': 'linux',
});

function matchesNode(spec: k8s.V1PodSpec, nodeName: string): boolean {
  if (spec.schedulerName && spec.schedulerName !== 'default-scheduler') return false;
  const labels = nodeLabels(nodeName);
  return Object.entries(spec.nodeSelector ?? {}).every(([k, v]) => labels[k] === v);
}

async function registerNode(core: k8s.CoreV1Api, name: string): Promise<void> {
  await core
    .createNode({ body: { metadata: { name, labels: nodeLabels(name) } } })
    .catch((err: { code?: number }) => {
      if (err.code !== 409) throw err;
    });
  const now = new Date();
  await core.patchNodeStatus(
    {
      name,
      body: {
        status: {
          conditions: [
            {
              type: 'Ready',
              status: 'True',
              reason: 'FerryPodRunner',
              message: 'local processes',
              lastHeartbeatTime: now,
              lastTransitionTime: now,
            },
          ],
          addresses: [{ type: 'InternalIP', address: '127.0.0.1' }],
          capacity: { cpu: '2', memory: '24Gi', pods: '110' },
          allocatable: { cpu: '2', memory: '24Gi', pods: '110' },
        },
      },
    },
    mergePatch,
  );
}

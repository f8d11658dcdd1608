// A real Kubernetes control plane on loopback, as envtest provides one: etcd, kube-apiserver (RBAC
// on, client-certificate auth) and kube-controller-manager (garbage collection, namespaces,
// service-account tokens, deployments, volume binding). Each start has its own ports and data
// directory, so several run side by side. Binaries come from build.sh (built from source, cached).
// Every process is ours, recorded by pid, and stopped by pid; the data directory is removed.
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort, waitFor } from '../net.ts';

export interface ControlPlane {
  dir: string;
  /** Admin kubeconfig (system:masters): for kubectl and the tests. */
  kubeconfig: string;
  server: string;
  pids: number[];
  stop(): Promise<void>;
}

const BUILD = resolve(import.meta.dirname, 'build.sh');

/** The directory with etcd, kube-apiserver, kube-controller-manager and helm; builds them the first time. */
export function binaries(): string {
  const out = execFileSync('bash', [BUILD], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return out.trim().split('\n').pop()!;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA, the apiserver's serving certificate, client certificates, and the service-account key. */
function certificates(dir: string): void {
  const ec = (name: string) =>
    openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`], dir);
  ec('ca');
  openssl(
    ['req', '-x509', '-new', '-key', 'ca.key', '-subj', '/CN=ferry-test-ca', '-days', '30', '-out', 'ca.crt'],
    dir,
  );
  const sign = (name: string, subj: string, ext?: string) => {
    ec(name);
    openssl(['req', '-new', '-key', `${name}.key`, '-subj', subj, '-out', `${name}.csr`], dir);
    const extArgs: string[] = [];
    if (ext) {
      writeFileSync(join(dir, `${name}.ext`), ext);
      extArgs.push('-extfile', `${name}.ext`);
    }
    openssl(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-days',
        '30',
        '-out',
        `${name}.crt`,
        ...extArgs,
      ],
      dir,
    );
  };
  sign(
    'apiserver',
    '/CN=kube-apiserver',
    'subjectAltName=IP:127.0.0.1,DNS:localhost,IP:10.0.0.1,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n',
  );
  sign('admin', '/O=system:masters/CN=ferry-admin', 'extendedKeyUsage=clientAuth\n');
  sign('kcm', '/CN=system:kube-controller-manager', 'extendedKeyUsage=clientAuth\n');
  openssl(['genrsa', '-out', 'sa.key', '2048'], dir);
  openssl(['rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], dir);
}

const b64 = (dir: string, f: string) => readFileSync(join(dir, f)).toString('base64');

export function kubeconfigYaml(
  server: string,
  ca: string,
  user: string,
  auth: Record<string, string>,
): string {
  const authLines = Object.entries(auth)
    .map(([k, v]) => `    ${k}: ${v}`)
    .join('\n');
  return `apiVersion: v1
kind: Config
clusters:
- name: ferry-local
  cluster:
    server: ${server}
    certificate-authority-data: ${ca}
users:
- name: ${user}
  user:
${authLines}
contexts:
- name: ferry-local
  context:
    cluster: ferry-local
    user: ${user}
    namespace: default
current-context: ferry-local
`;
}

function startProcess(dir: string, bin: string, name: string, args: string[]): number {
  const log = openSync(join(dir, `${name}.log`), 'a');
  const child = spawn(join(bin, name), args, { detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  child.unref();
  if (!child.pid) throw new Error(`${name} did not start`);
  return child.pid;
}

function get(url: string, dir: string): Promise<number> {
  return new Promise((res) => {
    const req = request(
      url,
      {
        ca: readFileSync(join(dir, 'ca.crt')),
        cert: readFileSync(join(dir, 'admin.crt')),
        key: readFileSync(join(dir, 'admin.key')),
        timeout: 2000,
      },
      (r) => {
        r.resume();
        res(r.statusCode ?? 0);
      },
    );
    req.on('error', () => res(0));
    req.on('timeout', () => req.destroy());
    req.end();
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

export async function stopProcesses(pids: number[], dir: string): Promise<void> {
  for (const pid of [...pids].reverse()) {
    if (!alive(pid)) continue;
    process.kill(pid, 'SIGTERM');
    try {
      await waitFor(async () => !alive(pid), 10_000, `pid ${pid} to stop`);
    } catch {
      process.kill(pid, 'SIGKILL');
    }
  }
  rmSync(dir, { recursive: true, force: true });
}

export async function startControlPlane(
  opts: { bin?: string; baseDir?: string } = {},
): Promise<ControlPlane> {
  const bin = opts.bin ?? binaries();
  const dir = mkdtempSync(join(opts.baseDir ?? tmpdir(), 'ferry-k8s-'));
  certificates(dir);
  const [etcdClient, etcdPeer, apiPort, kcmPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const pids: number[] = [];
  const stop = () => stopProcesses(pids, dir);
  try {
    pids.push(
      startProcess(dir, bin, 'etcd', [
        `--data-dir=${join(dir, 'etcd')}`,
        `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
        `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
        `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-cluster=default=http://127.0.0.1:${etcdPeer}`,
        '--unsafe-no-fsync',
      ]),
    );
    const server = `https://127.0.0.1:${apiPort}`;
    pids.push(
      startProcess(dir, bin, 'kube-apiserver', [
        `--etcd-servers=http://127.0.0.1:${etcdClient}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${apiPort}`,
        '--advertise-address=127.0.0.1',
        '--endpoint-reconciler-type=none',
        `--tls-cert-file=${join(dir, 'apiserver.crt')}`,
        `--tls-private-key-file=${join(dir, 'apiserver.key')}`,
        `--client-ca-file=${join(dir, 'ca.crt')}`,
        '--service-account-issuer=https://kubernetes.default.svc',
        `--service-account-key-file=${join(dir, 'sa.pub')}`,
        `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
        '--service-cluster-ip-range=10.0.0.0/24',
        '--authorization-mode=RBAC',
        '--allow-privileged=true',
      ]),
    );
    await waitFor(
      async () => (await get(`${server}/readyz`, dir)) === 200,
      90_000,
      `kube-apiserver on ${server} (log: ${dir}/kube-apiserver.log)`,
    );
    const ca = b64(dir, 'ca.crt');
    const kubeconfig = join(dir, 'admin.kubeconfig');
    writeFileSync(
      kubeconfig,
      kubeconfigYaml(server, ca, 'ferry-admin', {
        'client-certificate-data': b64(dir, 'admin.crt'),
        'client-key-data': b64(dir, 'admin.key'),
      }),
    );
    const kcmConfig = join(dir, 'kcm.kubeconfig');
    writeFileSync(
      kcmConfig,
      kubeconfigYaml(server, ca, 'kcm', {
        'client-certificate-data': b64(dir, 'kcm.crt'),
        'client-key-data': b64(dir, 'kcm.key'),
      }),
    );
    pids.push(
      startProcess(dir, bin, 'kube-controller-manager', [
        `--kubeconfig=${kcmConfig}`,
        `--authentication-kubeconfig=${kcmConfig}`,
        `--authorization-kubeconfig=${kcmConfig}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${kcmPort}`,
        `--root-ca-file=${join(dir, 'ca.crt')}`,
        `--service-account-private-key-file=${join(dir, 'sa.key')}`,
        '--use-service-account-credentials=true',
        '--leader-elect=false',
        // No kubelet runs here: node lifecycle would evict the pods of the local runner's Node.
        // persistentvolume-binder binds claims to volumes (the pod runner maps hostPath ones); the
        // protection controllers let a used claim or volume be deleted once nothing uses it.
        '--controllers=garbagecollector,namespace,serviceaccount,serviceaccount-token,deployment,replicaset,job,clusterrole-aggregation,persistentvolume-binder,pvc-protection,pv-protection',
      ]),
    );
    writeFileSync(join(dir, 'pids'), pids.join('\n'));
    return { dir, kubeconfig, server, pids, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

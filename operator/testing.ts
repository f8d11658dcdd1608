// Control-plane test helpers for the operator: the operator as a real process, and Migration
// manifests pointing at throwaway databases.
import { spawn, type ChildProcess } from 'node:child_process';
import { stringify } from 'yaml';
import type { LocalPair } from '../hack/local-pair.ts';
import { freePort } from '../hack/net.ts';
import { FERRY } from '../engine/testing/cli.ts';

export interface OperatorProcess {
  child: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
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
    output: () => out,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

export function secretYaml(pair: LocalPair): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'db-passwords' },
    stringData: { source: pair.source.password, target: pair.target.password },
  });
}

export function migrationYaml(pair: LocalPair, name: string, spec: Record<string, unknown> = {}): string {
  const conn = (s: LocalPair['source'], key: string) => ({
    engine: 'postgres',
    host: s.host,
    port: s.port,
    database: 'shop',
    user: s.user,
    schema: 'shop',
    password: { secretKeyRef: { name: 'db-passwords', key } },
  });
  return stringify({
    apiVersion: 'ferry.dev/v1alpha1',
    kind: 'Migration',
    metadata: { name },
    spec: { source: conn(pair.source, 'source'), target: conn(pair.target, 'target'), ...spec },
  });
}

// Operator at scale: N Migrations of M table groups each (one tiny table per group, one schema per
// Migration) against one local PostgreSQL pair, on the local control plane with the pod runner.
// Prints the time from apply to Completed (median, max), apiserver requests per Migration (from the
// apiserver's own `apiserver_request_total`, before and after), the operator's peak RSS and its
// reconcile latency (from its `ferry_reconcile_duration_seconds`).
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import { startControlPlane } from '../hack/controlplane/controlplane.ts';
import { query, startLocalPair } from '../hack/local-pair.ts';
import { startPodRunner } from '../hack/pod-runner/runner.ts';
import { migrationYaml, operatorKubeconfig, secretYaml, startOperator } from '../test/support/operator.ts';
import { median } from './stats.ts';

const NS = 'bench';
const ROWS_PER_TABLE = 100;

/** Sums of a Prometheus counter's samples, by the value of one label. */
function sumBy(text: string, metric: string, label: string): Map<string, number> {
  const out = new Map<string, number>();
  const re = new RegExp(`^${metric}\\{([^}]*)\\} (\\S+)$`, 'gm');
  for (const [, labels, value] of text.matchAll(re)) {
    const key = new RegExp(`${label}="([^"]*)"`).exec(labels!)?.[1] ?? '';
    out.set(key, (out.get(key) ?? 0) + Number(value));
  }
  return out;
}

/** Mean and bucket-bound quantiles of a Prometheus histogram without labels. */
function histogram(text: string, metric: string) {
  const buckets = [...text.matchAll(new RegExp(`^${metric}_bucket\\{le="([^"]+)"\\} (\\S+)$`, 'gm'))].map(
    ([, le, n]) => ({ le: le === '+Inf' ? Infinity : Number(le), n: Number(n) }),
  );
  const count = Number(new RegExp(`^${metric}_count (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  const sum = Number(new RegExp(`^${metric}_sum (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  // The upper bound of the first bucket holding the quantile.
  const quantile = (q: number) => buckets.find((b) => b.n >= q * count)?.le ?? NaN;
  /** A quantile as text: `<= 250 ms`, or `> 300 s` past the largest finite bucket. */
  const bound = (q: number) => {
    const le = quantile(q);
    return le === Infinity ? `> ${buckets.at(-2)?.le ?? 0} s` : `<= ${le * 1000} ms`;
  };
  return { count, mean: count ? sum / count : NaN, p50: bound(0.5), p99: bound(0.99) };
}

export async function benchOperator(migrations: number, groups: number): Promise<void> {
  const cp = await startControlPlane();
  // The pod runner shares this event loop: everything below is asynchronous once it runs.
  const runner = await startPodRunner({ kubeconfig: cp.kubeconfig, logDir: join(cp.dir, 'pods') });
  const pair = await startLocalPair();
  const run = promisify(execFile);
  const kubectl = async (args: string[], input?: string) => {
    const p = run('kubectl', ['--kubeconfig', cp.kubeconfig, ...args], {
      encoding: 'utf8',
      maxBuffer: 1 << 28,
    });
    if (input !== undefined) p.child.stdin!.end(input);
    return (await p).stdout;
  };
  let operator: Awaited<ReturnType<typeof startOperator>> | undefined;
  try {
    await kubectl(['apply', '--server-side', '-f', join(import.meta.dirname, '../crds')]);
    await kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all']);
    console.log(
      `${migrations} Migrations of ${groups} table groups (one table of ${ROWS_PER_TABLE} rows each)`,
    );
    for (let i = 0; i < migrations; i++) {
      const tables = Array.from(
        { length: groups },
        (_, j) =>
          `CREATE TABLE s${i}.t${j} (id bigint PRIMARY KEY, v text);
           INSERT INTO s${i}.t${j} SELECT g, md5(g::text) FROM generate_series(1, ${ROWS_PER_TABLE}) g;`,
      );
      await query(pair.source, `CREATE SCHEMA s${i}; ${tables.join('\n')}`, [], 'shop');
    }
    operator = await startOperator(operatorKubeconfig(cp.kubeconfig), ['--lease-namespace', 'ferry-system']);
    await kubectl(['create', 'namespace', NS]);
    const docs = [secretYaml(pair)];
    for (let i = 0; i < migrations; i++) {
      const m = parse(
        migrationYaml(pair, `m${i}`, { transfer: { parallelism: 2, tableGroups: groups } }),
      ) as {
        spec: Record<'source' | 'target', { schema: string }>;
      };
      m.spec.source.schema = m.spec.target.schema = `s${i}`;
      docs.push(stringify(m));
    }
    const before = await kubectl(['get', '--raw', '/metrics']);
    const applied = performance.now();
    await kubectl(['-n', NS, 'apply', '-f', '-'], docs.join('---\n'));
    const done = new Map<string, number>();
    let polls = 0;
    while (done.size < migrations) {
      await sleep(1000);
      polls++;
      const list = JSON.parse(await kubectl(['-n', NS, 'get', 'migrations', '-o', 'json'])) as {
        items: { metadata: { name: string }; status?: { phase?: string; lastError?: { message: string } } }[];
      };
      for (const m of list.items) {
        const phase = m.status?.phase;
        if (phase === 'Failed' || phase === 'RolledBack')
          throw new Error(`${m.metadata.name} ended ${phase}: ${m.status?.lastError?.message ?? ''}`);
        if (phase === 'Completed' && !done.has(m.metadata.name))
          done.set(m.metadata.name, (performance.now() - applied) / 1000);
      }
      if (polls % 30 === 0) console.log(`  ${polls} s: ${done.size} of ${migrations} Completed`);
    }
    const after = await kubectl(['get', '--raw', '/metrics']);
    const peakRss =
      Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${operator.child.pid}/status`, 'utf8'))![1]) *
      1024;
    const opMetrics = await (await fetch(`http://127.0.0.1:${operator.metricsPort}/metrics`)).text();

    const [b, a] = [before, after].map((t) => sumBy(t, 'apiserver_request_total', 'resource'));
    const delta = new Map([...a!].map(([r, n]) => [r, n - (b!.get(r) ?? 0)] as const));
    // Our own polling (one LIST of migrations per poll) and the two /metrics reads are not the operator's.
    delta.set('migrations', (delta.get('migrations') ?? 0) - polls);
    const total = [...delta.values()].reduce((x, y) => x + y, 0);
    const times = [...done.values()];
    const r = histogram(opMetrics, 'ferry_reconcile_duration_seconds');
    console.log(
      `apply -> Completed: median ${median(times).toFixed(1)} s, max ${Math.max(...times).toFixed(1)} s`,
    );
    console.log(
      `apiserver requests per Migration: ${(total / migrations).toFixed(0)} (all clients: operator, pod runner, controller-manager); by resource: ${[
        ...delta,
      ]
        .filter(([, n]) => n >= migrations)
        .sort((x, y) => y[1] - x[1])
        .map(([res, n]) => `${res || '(none)'} ${(n / migrations).toFixed(1)}`)
        .join(', ')}`,
    );
    console.log(`operator peak RSS: ${(peakRss / 2 ** 20).toFixed(0)} MiB`);
    console.log(
      `reconciles: ${r.count} (${(r.count / migrations).toFixed(0)} per Migration), mean ${(r.mean * 1000).toFixed(0)} ms, p50 ${r.p50}, p99 ${r.p99}`,
    );
  } finally {
    await operator?.stop();
    await runner.stop();
    await cp.stop();
    await pair.stop();
  }
}

// The Dump method in a cluster, and a system move between two clusters: the Export Migration on this
// tier's control plane writes the dump onto a volume (a hostPath PersistentVolume bound to its
// claim), the directory is copied with `cp -r` to the volume of a second control plane, whose Import
// Migration loads it into the target without a source password (it never connects there); then the
// export is confirmed and ends Completed. ferry connects as the least-privilege migration role, as
// users deploy.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { startControlPlane, type ControlPlane } from '../hack/controlplane/controlplane.ts';
import { setUpRoles, type Roles } from '../hack/fixtures/roles.ts';
import { query, startLocalPair, type LocalPair } from '../hack/local-pair.ts';
import { createSampleDatabase } from '../hack/sample/sample.ts';
import { schemaDigests } from '../test/support/snapshot.ts';
import { eventually, kubeconfig, namespace } from '../test/controlplane/kube.ts';
import {
  migrationYaml,
  operatorKubeconfig,
  patchSpec,
  podLogs,
  secretYaml,
  startOperator,
  waitForMigration,
  type OperatorProcess,
} from '../test/support/operator.ts';

const LEADER = ['--lease-namespace', 'ferry-system'];

let pair: LocalPair;
let roles: Roles;
let second: ControlPlane;
/** The second cluster's pod runner, a process of its own: the test's synchronous kubectl calls would stall one in here. */
let runner: ChildProcess | undefined;
let secondLogs: string;
const operators: OperatorProcess[] = [];
const dirs: string[] = [];

const kubectlAt = (config: string, args: string[], input?: string) =>
  execFileSync('kubectl', ['--kubeconfig', config, ...args], {
    encoding: 'utf8',
    input,
    stdio: ['pipe', 'pipe', 'pipe'],
  });

beforeAll(async () => {
  pair = await startLocalPair();
  roles = await setUpRoles(pair, { populate: (app) => createSampleDatabase(app, 'shop', 1e6) });
  // The importing cluster: a second control plane with its own pod runner, CRDs applied.
  second = await startControlPlane();
  secondLogs = join(second.dir, 'pods');
  runner = spawn(
    process.execPath,
    [
      join(import.meta.dirname, '../hack/pod-runner/main.ts'),
      '--kubeconfig',
      second.kubeconfig,
      '--logs',
      secondLogs,
    ],
    { stdio: 'ignore' },
  );
  const crds = join(import.meta.dirname, '../crds');
  kubectlAt(second.kubeconfig, ['apply', '--server-side', '-f', crds]);
  kubectlAt(second.kubeconfig, ['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all']);
});
// Each test starts clean, even after one that failed half-way.
beforeEach(async () => {
  await query(pair.target, 'DROP SCHEMA IF EXISTS shop CASCADE');
  for (const server of [pair.source, pair.target])
    await query(server, 'DROP SCHEMA IF EXISTS ferry_shop CASCADE');
});
afterAll(async () => {
  for (const o of operators) await o.stop();
  if (runner?.exitCode === null) {
    const exited = new Promise((res) => runner!.once('exit', res));
    runner.kill('SIGTERM');
    await exited;
  }
  await second?.stop();
  await pair?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- kubectl JSON, inspected field by field
type Json = Record<string, any>;

/** A host directory as the volume of claim `ferry-dump`: a hostPath PersistentVolume bound to it. */
function dumpVolume(config: string, ns: string, dir: string): string {
  return [
    {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: `ferry-dump-${ns}` },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: 'Retain',
        storageClassName: '',
        hostPath: { path: dir, type: 'Directory' },
        claimRef: { namespace: ns, name: 'ferry-dump' },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'ferry-dump', namespace: ns },
      spec: {
        accessModes: ['ReadWriteOnce'],
        storageClassName: '',
        volumeName: `ferry-dump-${ns}`,
        resources: { requests: { storage: '1Gi' } },
      },
    },
  ]
    .map((d) => kubectlAt(config, ['apply', '-f', '-'], JSON.stringify(d)))
    .join('');
}

/** The shop Migration of one stage, without the password of the side that stage never reaches. */
function stageYaml(stage: 'Export' | 'Import'): string {
  const doc = parse(
    migrationYaml(
      pair,
      'shop',
      {
        transfer: {
          method: 'Dump',
          volume: { claimName: 'ferry-dump' },
          parallelism: 2,
          tableGroups: 2,
          splitAbove: '256Ki',
          chunkRows: 2000,
        },
        systemMove: { stage },
      },
      roles,
    ),
  ) as Json;
  delete doc.spec[stage === 'Export' ? 'target' : 'source'].password;
  return stringify(doc);
}

function migration(config: string, ns: string): Json {
  return JSON.parse(kubectlAt(config, ['-n', ns, 'get', 'migration/shop', '-o', 'json'])) as Json;
}

/** Waits for a condition; on timeout fails with the Migration's status, its Pods and their logs, and the operator's log. */
function waitFor(config: string, ns: string, condition: string, operator: OperatorProcess): void {
  const at = (args: string[]) => kubectlAt(config, args);
  const logDir = config === second.kubeconfig ? secondLogs : inject('podLogs');
  const more = () => [at(['-n', ns, 'get', 'pods,pvc', '-o', 'wide']), podLogs(at, ns, logDir)].join('\n');
  waitForMigration((args) => kubectlAt(config, args), ns, condition, operator, { timeout: '240s', more });
}

/** A statement of the application (shop_app) on the source. */
async function asApplication(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: roles.appUrl('source') });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

let exporting: OperatorProcess | undefined;
/** The operator of this tier's control plane, started once. */
async function firstOperator(): Promise<OperatorProcess> {
  if (!exporting) {
    exporting = await startOperator(operatorKubeconfig(kubeconfig()), LEADER);
    operators.push(exporting);
  }
  return exporting;
}

const shadowOnSource = async () =>
  (await query(pair.source, "SELECT 1 FROM pg_namespace WHERE nspname = 'ferry_shop'")).length === 1;

describe('the Dump method in a cluster', () => {
  it('the apiserver refuses method Dump without a volume, naming the field', () => {
    const ns = namespace('dumpcel');
    const doc = parse(stageYaml('Export')) as Json;
    delete doc.spec.transfer.volume;
    expect(() => kubectlAt(kubeconfig(), ['-n', ns, 'apply', '-f', '-'], stringify(doc))).toThrow(
      /spec\.transfer\.volume: required with method Dump in a cluster/,
    );
  });

  it('exports to a volume (Exported, source fenced); elsewhere refuses a damaged cp -r copy naming the file, imports it repaired exactly; completes on confirmation', async () => {
    const first = kubeconfig();
    const ns = namespace('move');
    kubectlAt(second.kubeconfig, ['create', 'namespace', ns]);
    const exportDir = mkdtempSync(join(tmpdir(), 'ferry-volume-'));
    const importDir = mkdtempSync(join(tmpdir(), 'ferry-volume-'));
    dirs.push(exportDir, importDir);
    const before = await schemaDigests(pair.source.url('shop'), 'shop');

    // The source side.
    dumpVolume(first, ns, exportDir);
    kubectlAt(first, ['-n', ns, 'apply', '-f', '-'], secretYaml(pair, roles));
    kubectlAt(first, ['-n', ns, 'apply', '-f', '-'], stageYaml('Export'));
    const exporter = await firstOperator();
    waitFor(first, ns, 'jsonpath={.status.phase}=Exported', exporter);
    const exported = migration(first, ns);
    const exportId = exported.metadata.uid as string;
    expect(exported.status.systemMove).toEqual({ stage: 'Export', volume: 'ferry-dump/shop', exportId });
    expect(exported.status.conditions.find((c: Json) => c.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'WaitingForImport',
    });
    // The dump is complete on the volume; the source keeps its shadow schema and its fence.
    const manifest = JSON.parse(readFileSync(join(exportDir, 'shop', 'ferry-dump.json'), 'utf8')) as Json;
    expect(manifest.exportId).toBe(exportId);
    expect(manifest.exportedAt).toBeDefined();
    expect(await shadowOnSource()).toBe(true);
    await expect(asApplication('UPDATE shop.customers SET name = name')).rejects.toThrow(
      /fenced for the downtime of migration shop/,
    );
    expect(await query(pair.target, "SELECT 1 FROM pg_namespace WHERE nspname = 'shop'")).toEqual([]);

    // The directory travels, damaged on the way: the import refuses it naming the file, then
    // (repaired) its next attempt imports it, with no way to the source.
    execFileSync('cp', ['-r', join(exportDir, 'shop'), importDir]);
    const chunk = join(importDir, 'shop', (Object.values(manifest.chunks)[0] as Json).file as string);
    const intact = readFileSync(chunk);
    writeFileSync(chunk, Buffer.from(intact.map((b, i) => (i === intact.length >> 1 ? b ^ 0xff : b))));
    dumpVolume(second.kubeconfig, ns, importDir);
    kubectlAt(second.kubeconfig, ['-n', ns, 'apply', '-f', '-'], secretYaml(pair, roles));
    kubectlAt(second.kubeconfig, ['-n', ns, 'apply', '-f', '-'], stageYaml('Import'));
    const importer = await startOperator(operatorKubeconfig(second.kubeconfig), LEADER);
    operators.push(importer);
    await eventually('the import Pod to fail', () => {
      const pod = kubectlAt(second.kubeconfig, ['-n', ns, 'get', 'pods', '-o', 'json']);
      return (JSON.parse(pod) as Json).items.some((p: Json) => p.status.phase === 'Failed') || undefined;
    });
    writeFileSync(chunk, intact);
    waitFor(second.kubeconfig, ns, 'condition=Ready', importer);
    const retried = kubectlAt(second.kubeconfig, [
      '-n',
      ns,
      'get',
      'events',
      '-o',
      'jsonpath={.items[*].message}',
    ]);
    expect(retried).toContain(
      `${chunk}: its sha256 differs from the one recorded at export (corrupted; chunk`,
    );
    expect(await schemaDigests(pair.target.url('shop'), 'shop')).toEqual(before);
    const imported = migration(second.kubeconfig, ns);
    expect(imported.status.phase).toBe('Completed');
    expect(imported.status.systemMove).toMatchObject({
      stage: 'Import',
      volume: 'ferry-dump/shop',
      exportId,
      export: {
        migration: `${ns}/shop`,
        exportId,
        source: `${pair.source.host}:${pair.source.port}/shop`,
        chunks: Object.keys(manifest.chunks).length,
        rows: Object.values(before).reduce((a, t) => a + t.rows, 0),
      },
    });
    expect(imported.status.systemMove.importedAt).toBeDefined();
    expect(imported.status.phases.map((p: Json) => p.phase)).toEqual([
      'Preparation',
      'Configuration',
      'Checks',
      'PreProcessing',
      'Execution',
      'PostProcessing',
      'Completed',
    ]);
    expect(await query(pair.target, "SELECT 1 FROM pg_namespace WHERE nspname = 'ferry_shop'")).toEqual([]);

    // Back on the source side: an id of another export is refused, this one's completes it.
    const confirm = (id: string) =>
      patchSpec((args) => kubectlAt(first, args), ns, 'shop', { systemMove: { importCompleted: id } });
    confirm('not-this-export');
    await eventually('the confirmation refused', () => {
      const d = (migration(first, ns).status.conditions as Json[]).find((c) => c.type === 'Degraded');
      return d?.reason === 'ImportNotConfirmed' ? d : undefined;
    });
    expect(await shadowOnSource()).toBe(true);
    confirm(exportId);
    waitFor(first, ns, 'condition=Ready', exporter);
    expect(migration(first, ns).status.phase).toBe('Completed');
    expect(await shadowOnSource()).toBe(false);
    expect(await schemaDigests(pair.source.url('shop'), 'shop')).toEqual(before);
    // The dump stays on both volumes: the operator never touches them.
    expect(existsSync(join(importDir, 'shop', 'ferry-dump.json'))).toBe(true);
  });

  it('without a system move, method Dump runs in one cluster: each group exports and imports through the volume, exact', async () => {
    const ns = namespace('dumprun');
    const dir = mkdtempSync(join(tmpdir(), 'ferry-volume-'));
    dirs.push(dir);
    dumpVolume(kubeconfig(), ns, dir);
    kubectlAt(kubeconfig(), ['-n', ns, 'apply', '-f', '-'], secretYaml(pair, roles));
    const doc = parse(stageYaml('Export')) as Json;
    delete doc.spec.systemMove;
    doc.spec.target = (parse(migrationYaml(pair, 'shop', {}, roles)) as Json).spec.target;
    kubectlAt(kubeconfig(), ['-n', ns, 'apply', '-f', '-'], stringify(doc));
    waitFor(kubeconfig(), ns, 'condition=Ready', await firstOperator());
    expect(await schemaDigests(pair.target.url('shop'), 'shop')).toEqual(
      await schemaDigests(pair.source.url('shop'), 'shop'),
    );
    const pods = JSON.parse(kubectlAt(kubeconfig(), ['-n', ns, 'get', 'pods', '-o', 'json'])) as Json;
    expect(new Set(pods.items.map((p: Json) => p.spec.containers[0].args.join(' ')))).toEqual(
      new Set(['transfer --group 1', 'transfer --group 2']),
    );
    // The chunks went through the volume (the operator, which never mounts it, leaves the files).
    expect(JSON.parse(readFileSync(join(dir, 'shop', 'ferry-dump.json'), 'utf8')).exportedAt).toBeDefined();
  });
});

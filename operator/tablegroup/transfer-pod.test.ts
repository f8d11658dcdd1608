import { describe, expect, it } from 'vitest';
import type { Migration } from '../kube.ts';
import { transferPod } from './transfer-pod.ts';

const conn = (key: string) => ({
  engine: 'postgres',
  host: `${key}-db`,
  database: 'shop',
  user: 'ferry',
  password: { secretKeyRef: { name: 'db', key } },
});

const migration = (spec: Record<string, unknown>): Migration =>
  ({
    metadata: { name: 'shop', namespace: 'ns', uid: 'u' },
    spec: { source: conn('source'), target: conn('target'), ...spec },
  }) as unknown as Migration;

const podOf = (m: Migration) =>
  transferPod(m, {
    name: 'shop-g1-a1',
    owner: { apiVersion: 'ferry.dev/v1alpha1', kind: 'TableGroup', name: 'shop-g1', uid: 'g' },
    args: ['transfer', '--group', '1'],
    labels: {},
  });

const dump = { method: 'Dump', volume: { claimName: 'ferry-dump', path: 'moves/shop' } };

describe('the transfer Pod', () => {
  it('with method Dump mounts the claim, names the directory in FERRY_DUMP_DIR, and may write there', () => {
    const pod = podOf(migration({ transfer: dump }));
    const c = pod.spec!.containers[0]!;
    expect(pod.spec!.volumes).toEqual([{ name: 'dump', persistentVolumeClaim: { claimName: 'ferry-dump' } }]);
    expect(c.volumeMounts).toEqual([{ name: 'dump', mountPath: '/var/lib/ferry/dump' }]);
    expect(c.env).toContainEqual({ name: 'FERRY_DUMP_DIR', value: '/var/lib/ferry/dump/moves/shop' });
    expect(pod.spec!.securityContext?.fsGroup).toBe(65532);
    expect(c.securityContext?.readOnlyRootFilesystem).toBe(true);
    expect(c.terminationMessagePolicy).toBe('FallbackToLogsOnError');
  });

  it('without a dump mounts nothing', () => {
    const pod = podOf(migration({}));
    expect(pod.spec!.volumes).toBeUndefined();
    expect(pod.spec!.securityContext?.fsGroup).toBeUndefined();
    expect(pod.spec!.containers[0]!.env!.map((e) => e.name)).not.toContain('FERRY_DUMP_DIR');
  });

  it.each([
    ['Export', ['FERRY_SOURCE_PASSWORD']],
    ['Import', ['FERRY_TARGET_PASSWORD']],
    [undefined, ['FERRY_SOURCE_PASSWORD', 'FERRY_TARGET_PASSWORD']],
  ])("a system move's %s stage gets the password of its own side only", (stage, names) => {
    const m = migration({ transfer: dump, ...(stage && { systemMove: { stage } }) });
    const env = podOf(m).spec!.containers[0]!.env!.map((e) => e.name);
    expect(env.filter((n) => n.endsWith('_PASSWORD'))).toEqual(names);
  });
});

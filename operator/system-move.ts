// The cluster side of the Dump method and of a system move, pure: where the dump volume is mounted
// and which directory of it a Migration uses, which databases a stage connects to, whether the
// Export stage's import is confirmed, and what the Import stage shows of the export it continues.
import { offlineSide } from '../engine/api/manifest.ts';
import type { SystemMoveStage } from '../engine/api/migration.ts';
import { QUANTITY_UNITS } from '../engine/api/settings.ts';
import type { ExportRecord } from '../engine/api/status.ts';
import { COMPRESSION, DUMP_SIZE_RATIO, dumpBytesNeeded, type StoredDump } from '../engine/dump/format.ts';
import { formatBytes } from '../engine/progress.ts';
import type { Plan } from '../engine/plan/plan.ts';
import type { GroupProgress } from '../engine/transfer-status.ts';
import type { Migration } from './kube.ts';

/** Where transfer Pods mount the dump volume; a Migration's directory is `path` inside it. */
export const DUMP_MOUNT_PATH = '/var/lib/ferry/dump';

export const stageOf = (m: Migration): SystemMoveStage | undefined => m.spec.systemMove?.stage;

/** The databases this Migration connects to: a system move's stage reaches one side only. */
export const connectedRoles = (m: Migration): ('source' | 'target')[] =>
  (['source', 'target'] as const).filter((r) => r !== offlineSide(stageOf(m)));

/** The dump volume (method Dump): the claim and the directory inside it (default: the Migration's name). */
export function dumpVolume(m: Migration): { claimName: string; path: string } | undefined {
  const v = m.spec.transfer?.method === 'Dump' ? m.spec.transfer.volume : undefined;
  return v && { claimName: v.claimName, path: v.path ?? m.metadata.name! };
}

/** The dump directory as a transfer Pod sees it. */
export const podDumpDir = (v: { path: string }) => `${DUMP_MOUNT_PATH}/${v.path}`;

export const describeVolume = (v: { claimName: string; path: string }) => `${v.claimName}/${v.path}`;

/**
 * Export: spec.systemMove.importCompleted against this export's id (the Migration's uid, which its
 * shadow schema records as owner): none yet, this export's, or another's (refused, with the reason).
 */
export function importConfirmation(
  m: Migration,
): { kind: 'waiting' } | { kind: 'confirmed' } | { kind: 'refused'; message: string } {
  const given = m.spec.systemMove?.importCompleted;
  if (given === undefined) return { kind: 'waiting' };
  if (given === m.metadata.uid) return { kind: 'confirmed' };
  return {
    kind: 'refused',
    message:
      `spec.systemMove.importCompleted: ${given} is not this export's id (${m.metadata.uid}, status.systemMove.exportId); ` +
      "set it to the id the Import Migration's status shows (status.systemMove.export.exportId) once it is Completed",
  };
}

/** What the Import stage shows of the export it continues, from the dump its bookkeeping stored. */
export function exportRecord(d: StoredDump): ExportRecord {
  const files = Object.values(d.chunks ?? {});
  const who = d.migration.namespace ? `${d.migration.namespace}/${d.migration.name}` : d.migration.name;
  return {
    migration: who,
    exportId: d.exportId,
    source: d.source,
    createdAt: d.createdAt,
    exportedAt: d.exportedAt ?? d.createdAt,
    chunks: files.length,
    rows: files.reduce((a, f) => a + f.rows, 0),
    bytes: files.reduce((a, f) => a + f.bytes, 0),
  };
}

/** Export stage: a group's files are on the volume, unseen here; it is done when its Pod succeeded. */
export const groupsDone = (plan: Plan, succeeded: ReadonlySet<number>): GroupProgress[] =>
  plan.groups.map((g) => {
    const done = succeeded.has(g.id);
    return {
      group: g.id,
      chunks: g.chunks.length,
      chunksDone: done ? g.chunks.length : 0,
      rows: 0,
      bytes: 0,
      percent: done ? 100 : 0,
      tables: [],
    };
  });

/** Bytes of a Kubernetes storage quantity (`10Gi`, `1.5G`, `1e9`); undefined for a form it does not know. */
export function parseStorage(q: string): number | undefined {
  const m = /^([0-9]+(?:\.[0-9]+)?)(?:([kMGTPE]i?)|[eE]([0-9]+))?$/.exec(q);
  if (!m) return undefined;
  const unit = m[3] !== undefined ? 10 ** Number(m[3]) : QUANTITY_UNITS[m[2] ?? ''];
  return unit === undefined ? undefined : Number(m[1]) * unit;
}

/**
 * Why the claim (its capacity, or the size it requests while unbound) cannot take the export of
 * `heapBytes` of tables, or undefined. What else the volume holds is not known here: a full volume
 * fails the transfer Pods, naming it.
 */
export function claimSpaceProblem(claim: string, capacity: string | undefined, heapBytes: number) {
  const bytes = capacity === undefined ? undefined : parseStorage(capacity);
  const needed = dumpBytesNeeded(heapBytes);
  if (bytes === undefined || bytes >= needed) return undefined;
  return (
    `spec.transfer.volume: PersistentVolumeClaim ${claim} holds ${capacity}, the export needs about ${formatBytes(needed)} ` +
    `(${formatBytes(heapBytes)} of table heap x ${DUMP_SIZE_RATIO}, ${COMPRESSION}); use a larger claim`
  );
}

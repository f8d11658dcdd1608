// Condition types and reasons as named constants, and the one pure function that sets a condition
// (keeping lastTransitionTime when the status did not change).
import type { Condition } from '../engine/api/status.ts';

export const ConditionType = {
  Ready: 'Ready',
  Progressing: 'Progressing',
  Degraded: 'Degraded',
  CutoverReady: 'CutoverReady',
} as const;

export const Reason = {
  Running: 'PhaseRunning',
  Completed: 'Completed',
  Failed: 'Failed',
  InvalidSpec: 'InvalidSpec',
  ChecksFailed: 'ChecksFailed',
  ValidationFailed: 'ValidationFailed',
  FenceFailed: 'FenceFailed',
  GroupFailed: 'GroupFailed',
  /** A transient error (connection lost, apiserver unavailable): the pass is retried with backoff. */
  Retrying: 'Retrying',
  /** Deleted with ferry.dev/abandon-cleanup: the finalizer went without the cleanup. */
  CleanupAbandoned: 'CleanupAbandoned',
  SecretNotFound: 'SecretNotFound',
  SecretFound: 'SecretFound',
  /** The dump volume's PersistentVolumeClaim (spec.transfer.volume.claimName) does not exist (yet). */
  ClaimNotFound: 'ClaimNotFound',
  ClaimFound: 'ClaimFound',
  TransferRetrying: 'TransferRetrying',
  RolledBack: 'RolledBack',
  RollingBack: 'RollingBack',
  WaitingForApproval: 'WaitingForCutoverApproval',
  CutoverApproved: 'CutoverApproved',
  CutoverFailed: 'CutoverFailed',
  ReplayCatchingUp: 'ReplayCatchingUp',
  /** A system move's Export stage: the dump is complete; spec.systemMove.importCompleted is awaited. */
  WaitingForImport: 'WaitingForImport',
  /** spec.systemMove.importCompleted names another export. */
  ImportNotConfirmed: 'ImportNotConfirmed',
  Healthy: 'Healthy',
} as const;

export function setCondition(
  conditions: readonly Condition[] | undefined,
  next: Omit<Condition, 'lastTransitionTime'>,
  now: Date,
): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === next.type);
  const old = i >= 0 ? list[i] : undefined;
  const lastTransitionTime = old && old.status === next.status ? old.lastTransitionTime : now.toISOString();
  const updated = { ...next, lastTransitionTime };
  if (i >= 0) list[i] = updated;
  else list.push(updated);
  return list;
}

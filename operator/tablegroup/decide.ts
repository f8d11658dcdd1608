// What a table group needs next, from its transfer Pods. Pure. A failed or vanished Pod is retried
// with backoff up to a limit; each attempt resumes from the last committed chunk.
import type * as k8s from '@kubernetes/client-node';

export const MAX_ATTEMPTS = 5;

export type GroupState =
  | { kind: 'succeeded' }
  | { kind: 'running'; pod: string }
  | { kind: 'start'; attempt: number; notBefore: number; lastError?: string }
  | { kind: 'failed'; message: string };

const attemptOf = (p: k8s.V1Pod) => Number(p.metadata?.labels?.['ferry.dev/attempt'] ?? 0);

/** The error ferry printed last (`ferry: error: ...`), from the termination message (the log's end). */
function lastError(message: string | undefined): string | undefined {
  const line = message
    ?.split('\n')
    .map((l) => l.trim())
    .findLast((l) => l.startsWith('ferry: error: '));
  return line?.slice('ferry: error: '.length, 'ferry: error: '.length + 500);
}

function failure(p: k8s.V1Pod): string {
  const t = p.status?.containerStatuses?.[0]?.state?.terminated;
  if (!t) return `pod ${p.metadata?.name} failed`;
  const why = lastError(t.message);
  return `pod ${p.metadata?.name} exited ${t.exitCode}${t.reason ? ` (${t.reason})` : ''}${why ? `: ${why}` : ''}`;
}

/** `attempts` is how many Pods were started so far (from the group's status), pods those still there. */
export function groupState(pods: readonly k8s.V1Pod[], attempts: number, now: number): GroupState {
  const latest = [...pods].sort((a, b) => attemptOf(b) - attemptOf(a))[0];
  if (latest && attemptOf(latest) === attempts) {
    const phase = latest.status?.phase;
    if (phase === 'Succeeded') return { kind: 'succeeded' };
    if (phase !== 'Failed' && !latest.metadata?.deletionTimestamp)
      return { kind: 'running', pod: latest.metadata!.name! };
    const message = phase === 'Failed' ? failure(latest) : `pod ${latest.metadata!.name} was deleted`;
    if (attempts >= MAX_ATTEMPTS)
      return { kind: 'failed', message: `${message}; gave up after ${attempts} attempts` };
    const finished = Date.parse(
      String(latest.status?.containerStatuses?.[0]?.state?.terminated?.finishedAt ?? now),
    );
    return {
      kind: 'start',
      attempt: attempts + 1,
      notBefore: finished + 1000 * 2 ** (attempts - 1),
      lastError: message,
    };
  }
  // No Pod for the latest attempt: never started, or deleted (mid-transfer) and already gone.
  if (attempts === 0) return { kind: 'start', attempt: 1, notBefore: now };
  if (attempts >= MAX_ATTEMPTS)
    return { kind: 'failed', message: `transfer pod vanished; gave up after ${attempts} attempts` };
  return {
    kind: 'start',
    attempt: attempts + 1,
    notBefore: now,
    lastError: `pod of attempt ${attempts} disappeared`,
  };
}

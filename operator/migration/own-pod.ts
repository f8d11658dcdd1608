// A Pod of the Migration's own, not of a table group: the uptime Pod of a DowntimeOptimized
// Migration, the Pod that opens the dump of an Import. Retried like a group's (tablegroup/decide.ts),
// its attempts counted in an annotation of the Migration.
import { Reason } from '../conditions.ts';
import { patchMetadata } from '../kube.ts';
import { groupState, type GroupState } from '../tablegroup/decide.ts';
import { createPod, ownerOf } from './children.ts';
import { TerminalError } from './outcome.ts';
import type { Observed, Pass } from './pass.ts';

export const attemptsAnnotation = (role: string) => `ferry.dev/${role}-attempts`;

/** Starts the Pod of `role` when it is due (another attempt after a failure); a Pod out of attempts fails the Migration. */
export async function ownPod(
  pass: Pass,
  { pods }: Observed,
  role: string,
  args: string[],
): Promise<GroupState> {
  const m = pass.m;
  const annotation = attemptsAnnotation(role);
  const attempts = Number(m.metadata.annotations?.[annotation] ?? 0);
  const mine = pods.filter((p) => p.metadata?.labels?.['ferry.dev/role'] === role);
  const state = groupState(mine, attempts, Date.now());
  if (state.kind === 'failed') throw new TerminalError(Reason.GroupFailed, state.message);
  if (state.kind === 'start' && state.notBefore <= Date.now()) {
    const name = `${m.metadata.name}-${role}-a${state.attempt}`;
    if (state.lastError)
      await pass.event(
        'Warning',
        Reason.TransferRetrying,
        `${state.lastError}; attempt ${state.attempt}: ${name}`,
      );
    await createPod(pass.c, m, {
      name,
      owner: ownerOf('Migration', m),
      args,
      labels: { 'ferry.dev/role': role, 'ferry.dev/attempt': String(state.attempt) },
    });
    await patchMetadata(pass.c, m, { annotations: { [annotation]: String(state.attempt) } });
  }
  return state;
}

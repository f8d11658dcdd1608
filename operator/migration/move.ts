// The dump volume and a system move's own steps. The operator never reads the volume (only transfer
// Pods mount it): the Export stage waits, once every file is written, for spec.systemMove.importCompleted
// and then removes the source's shadow schema; the Import stage opens the dump in a Pod, which verifies
// the files and stores the dump's plan and digests in the import's bookkeeping on the target, and shows
// the export it continues from there.
import type * as k8s from '@kubernetes/client-node';
import { holdsRows } from '../../engine/catalog/relations.ts';
import { exportPhases, finishExport } from '../../engine/move/export.ts';
import { PHASE_ACTIONS } from '../../engine/run.ts';
import { readImportResume } from '../../engine/move/import.ts';
import { CheckError } from '../../engine/phases/checks.ts';
import { need, type Context } from '../../engine/phases/context.ts';
import type { Phase, PhaseRecord } from '../../engine/phases/phase.ts';
import type { Catalog } from '../../engine/catalog/types.ts';
import type { Plan } from '../../engine/plan/plan.ts';
import type { StoredDump } from '../../engine/dump/format.ts';
import { ConditionType, Reason } from '../conditions.ts';
import { code, type Clients, type Migration } from '../kube.ts';
import {
  claimSpaceProblem,
  describeVolume,
  dumpVolume,
  exportRecord,
  importConfirmation,
  stageOf,
} from '../system-move.ts';
import { POLL_MS } from './execution.ts';
import { ClaimMissing, done, requeueAfter, type Outcome } from './outcome.ts';
import { ownPod } from './own-pod.ts';
import type { Observed, Pass } from './pass.ts';
import { completed, enterPhase, setDegraded, systemMoveTx, type Tx } from './status.ts';

/** The dump volume's claim; a missing one is waited for (Degraded, ClaimNotFound). */
async function readClaim(c: Clients, m: Migration): Promise<k8s.V1PersistentVolumeClaim> {
  const v = need(dumpVolume(m), 'dump volume');
  try {
    return await c.core.readNamespacedPersistentVolumeClaim({
      name: v.claimName,
      namespace: m.metadata.namespace!,
    });
  } catch (err) {
    if (code(err) === 404)
      throw new ClaimMissing(
        `spec.transfer.volume.claimName: PersistentVolumeClaim ${m.metadata.namespace}/${v.claimName} not found`,
      );
    throw err;
  }
}

/** Checks (method Dump): the claim exists and can hold the export's files. */
export async function checkClaim(c: Clients, m: Migration, ctx: Context): Promise<void> {
  const pvc = await readClaim(c, m);
  const heap = need(ctx.catalog, 'catalog')
    .tables.filter(holdsRows)
    .reduce((a, t) => a + t.heapBytes, 0);
  const capacity = pvc.status?.capacity?.['storage'] ?? pvc.spec?.resources?.requests?.['storage'];
  const problem = claimSpaceProblem(`${m.metadata.namespace}/${pvc.metadata!.name}`, capacity, heap);
  if (problem) throw new CheckError(problem);
}

/** The phases before Execution: an Export's are the source side's; with a dump volume, Checks also checks its claim. */
export function phaseActions(pass: Pass): Partial<Record<Phase, (ctx: Context) => Promise<void>>> {
  const m = pass.m;
  const v = dumpVolume(m);
  const base = stageOf(m) === 'Export' ? exportPhases(`volume ${describeVolume(v!)}`) : PHASE_ACTIONS;
  if (!v) return base;
  return {
    ...base,
    Checks: async (ctx) => {
      await base.Checks!(ctx);
      await checkClaim(pass.c, m, ctx);
    },
  };
}

/** The stage and its volume in status, every pass (unchanged: nothing is sent). */
export function moveStatus(m: Migration, generation: number): Tx | undefined {
  const stage = stageOf(m);
  const v = dumpVolume(m);
  if (!stage || !v) return undefined;
  return systemMoveTx(
    { stage, volume: describeVolume(v), ...(stage === 'Export' && { exportId: m.metadata.uid! }) },
    generation,
  );
}

/** Where an Import stands, from its bookkeeping: the engine's Resume, with the dump's plan. */
export interface ImportState {
  phase: Phase;
  history: PhaseRecord[];
  catalog: Catalog;
  plan: Plan;
  dump: StoredDump;
}

export async function importState(pass: Pass, ctx: Context): Promise<ImportState | undefined> {
  const r = await readImportResume(ctx);
  if (!r) return undefined;
  pass.update(systemMoveTx({ exportId: r.dump.exportId, export: exportRecord(r.dump) }, pass.generation));
  return { ...r, plan: r.dump.plan };
}

/** Import: Preparation to PreProcessing in a Pod with the dump mounted (`ferry import --stop-after PreProcessing`). */
export async function openDump(pass: Pass, observed: Observed): Promise<Outcome> {
  const m = pass.m;
  await readClaim(pass.c, m);
  // The Pod's phases show in status once its bookkeeping exists (reconcile.ts, recordPhases).
  if (!m.status?.phase || m.status.phase === 'Pending')
    pass.update(
      enterPhase(
        'Preparation',
        `the import Pod verifies the dump on ${describeVolume(dumpVolume(m)!)} (every file's size and sha256) and prepares the target`,
        pass.generation,
        new Date(),
      ),
    );
  const state = await ownPod(pass, observed, 'import', ['import', '--stop-after', 'PreProcessing']);
  return requeueAfter(state.kind === 'succeeded' ? 0 : POLL_MS);
}

/** Export: every file is written; the import's confirmation (the spec) brings the next pass. */
export async function awaitImport(pass: Pass): Promise<Outcome> {
  const m = pass.m;
  const now = new Date();
  const where = describeVolume(dumpVolume(m)!);
  pass.update(
    enterPhase(
      'Exported',
      `exported to ${where}, export id ${m.metadata.uid}: the source stays fenced until the import is confirmed. ` +
        'Copy the directory to a volume of the importing side and apply the Import Migration there; once it is ' +
        `Completed, set spec.systemMove.importCompleted: ${m.metadata.uid} here (or spec.fallback: true)`,
      pass.generation,
      now,
    ),
  );
  const confirmation = importConfirmation(m);
  const degraded = m.status?.conditions?.find((c) => c.type === ConditionType.Degraded);
  if (confirmation.kind === 'refused') {
    pass.update(setDegraded('True', Reason.ImportNotConfirmed, confirmation.message, pass.generation, now));
    if (degraded?.message !== confirmation.message)
      await pass.event('Warning', Reason.ImportNotConfirmed, confirmation.message);
  } else if (degraded?.status === 'True' && degraded.reason === Reason.ImportNotConfirmed)
    pass.update(setDegraded('False', Reason.Healthy, 'no error', pass.generation, now));
  return done;
}

export const exportCompletedMessage = (m: Migration) =>
  `the import of export ${m.metadata.uid} is confirmed (spec.systemMove.importCompleted): the source's shadow schema and write fence are removed`;

/** Export, confirmed: the shadow schema (and the fence with it) goes. */
export async function completeExport(pass: Pass, ctx: Context): Promise<Outcome> {
  await finishExport(ctx);
  pass.update(
    completed(ctx.settings.validation, pass.generation, new Date(), exportCompletedMessage(pass.m)),
  );
  return done;
}

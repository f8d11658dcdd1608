// What a pass does next, from where the engine's shadow state says the migration stands (the one
// phase order: the engine's) and what status already holds. Pure.
import type { SystemMoveStage } from '../../engine/api/migration.ts';
import type { MigrationStatus } from '../../engine/api/status.ts';
import { phasesToRun, PHASES, type Phase } from '../../engine/phases/phase.ts';
import { hasReport } from './status.ts';

export type Step =
  /** Phases before Execution, run here through the engine, in its order. */
  | { kind: 'prepare'; phases: Phase[] }
  /**
   * Import stage: Preparation to PreProcessing in a Pod that mounts the dump (the files are
   * verified there, and the dump's plan and digests stored in the import's bookkeeping).
   */
  | { kind: 'open' }
  /** Transfer Pods (Standard: one per table group; DowntimeOptimized: the uptime Pod). */
  | { kind: 'execute' }
  /** PostProcessing, run here (Export stage: once the import is confirmed, the shadow schema goes). */
  | { kind: 'finish' }
  /** Export stage: every chunk is in its file; the import's confirmation is awaited. */
  | { kind: 'exported' }
  /** The engine finished and removed its state; what it handed over is in status. */
  | { kind: 'complete' }
  | { kind: 'lost'; message: string };

/** A system move's stage; `confirmed`: spec.systemMove.importCompleted names this export (Export). */
export interface Move {
  stage: SystemMoveStage;
  confirmed: boolean;
}

const EXECUTION = PHASES.indexOf('Execution');

/**
 * `resumeAt` is the phase the engine's state records (undefined: none, or not this Migration's): the
 * shadow schema on the source, or an Import's bookkeeping on the target. Without it, a Migration whose
 * status is past PreProcessing either finished (its report was recorded before the cleanup, or an
 * Export's import was confirmed) or lost its state to someone else.
 */
export function nextStep(
  resumeAt: Phase | undefined,
  status: MigrationStatus | undefined,
  shadow: string,
  move?: Move,
): Step {
  const exportWaits = move?.stage === 'Export' && !move.confirmed;
  if (resumeAt === 'Execution') return { kind: 'execute' };
  if (resumeAt === 'PostProcessing') return exportWaits ? { kind: 'exported' } : { kind: 'finish' };
  const exported = status?.phase === 'Exported';
  // An Export's shadow schema goes in PostProcessing once confirmed: gone then, the work was done.
  const exportDone = move?.stage === 'Export' && (exported || status?.phase === 'PostProcessing');
  if (!resumeAt && (hasReport(status) || (exportDone && !exportWaits))) return { kind: 'complete' };
  if (!resumeAt && (exported || PHASES.indexOf(status?.phase as Phase) >= EXECUTION))
    return {
      kind: 'lost',
      message:
        move?.stage === 'Import'
          ? `the bookkeeping schema ${shadow} is gone from the target: the import cannot continue (fall back and start again)`
          : `the shadow schema ${shadow} is gone from the source: the migration cannot continue (fall back and start again)`,
    };
  if (move?.stage === 'Import') return { kind: 'open' };
  return { kind: 'prepare', phases: phasesToRun(resumeAt).filter((p) => PHASES.indexOf(p) < EXECUTION) };
}

/** ferry's finalizer is held while something outside Kubernetes may need cleaning up. */
export const holdsFinalizer = (phase: MigrationStatus['phase']) =>
  phase !== 'Completed' && phase !== 'RolledBack';

// Reconciling a Migration, CloudNativePG style: this file holds the entry point and the one place
// where a pass's end is translated (Outcome or error -> status, Events, requeue); each concern is a
// sibling file: preparation, execution (groups and Pods), uptime (and cutover-status), move (the dump
// volume, a system move's Export and Import stages), finishing, fallback (and deletion), status
// (pure transactions), decide (the next step, pure). Where the
// migration stands comes from the engine's shadow state, so an operator killed at any point and
// started again continues exactly there.
import type { Logger } from '../../engine/log.ts';
import type { Context } from '../../engine/phases/context.ts';
import { readResume, type Resume } from '../../engine/run.ts';
import { ForeignShadowError } from '../../engine/state/owner.ts';
import { ConditionType, Reason } from '../conditions.ts';
import { FINALIZER, getMigration, type Clients } from '../kube.ts';
import type { Result } from '../queue.ts';
import { setFinalizer } from '../status-patch.ts';
import { holdsFinalizer, nextStep } from './decide.ts';
import { engineContext } from './engine-context.ts';
import { execute } from './execution.ts';
import { finalize, rollBack } from './fallback.ts';
import { completeFromStatus, finish } from './finishing.ts';
import { classify, done, messageOf, requeueAfter, type Outcome } from './outcome.ts';
import { Pass, type Observed } from './pass.ts';
import { prepare } from './preparation.ts';
import { awaitImport, completeExport, importState, moveStatus, openDump, phaseActions } from './move.ts';
import { importConfirmation, stageOf } from '../system-move.ts';
import {
  enterPhase,
  failed,
  isTerminal,
  recordPhases,
  recovered,
  reportRecorded,
  retrying,
  setDegraded,
} from './status.ts';
import { executeUptime } from './uptime.ts';
import { refusedImage } from '../tablegroup/transfer-pod.ts';

export type { Observed } from './pass.ts';

const SECRET_POLL_MS = 5000;

/** The shadow state of this Migration; another owner's shadow schema is left to Checks to name. */
async function resumeOf(ctx: Context): Promise<Resume | undefined> {
  return readResume(ctx).catch((err: unknown) => {
    if (err instanceof ForeignShadowError) return undefined;
    throw err;
  });
}

export class Reconciler {
  private readonly c: Clients;
  private readonly log: Logger;
  private readonly observe: (ns: string, name: string) => Observed;

  constructor(c: Clients, log: Logger, observe: (ns: string, name: string) => Observed) {
    this.c = c;
    this.log = log;
    this.observe = observe;
  }

  async reconcile(key: string): Promise<Result> {
    const [ns, name] = key.split('/') as [string, string];
    const m = await getMigration(this.c, ns, name);
    if (!m) return {};
    const log = this.log.child({
      namespace: ns,
      name,
      generation: m.metadata.generation,
      phase: m.status?.phase,
    });
    const pass = new Pass(this.c, m, log);
    let outcome: Outcome;
    try {
      outcome = await this.run(pass);
      pass.update(recovered(pass.generation, new Date()));
    } catch (err) {
      outcome = await this.translate(pass, err);
    }
    if (outcome.kind === 'terminal') {
      log.error({ error: outcome.message, phase: outcome.phase }, 'migration failed');
      pass.update(failed(outcome, pass.generation, new Date()));
    }
    await pass.flush();
    // Completed or RolledBack: nothing outside Kubernetes is left to clean up.
    if (
      !holdsFinalizer(pass.m.status?.phase) ||
      (pass.m.metadata.deletionTimestamp && outcome.kind === 'done')
    )
      await setFinalizer(this.c, pass.m, FINALIZER, false);
    if (outcome.kind === 'requeue') return { requeueAfterMs: outcome.afterMs };
    if (outcome.kind === 'retry') return { retry: true };
    return {};
  }

  /** Errors end a pass here, once: transient ones are retried with backoff, the rest are terminal. */
  private async translate(pass: Pass, err: unknown): Promise<Outcome> {
    const message = messageOf(err);
    const phase = (err as { phase?: string }).phase ?? pass.m.status?.phase;
    const cls = classify(err);
    const before = pass.m.status?.conditions?.find((c) => c.type === ConditionType.Degraded);
    if (cls.kind === 'secret') {
      pass.update(setDegraded('True', cls.reason, message, pass.generation, new Date()));
      if (before?.message !== message) await pass.event('Warning', cls.reason, message);
      return requeueAfter(SECRET_POLL_MS);
    }
    if (cls.kind === 'transient') {
      pass.log.warn({ error: message, phase }, 'transient error; retrying with backoff');
      if (noteRetrying(pass, message, phase)) await pass.event('Warning', Reason.Retrying, message);
      return { kind: 'retry' };
    }
    return {
      kind: 'terminal',
      reason: cls.reason,
      message,
      phase,
      ...(cls.table ? { table: cls.table } : {}),
    };
  }

  private async run(pass: Pass): Promise<Outcome> {
    const m = pass.m;
    const phase = m.status?.phase;
    const observed = this.observe(pass.ns, pass.name);
    if (m.metadata.deletionTimestamp)
      return m.metadata.finalizers?.includes(FINALIZER) ? finalize(pass, observed) : done;
    if (holdsFinalizer(phase) && !isTerminal(phase) && !m.metadata.finalizers?.includes(FINALIZER)) {
      pass.m = await setFinalizer(this.c, m, FINALIZER, true);
      return requeueAfter(0);
    }
    // A Failed migration still holds ferry's objects: spec.fallback cleans them up like any other phase.
    if (isTerminal(phase) && !(phase === 'Failed' && m.spec.fallback)) return done;

    const ctx = await engineContext(this.c, m, pass.log, {
      // Phases run here show in status as they start (a PreProcessing waiting on the application's locks may take a while).
      phase: (record) => {
        pass.update(recordPhases([record], pass.generation));
        if (!record.endedAt)
          pass
            .flush()
            .catch((err: unknown) => pass.log.warn({ error: messageOf(err) }, 'status checkpoint failed'));
      },
      // Shown while the engine retries in this pass; the pass's success clears it (recovered).
      retrying: (message) => {
        if (!noteRetrying(pass, message, pass.m.status?.phase)) return;
        void pass
          .flush()
          .then(() => pass.event('Warning', Reason.Retrying, message))
          .catch((err: unknown) => pass.log.warn({ error: messageOf(err) }, 'status checkpoint failed'));
      },
      // The report is in status before the engine drops the shadow schema that holds it.
      report: async (r) => {
        pass.update(reportRecorded(r, pass.generation));
        await pass.flush();
      },
    });
    if (m.spec.fallback) return rollBack(pass, ctx, observed);
    // Pods of this Migration receive its Secrets: an image the installation does not allow is a spec error.
    const refused = refusedImage(m);
    if (refused) throw refused;

    const stage = stageOf(m);
    const moving = moveStatus(m, pass.generation);
    if (moving) pass.update(moving);
    // An Import's state lives in its bookkeeping on the target; the engine's Resume otherwise.
    const resume = stage === 'Import' ? await importState(pass, ctx) : await resumeOf(ctx);
    if (resume) {
      Object.assign(ctx, { catalog: resume.catalog, plan: resume.plan, history: [...resume.history] });
      // The Import's first phases ran in its Pod.
      if (stage === 'Import') pass.update(recordPhases(resume.history, pass.generation));
    }
    const move = stage && { stage, confirmed: importConfirmation(m).kind === 'confirmed' };
    const step = nextStep(resume?.phase, m.status, ctx.shadow, move);
    pass.log.debug({ step: step.kind, resumeAt: resume?.phase }, 'next step');
    const now = new Date();
    switch (step.kind) {
      case 'prepare':
        return prepare(ctx, step.phases, phaseActions(pass));
      case 'open':
        return openDump(pass, observed);
      case 'execute':
        pass.update(enterPhase('Execution', 'transferring table groups', pass.generation, now));
        return ctx.settings.mode === 'DowntimeOptimized'
          ? executeUptime(pass, ctx, observed)
          : execute(pass, ctx, observed);
      case 'exported':
        return awaitImport(pass);
      case 'finish':
        pass.update(enterPhase('PostProcessing', 'validating and cleaning up', pass.generation, now));
        return stage === 'Export' ? completeExport(pass, ctx) : finish(pass, ctx);
      case 'complete':
        return completeFromStatus(pass, ctx);
      case 'lost':
        return { kind: 'terminal', reason: Reason.Failed, message: step.message, phase: m.status?.phase };
    }
  }
}

/** Marks the migration Degraded (Retrying) in status; true when the message is new, so an Event is due. */
function noteRetrying(pass: Pass, message: string, phase: string | undefined): boolean {
  const before = pass.m.status?.conditions?.find((c) => c.type === ConditionType.Degraded);
  pass.update(retrying(message, phase, pass.generation, new Date()));
  return before?.message !== `retrying: ${message}`;
}

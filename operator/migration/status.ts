// The Migration's status as small pure transactions (CNPG's SetPhase, SetClusterReadyCondition...):
// a pass collects them and the status writer applies them to the observed status and sends the
// difference once. Every transaction stamps the generation it acted on.
import type {
  Condition,
  MigrationPhase,
  MigrationStatus,
  SystemMoveStatus,
} from '../../engine/api/status.ts';
import type { PhaseRecord } from '../../engine/phases/phase.ts';
import { TERMINAL_PHASES } from '../../engine/phases/phase.ts';
import { formatDuration } from '../../engine/progress.ts';
import type { Report } from '../../engine/report.ts';
import type { GroupProgress } from '../../engine/transfer-status.ts';
import type { Lag } from '../../engine/uptime/replay.ts';
import { ConditionType, Reason, setCondition } from '../conditions.ts';

export type Tx = (s: MigrationStatus) => MigrationStatus;

export const isTerminal = (p: MigrationPhase | undefined) =>
  (TERMINAL_PHASES as readonly string[]).includes(p ?? '');

const condition = (
  s: MigrationStatus,
  c: Omit<Condition, 'lastTransitionTime'>,
  now: Date,
): MigrationStatus => ({ ...s, conditions: setCondition(s.conditions, c, now) });

/** Moves the Migration into a phase: history, Ready and Progressing follow. Nothing changes when already there. */
export const enterPhase =
  (phase: MigrationPhase, message: string, generation: number, now: Date): Tx =>
  (s) => {
    const at = now.toISOString();
    const phases = (s.phases ?? []).map((p) => ({ ...p }));
    const open = phases[phases.length - 1];
    if (open && open.phase !== phase) open.endedAt ??= at;
    if (!open || open.phase !== phase) phases.push({ phase, startedAt: at });
    if (isTerminal(phase)) phases[phases.length - 1]!.endedAt ??= at;
    const reason =
      phase === 'Completed'
        ? Reason.Completed
        : phase === 'Failed'
          ? Reason.Failed
          : phase === 'RolledBack'
            ? Reason.RolledBack
            : phase === 'RollingBack'
              ? Reason.RollingBack
              : phase === 'Exported'
                ? Reason.WaitingForImport
                : Reason.Running;
    let next: MigrationStatus = {
      ...s,
      phase,
      phases,
      observedGeneration: generation,
      startedAt: s.startedAt ?? at,
    };
    const c = { message, observedGeneration: generation, reason };
    next = condition(
      next,
      { ...c, type: ConditionType.Ready, status: phase === 'Completed' ? 'True' : 'False' },
      now,
    );
    return condition(
      next,
      { ...c, type: ConditionType.Progressing, status: isTerminal(phase) ? 'False' : 'True' },
      now,
    );
  };

/**
 * The engine's phase records (start and end of the phases a pass ran) in the status history. A
 * phase the history has already left behind (Preparation, repeated by every resumed run) is not
 * entered again.
 */
export const recordPhases =
  (records: readonly PhaseRecord[], generation: number): Tx =>
  (s) => {
    let next = s;
    for (const r of records) {
      const at = (next.phases ?? []).findIndex((p) => p.phase === r.phase);
      const last = (next.phases?.length ?? 0) - 1;
      if (at >= 0 && at < last) continue;
      if (at < 0) next = enterPhase(r.phase, `${r.phase} running`, generation, new Date(r.startedAt))(next);
      const end = r.endedAt;
      if (end)
        next = {
          ...next,
          phases: next.phases!.map((p, i, all) => (i === all.length - 1 ? { ...p, endedAt: end } : p)),
        };
    }
    return next;
  };

export const setDegraded =
  (status: 'True' | 'False', reason: string, message: string, generation: number, now: Date): Tx =>
  (s) =>
    condition(
      { ...s, observedGeneration: generation },
      { type: ConditionType.Degraded, status, reason, message, observedGeneration: generation },
      now,
    );

/** A transient error: the Migration stays in its phase, Degraded says what is retried. */
export const retrying = (message: string, phase: string | undefined, generation: number, now: Date): Tx => {
  const degraded = setDegraded('True', Reason.Retrying, `retrying: ${message}`, generation, now);
  return (s) => ({
    ...degraded(s),
    lastError: { message, ...(phase ? { phase } : {}) },
  });
};

/** What clears each reason a later pass can clear, with its message. */
const RECOVERY: Record<string, [reason: string, message: string]> = {
  [Reason.Retrying]: [Reason.Healthy, 'recovered; no error'],
  [Reason.SecretNotFound]: [Reason.SecretFound, 'the Secrets the spec names are readable'],
  [Reason.ClaimNotFound]: [Reason.ClaimFound, "the dump volume's PersistentVolumeClaim exists"],
};

/** Degraded for a reason a later pass can clear (a transient error, a missing Secret or claim), then a pass that went through. */
export const recovered =
  (generation: number, now: Date): Tx =>
  (s) => {
    const d = s.conditions?.find((c) => c.type === ConditionType.Degraded);
    const next = d?.status === 'True' ? RECOVERY[d.reason] : undefined;
    return next ? setDegraded('False', next[0], next[1], generation, now)(s) : s;
  };

export const failed =
  (
    error: { reason: string; message: string; phase?: string; table?: string },
    generation: number,
    now: Date,
  ): Tx =>
  (s) => {
    const { message, phase, table } = error;
    const next = enterPhase(
      'Failed',
      message,
      generation,
      now,
    )({
      ...s,
      lastError: { message, ...(table ? { table } : {}), ...(phase ? { phase } : {}) },
    });
    return setDegraded('True', error.reason, message, generation, now)(next);
  };

/** What the engine handed over before it removed the shadow schema: enough to complete from status alone. */
export const reportRecorded =
  (r: Pick<Report, 'tables' | 'totals' | 'downtimeSeconds'>, generation: number): Tx =>
  (s) => ({
    ...s,
    observedGeneration: generation,
    progress: { rows: r.totals.rows, bytes: r.totals.bytes, percent: 100, etaSeconds: 0 },
    progressText: '100%',
    report: r.tables.map((t) => ({ table: t.table, rows: t.rows, seconds: t.seconds })),
    ...(r.downtimeSeconds !== undefined
      ? { downtimeSeconds: r.downtimeSeconds, downtime: `${r.downtimeSeconds.toFixed(2)}s` }
      : {}),
  });

/** Completed; `message` by default the rows migrated and the validation. */
export const completed = (validation: string, generation: number, now: Date, message?: string): Tx => {
  return (s) => {
    const rows = s.progress?.rows ?? 0;
    const next = enterPhase(
      'Completed',
      message ?? `migrated ${rows} rows, validation ${validation}`,
      generation,
      now,
    )(s);
    const { lastError: _, ...rest } = setDegraded('False', Reason.Healthy, 'no error', generation, now)(next);
    return rest;
  };
};

/** The report was recorded in status (the engine was about to drop the shadow schema). */
export const hasReport = (s: MigrationStatus | undefined) =>
  s?.report !== undefined && s.phase === 'PostProcessing';

/** Transfer progress overall and per group; the ETA only once something has moved (0:00 at the start would be a lie). */
export const transferProgressTx =
  (
    progress: readonly GroupProgress[],
    costs: ReadonlyMap<number, number>,
    groupPhases: ReadonlyMap<number, string>,
    migration: string,
    generation: number,
    now: Date,
  ): Tx =>
  (s) => {
    const rows = progress.reduce((a, g) => a + g.rows, 0);
    const bytes = progress.reduce((a, g) => a + g.bytes, 0);
    const est = [...costs.values()].reduce((a, c) => a + c, 0);
    const weighted = progress.reduce((a, g) => a + (g.percent * (costs.get(g.group) ?? 0)) / 100, 0);
    const percent = Math.round((1000 * weighted) / Math.max(est, 1)) / 10;
    const started = Date.parse(
      s.phases?.find((p) => p.phase === 'Execution')?.startedAt ?? now.toISOString(),
    );
    const elapsed = (now.getTime() - started) / 1000;
    const etaSeconds = percent > 0 ? Math.round((elapsed * (100 - percent)) / percent) : undefined;
    const finished = progress.filter((g) => g.chunksDone === g.chunks).length;
    return {
      ...s,
      observedGeneration: generation,
      progress: {
        rows,
        bytes,
        percent,
        ...(etaSeconds !== undefined ? { etaSeconds } : {}),
        bytesPerSecond: elapsed > 0 ? Math.round(bytes / elapsed) : 0,
      },
      progressText: `${percent}% (${finished}/${progress.length} groups, ETA ${formatDuration(etaSeconds ?? null)})`,
      groups: progress.map((g) => ({
        name: `${migration}-g${g.group}`,
        phase: groupPhases.get(g.group) ?? 'Pending',
        percent: g.percent,
      })),
    };
  };

/** DowntimeOptimized: the replay lag and the CutoverReady condition. */
export const uptimeTx =
  (lag: Lag, cutover: Omit<Condition, 'lastTransitionTime'>, generation: number, now: Date): Tx =>
  (s) =>
    condition(
      {
        ...s,
        observedGeneration: generation,
        lag: { pending: lag.pending, oldestSeconds: Math.round(lag.oldestSeconds * 10) / 10 },
      },
      cutover,
      now,
    );

/** A system move: the stage, its volume, and what is known of the export (merged into what status holds). */
export const systemMoveTx =
  (move: Partial<SystemMoveStatus>, generation: number): Tx =>
  (s) => ({
    ...s,
    observedGeneration: generation,
    systemMove: { ...s.systemMove, ...move } as SystemMoveStatus,
  });

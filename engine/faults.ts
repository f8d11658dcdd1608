// Fault injection for rehearsals and tests: `FERRY_FAULT=<point>` (or `<point>:<n>`, the n-th time it
// is reached) ends the process with SIGKILL at that point, so nothing gets to clean up, exactly as a
// crashed node or an OOM kill would. `FERRY_FAULT_SIGNAL=SIGSTOP` stops it there instead, at each of
// the points listed (`a,b:2,c`): a test then restarts a database and sends SIGCONT. Unset, a point
// costs one comparison.
import type { Mode } from './api/migration.ts';
import { PHASES, type Phase } from './phases/phase.ts';

const BOTH: readonly Mode[] = ['Standard', 'DowntimeOptimized'];
const UPTIME: readonly Mode[] = ['DowntimeOptimized'];
const STANDARD: readonly Mode[] = ['Standard'];

const phasePoints = Object.fromEntries(
  PHASES.flatMap((p) => [
    [`${p}.start`, BOTH],
    [`${p}.end`, BOTH],
  ]),
) as Record<`${Phase}.${'start' | 'end'}`, readonly Mode[]>;

/** Every point, in the order a run reaches them, with the modes that reach it. */
export const FAULT_POINTS = {
  ...phasePoints,
  /** A chunk and its done-row committed on the target (transfer.ts). */
  'transfer.chunk-committed': BOTH,
  /** A post-load step (index, key, FK, ANALYZE, sequence value, view...) committed with its done-row. */
  'after-load.step-done': BOTH,
  /** Standard: a table's rows (or one key range of them) validated and recorded so. */
  'validate.unit-done': STANDARD,
  /** The write fence is up and the writers it caught are done (Standard: Execution; else the cutover). */
  'fence.raised': BOTH,
  /** The bulk copy's snapshot is exported and the log it contains deleted, not yet committed. */
  'uptime.snapshot-exported': UPTIME,
  /** Every uptime chunk is copied; the snapshot's validation and commit are still to come. */
  'uptime.bulk-copied': UPTIME,
  /** A replay batch committed on the target, its log entries not yet deleted on the source. */
  'replay.target-committed': UPTIME,
  'cutover.final-drain': UPTIME,
  'cutover.validated': UPTIME,
  /** The cutover's keys, foreign keys and sequence values are built. */
  'cutover.after-load': UPTIME,
  /** PostProcessing: the report is stored, ferry's schemas are not yet dropped. */
  'cleanup.before-drops': BOTH,
  /** The target bookkeeping is dropped, the source's shadow schema (and the fence) not yet. */
  'cleanup.target-dropped': BOTH,
  /** Both dropped: the migration is complete, only the report is not yet written out. */
  'cleanup.source-dropped': BOTH,
} as const satisfies Record<string, readonly Mode[]>;

/** What reaches a Dump point: `ferry run` with spec.transfer.method Dump (either mode), or one side of a system move. */
export type DumpCommand = 'run' | 'export' | 'import';

/** Points only the Dump method reaches, with the commands that reach each. */
export const DUMP_FAULT_POINTS = {
  /** A chunk's file is durable and its record written (the export). */
  'dump.chunk-exported': ['run', 'export'],
  /** Every chunk is exported and the manifest sealed (ferry export), nothing imported by it. */
  'dump.sealed': ['export'],
  /** A chunk's file and its done-row committed on the target (the import). */
  'dump.chunk-imported': ['run', 'import'],
  /** ferry import: the completion record is in the directory, the target bookkeeping not yet dropped. */
  'dump.completion-written': ['import'],
} as const satisfies Record<string, readonly DumpCommand[]>;

export type FaultPoint = keyof typeof FAULT_POINTS | keyof typeof DUMP_FAULT_POINTS;

const ALL_POINTS = Object.keys({ ...FAULT_POINTS, ...DUMP_FAULT_POINTS });

/**
 * Points past the migration's end: the shadow schema is gone, so a run killed there has completed
 * (only its report is lost) and a new run starts afresh, refusing at Checks the tables it finds.
 */
export const AFTER_COMPLETION: readonly FaultPoint[] = ['cleanup.source-dropped', 'PostProcessing.end'];

/** The points a run of the mode reaches (with the memory pipe; the Dump method's are dumpFaultPointsOf's). */
export const faultPointsOf = (mode: Mode): FaultPoint[] =>
  (Object.keys(FAULT_POINTS) as (keyof typeof FAULT_POINTS)[]).filter((p) => FAULT_POINTS[p].includes(mode));

/** The Dump points `command` reaches, in the order it reaches them. */
export const dumpFaultPointsOf = (command: DumpCommand): FaultPoint[] =>
  (Object.keys(DUMP_FAULT_POINTS) as (keyof typeof DUMP_FAULT_POINTS)[]).filter((p) =>
    (DUMP_FAULT_POINTS[p] as readonly DumpCommand[]).includes(command),
  );

export interface FaultSpec {
  point: FaultPoint;
  /** Fires the n-th time the point is reached (1-based). */
  nth: number;
}

/** Parses FERRY_FAULT: points separated by commas, each optionally `:<n>`; [] when unset. Pure. */
export function parseFault(value: string | undefined): FaultSpec[] {
  if (!value?.trim()) return [];
  return value.split(',').map((entry) => {
    const m = /^(.*?)(?::(\d+))?$/.exec(entry.trim())!;
    const point = m[1]!;
    if (!ALL_POINTS.includes(point))
      throw new Error(
        `FERRY_FAULT: unknown fault point ${JSON.stringify(point)} (one of ${ALL_POINTS.join(', ')})`,
      );
    const nth = m[2] === undefined ? 1 : Number(m[2]);
    if (nth < 1) throw new Error(`FERRY_FAULT: ${entry}: the count must be 1 or more`);
    return { point: point as FaultPoint, nth };
  });
}

const raw = process.env.FERRY_FAULT;
let armed: FaultSpec[] | undefined;
const reached = new Map<FaultPoint, number>();

/** Ends (or stops) the process here when FERRY_FAULT names this point; a bad FERRY_FAULT fails the first point. */
export function faultPoint(point: FaultPoint): void {
  if (!raw) return;
  armed ??= parseFault(raw);
  const n = (reached.get(point) ?? 0) + 1;
  reached.set(point, n);
  if (!armed.some((f) => f.point === point && f.nth === n)) return;
  const signal = process.env.FERRY_FAULT_SIGNAL === 'SIGSTOP' ? 'SIGSTOP' : 'SIGKILL';
  process.stderr.write(`ferry: fault point ${point} reached (FERRY_FAULT): ${signal}\n`);
  process.kill(process.pid, signal);
}

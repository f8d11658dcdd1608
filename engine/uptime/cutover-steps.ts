// Which post-load steps a DowntimeOptimized migration runs in uptime, which in the downtime, and
// which a failed cutover takes back. Pure.
//
// In uptime: the uptime tables' keys and indexes (the replay deletes by key), and the objects the
// replay does not care about (views, materialized views without their data, grants, comments on
// what exists by then); foreign keys between uptime tables too where the replay may leave them
// unfired (foreign-keys.ts, inside a batch). In the downtime: whatever would change the replay
// (other foreign keys would refuse or cascade its deletes, the application's triggers would fire on
// replayed rows, row security would hide rows from it), what must be fresh (sequence values,
// materialized view data), the downtime tables' keys and indexes, and comments on objects built in
// the downtime.
import type { PostLoadStep } from '../catalog/ddl.ts';
import { stageOf } from '../transfer/after-load.ts';

const UPTIME_OBJECTS = new Set(['view', 'matview', 'mvindex', 'grant']);
/** Kinds a failed cutover removes from the target (undoCutover). */
const UNDONE = new Set(['fk', 'setval', 'trigger', 'policy', 'rls', 'refresh']);
/** Comments on these are built with their object: in the downtime, and taken back with it. */
const DOWNTIME_COMMENTED = /^(INDEX|CONSTRAINT|TRIGGER|POLICY) /;

/** `kind` and the rest of a step's name, without the source schema a multi-schema name carries. */
function parts(name: string): { kind: string; rest: string } {
  const colon = name.indexOf(':');
  return {
    kind: name.slice(0, colon),
    rest: name.slice(colon + 1).replace(/^"(?:[^"]|"")*"\./, ''),
  };
}

export function builtInUptime(step: PostLoadStep, uptimeTables: ReadonlySet<string>): boolean {
  const stage = stageOf(step);
  if (stage === 'build') return step.table !== null && uptimeTables.has(step.table);
  if (stage !== 'objects') return false;
  const { kind, rest } = parts(step.name);
  return UPTIME_OBJECTS.has(kind) || (kind === 'comment' && !DOWNTIME_COMMENTED.test(rest));
}

/** Steps a failed cutover takes back: run again by the next one. */
export function undoneByUndo(name: string): boolean {
  const { kind, rest } = parts(name);
  return UNDONE.has(kind) || (kind === 'comment' && /^(CONSTRAINT|TRIGGER|POLICY) /.test(rest));
}

/** The downtime's post-load work in the order it runs, each part a step of the downtime report. */
export const DOWNTIME_STAGES = [
  ['build', 'keys and indexes of the downtime tables'],
  ['foreign-keys', 'foreign keys'],
  ['sequences', 'sequences'],
  ['objects', 'triggers, row security, materialized views'],
] as const;

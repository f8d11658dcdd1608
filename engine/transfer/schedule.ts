// What the load and everything after it runs as, in one pool of `parallelism` slots: the chunk copies,
// and as soon as a table's last chunk (and its partitions' or children's) has landed, its keys,
// constraints and indexes; its foreign keys once the referenced table is built too; then ANALYZE and
// the validation of its rows. Pure: which jobs there are, what each waits for, which table locks it
// takes (so that two jobs that would wait on each other's locks never run at once), and which runs
// next: the largest tables' jobs first.
import type { Settings } from '../api/settings.ts';
import type { PostLoadStep } from '../catalog/ddl.ts';
import { parentsOf } from '../catalog/relations.ts';
import { siblingKey, tableKey, targetName } from '../catalog/schemas.ts';
import type { Catalog, Table } from '../catalog/types.ts';
import { quoteIdent } from '../db/ident.ts';
import type { Chunk } from '../plan/chunks.ts';
import type { ValidationUnit } from '../validate/compare.ts';

/** PostgreSQL's table lock modes that ferry's jobs take (Exclusive is not among them). */
export type LockMode =
  | 'AccessShare'
  | 'RowShare'
  | 'RowExclusive'
  | 'ShareUpdateExclusive'
  | 'Share'
  | 'ShareRowExclusive'
  | 'AccessExclusive';

const CONFLICTS: Record<LockMode, readonly LockMode[]> = {
  AccessShare: ['AccessExclusive'],
  RowShare: ['AccessExclusive'],
  RowExclusive: ['Share', 'ShareRowExclusive', 'AccessExclusive'],
  ShareUpdateExclusive: ['ShareUpdateExclusive', 'Share', 'ShareRowExclusive', 'AccessExclusive'],
  Share: ['RowExclusive', 'ShareUpdateExclusive', 'ShareRowExclusive', 'AccessExclusive'],
  ShareRowExclusive: [
    'RowExclusive',
    'ShareUpdateExclusive',
    'Share',
    'ShareRowExclusive',
    'AccessExclusive',
  ],
  AccessExclusive: [
    'AccessShare',
    'RowShare',
    'RowExclusive',
    'ShareUpdateExclusive',
    'Share',
    'ShareRowExclusive',
    'AccessExclusive',
  ],
};

export const conflicts = (a: LockMode, b: LockMode): boolean => CONFLICTS[a].includes(b);

export interface Lock {
  table: string;
  mode: LockMode;
}

interface Common {
  /** Unique. What the job records itself as: a chunk's copy `copy:<chunk>`, a step its name. */
  id: string;
  /** The table it works on (the referencing one for a foreign key). */
  table: string;
  locks: Lock[];
  /** Ids of the jobs that must be done first. */
  after: string[];
  /** A job that records nothing of its own is done once this one is. */
  doneWith?: string;
}

export type Job = Common &
  (
    | { kind: 'copy'; chunk: Chunk }
    /** A recorded DDL step (`sql` in `schema`, or the target schema): build, foreign key, ANALYZE. */
    | { kind: 'build' | 'fk' | 'analyze'; sql: string; schema?: string }
    /** A foreign key added NOT VALID, without a scan: its `fk` job validates it. */
    | { kind: 'fk-add'; sql: string; schema?: string }
    | { kind: 'validate'; unit: ValidationUnit }
  );

export const copyId = (chunk: string): string => `copy:${chunk}`;
export const analyzeId = (table: string): string => `analyze:${quoteIdent(table)}`;
export const validateId = (unit: string): string => `validate:${unit}`;

export interface JobsInput {
  catalog: Catalog;
  settings: Pick<Settings, 'schemas'>;
  /** Every chunk of the plan: a table is loaded when all of its own and its descendants' are copied. */
  chunks: readonly Chunk[];
  /** The chunks to copy here (the others are copied elsewhere, or were). */
  copies: readonly Chunk[];
  /** Build and foreign key steps (after-load.ts stageOf). */
  steps: readonly PostLoadStep[];
  analyze: boolean;
  units: readonly ValidationUnit[];
}

/** The tables under a table: its partitions (and theirs) or inheritance children (and theirs). */
export function descendants(catalog: Pick<Catalog, 'tables'>, key: string): string[] {
  const children = catalog.tables.filter((t) =>
    parentsOf(t).some((p) => siblingKey(t, p) === key && tableKey(t) !== key),
  );
  return children.flatMap((c) => [tableKey(c), ...descendants(catalog, tableKey(c))]);
}

/** Build steps that only read the table (CREATE INDEX) share it; ALTER TABLE takes it whole. */
const buildLock = (step: PostLoadStep): LockMode =>
  step.name.startsWith('index:') ? 'Share' : 'AccessExclusive';

/** The jobs, most urgent first: by table size, largest first; a table's builds, FKs, ANALYZE, validation in that order. */
export function planJobs(input: JobsInput): Job[] {
  const { catalog } = input;
  const tree = new Map(
    catalog.tables.map((t) => [tableKey(t), [tableKey(t), ...descendants(catalog, tableKey(t))]]),
  );
  const treeOf = (key: string) => tree.get(key) ?? [key];
  const on = (key: string, mode: LockMode, rest: LockMode = mode): Lock[] =>
    treeOf(key).map((table, i) => ({ table, mode: i === 0 ? mode : rest }));
  const bytes = new Map(catalog.tables.map((t: Table) => [tableKey(t), t.heapBytes]));
  const size = (key: string) => treeOf(key).reduce((a, k) => a + (bytes.get(k) ?? 0), 0);
  const loaded = (key: string) => {
    const keys = new Set(treeOf(key));
    return input.chunks.filter((c) => keys.has(c.table)).map((c) => copyId(c.id));
  };
  const builds = input.steps.filter((s) => !s.name.startsWith('fk:'));
  const built = (key: string) => [
    ...loaded(key),
    ...builds.filter((s) => s.table === key).map((s) => s.name),
  ];
  const jobs: { job: Job; size: number; order: number }[] = [];
  const add = (job: Job, order: number, bytesOf = size(job.table)) =>
    jobs.push({ job, size: bytesOf, order });

  for (const c of input.copies)
    add(
      {
        kind: 'copy',
        id: copyId(c.id),
        table: c.table,
        chunk: c,
        locks: on(c.table, 'RowExclusive'),
        after: [],
      },
      0,
    );
  for (const s of builds) {
    const table = s.table ?? '';
    add(
      {
        kind: 'build',
        id: s.name,
        table,
        sql: s.sql,
        schema: s.schema,
        locks: on(table, buildLock(s)),
        after: loaded(table),
      },
      1,
    );
  }
  for (const s of input.steps.filter((x) => x.name.startsWith('fk:'))) {
    const [table, refs] = [s.table ?? '', s.references ?? s.table ?? ''];
    const ready = [...new Set([...built(table), ...built(refs)])];
    const biggest = Math.max(size(table), size(refs));
    const schema = s.schema;
    if (s.validate === undefined) {
      add(
        {
          kind: 'fk',
          id: s.name,
          table,
          sql: s.sql,
          schema,
          locks: [...on(table, 'ShareRowExclusive'), ...on(refs, 'ShareRowExclusive')],
          after: ready,
        },
        2,
        biggest,
      );
      continue;
    }
    const addId = `add ${s.name}`;
    add(
      {
        kind: 'fk-add',
        id: addId,
        table,
        sql: s.sql,
        schema,
        doneWith: s.name,
        locks: [...on(table, 'ShareRowExclusive'), ...on(refs, 'ShareRowExclusive')],
        after: ready,
      },
      2,
      biggest,
    );
    // VALIDATE reads both tables under locks that let other validations (and reads) run alongside.
    add(
      {
        kind: 'fk',
        id: s.name,
        table,
        sql: s.validate,
        schema,
        locks: [...on(table, 'ShareUpdateExclusive'), ...on(refs, 'RowShare')],
        after: [addId],
      },
      3,
      biggest,
    );
  }
  if (input.analyze)
    for (const t of catalog.tables) {
      const key = tableKey(t);
      const sql = `ANALYZE ${targetName(input.settings, catalog, t)}`;
      add(
        {
          kind: 'analyze',
          id: analyzeId(key),
          table: key,
          sql,
          locks: on(key, 'ShareUpdateExclusive', 'AccessShare'),
          after: built(key),
        },
        4,
      );
    }
  // A key range is read through the key's index, chosen by the planner once the table has statistics;
  // a whole table is read through anyway, alongside its ANALYZE.
  for (const u of input.units)
    add(
      {
        kind: 'validate',
        id: validateId(u.id),
        table: u.table,
        unit: u,
        locks: on(u.table, 'AccessShare'),
        after: input.analyze && u.range ? [analyzeId(u.table)] : built(u.table),
      },
      5,
    );
  return jobs
    .map((j, i) => ({ ...j, i }))
    .sort(
      (a, b) => b.size - a.size || a.job.table.localeCompare(b.job.table) || a.order - b.order || a.i - b.i,
    )
    .map((j) => j.job);
}

export const isDone = (job: Job, done: ReadonlySet<string>): boolean =>
  done.has(job.id) || (job.doneWith !== undefined && done.has(job.doneWith));

/**
 * The next job to start: the first of `jobs` (in their order) not done, not running, not failed,
 * whose prerequisites are done and whose locks conflict with none of the running jobs'.
 */
export function nextJob(
  jobs: readonly Job[],
  done: ReadonlySet<string>,
  running: readonly Job[],
  failed: ReadonlySet<string> = new Set(),
): Job | undefined {
  const busy = new Set(running.map((j) => j.id));
  const held = running.flatMap((j) => j.locks);
  return jobs.find(
    (j) =>
      !isDone(j, done) &&
      !busy.has(j.id) &&
      !failed.has(j.id) &&
      j.after.every((a) => done.has(a)) &&
      !j.locks.some((l) => held.some((h) => h.table === l.table && conflicts(l.mode, h.mode))),
  );
}

/**
 * Parallel workers a build step (an index, a key) may take: at most as many slots as the pool leaves
 * idle, within the server's own max_parallel_maintenance_workers. The pool's slots are ferry's share
 * of the target: workers beside a full pool only crowd it (on 2 cores with both slots building, a
 * 1 GB load took about 10% longer, its sorts split in three); in the tail, idle slots' share goes to
 * the last tables' builds.
 */
export const buildWorkers = (serverMax: number, idleSlots: number): number =>
  Math.max(0, Math.min(serverMax, idleSlots));

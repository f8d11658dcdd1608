import { describe, expect, it } from 'vitest';
import { postLoadSteps } from '../catalog/ddl.ts';
import type { Catalog, Constraint, Table } from '../catalog/types.ts';
import { wholeTable, type Chunk } from '../plan/chunks.ts';
import { validationUnits } from '../validate/compare.ts';
import { table } from '../../test/support/catalog.ts';
import { tableSteps } from './after-load.ts';
import {
  buildWorkers,
  conflicts,
  copyId,
  descendants,
  isDone,
  nextJob,
  planJobs,
  type Job,
} from './schedule.ts';

const pk = (t: string): Constraint => ({
  name: `${t}_pkey`,
  kind: 'p',
  definition: 'PRIMARY KEY (id)',
  references: null,
});
const fk = (t: string, to: string): Constraint => ({
  name: `${t}_${to}_fkey`,
  kind: 'f',
  definition: `FOREIGN KEY (id) REFERENCES ${to}(id)`,
  references: to,
});
const index = (t: string, name: string) => ({
  name,
  definition: `CREATE INDEX ${name} ON ${t} USING btree (id)`,
});

// big: 3 chunks, a key and two indexes; mid references big; small references big; part: two partitions.
const tables: Table[] = [
  table('small', { heapBytes: 10, constraints: [pk('small'), fk('small', 'big')] }),
  table('big', {
    heapBytes: 3000,
    constraints: [pk('big')],
    indexes: [index('big', 'big_a'), index('big', 'big_b')],
  }),
  table('mid', { heapBytes: 500, constraints: [pk('mid'), fk('mid', 'big')] }),
  table('part', { heapBytes: 0, partitionBy: 'RANGE (id)', constraints: [pk('part')] }),
  table('part_1', { heapBytes: 100, partitionOf: { parent: 'part', bound: 'FOR VALUES FROM (1) TO (10)' } }),
  table('part_2', { heapBytes: 100, partitionOf: { parent: 'part', bound: 'FOR VALUES FROM (10) TO (20)' } }),
];
const catalog: Catalog = { schema: 's', tables, types: [], sequences: [] } as unknown as Catalog;
const key = (lo: string | null, hi: string | null) =>
  ({ kind: 'key', column: 'id', type: 'integer', lo, hi, portable: true }) as const;
const bigChunks: Chunk[] = [
  [null, '10'],
  ['10', '20'],
  ['20', null],
].map(([lo, hi], i) => ({
  id: `big#${i + 1}/3`,
  table: 'big',
  range: key(lo!, hi!),
  estRows: 1,
  estBytes: 1000,
}));
const chunks: Chunk[] = [
  ...bigChunks,
  ...tables
    .filter((t) => !t.partitionBy)
    .filter((t) => t.name !== 'big')
    .map(wholeTable),
];
const plan = { groups: [{ id: 1, chunks, cost: 0 }], chunks: chunks.length, estBytes: 0, estRows: 0 };
const jobs = planJobs({
  catalog,
  settings: { schemas: [{ source: 's', target: 't' }] },
  chunks,
  copies: chunks,
  steps: tableSteps(postLoadSteps(catalog, 't')),
  analyze: true,
  units: validationUnits(catalog, plan),
});
const job = (id: string) => jobs.find((j) => j.id === id)!;
const ids = (js: readonly Job[]) => js.map((j) => j.id);
const copies = (...tables: string[]) =>
  chunks.filter((c) => tables.includes(c.table)).map((c) => copyId(c.id));

/** Every job that nextJob would start right now, one after the other, with `done` as it is. */
function startable(done: Set<string>, running: Job[] = []): string[] {
  const started = [...running];
  for (let j = nextJob(jobs, done, started); j; j = nextJob(jobs, done, started)) started.push(j);
  return ids(started.slice(running.length));
}

describe('planJobs', () => {
  it('copies the largest tables first, then the rest by size', () => {
    expect(ids(jobs.filter((j) => j.kind === 'copy'))).toEqual([
      'copy:big#1/3',
      'copy:big#2/3',
      'copy:big#3/3',
      'copy:mid',
      'copy:part_1',
      'copy:part_2',
      'copy:small',
    ]);
  });

  it('builds a table once all its chunks, and its partitions’, have landed', () => {
    expect(job('pk:"big"."big_pkey"').after).toEqual(copies('big'));
    expect(job('index:"big_a"').after).toEqual(copies('big'));
    expect(job('pk:"part"."part_pkey"').after).toEqual(copies('part_1', 'part_2'));
    expect(descendants(catalog, 'part')).toEqual(['part_1', 'part_2']);
  });

  it('adds a foreign key once both tables are built, NOT VALID, then validates it', () => {
    const add = job('add fk:"mid"."mid_big_fkey"');
    expect(add.kind).toBe('fk-add');
    expect(add.after.sort()).toEqual(
      [
        ...copies('mid', 'big'),
        'pk:"mid"."mid_pkey"',
        'pk:"big"."big_pkey"',
        'index:"big_a"',
        'index:"big_b"',
      ].sort(),
    );
    expect(job('fk:"mid"."mid_big_fkey"').after).toEqual(['add fk:"mid"."mid_big_fkey"']);
    // Nothing records the NOT VALID addition: a recorded validation stands for it.
    expect(isDone(add, new Set(['fk:"mid"."mid_big_fkey"']))).toBe(true);
  });

  it('analyzes a built table, and validates it: a split one range by range once analyzed', () => {
    expect(job('analyze:"big"').after).toEqual([
      ...copies('big'),
      'pk:"big"."big_pkey"',
      'index:"big_a"',
      'index:"big_b"',
    ]);
    expect(ids(jobs.filter((j) => j.kind === 'validate' && j.table === 'big'))).toEqual([
      'validate:big#1/3',
      'validate:big#2/3',
      'validate:big#3/3',
    ]);
    expect(job('validate:big#2/3').after).toEqual(['analyze:"big"']);
    // A partitioned table holds no rows: its partitions are validated.
    expect(jobs.some((j) => j.id === 'validate:part')).toBe(false);
    // A whole table is read through anyway: alongside its ANALYZE.
    expect(job('validate:part_1').after).toEqual(copies('part_1'));
  });
});

describe('nextJob', () => {
  it('keeps every slot copying until a table is loaded', () => {
    expect(startable(new Set()).slice(0, 3)).toEqual(['copy:big#1/3', 'copy:big#2/3', 'copy:big#3/3']);
    expect(startable(new Set(copies('big').slice(0, 2)))).not.toContain('pk:"big"."big_pkey"');
  });

  it('starts a loaded table’s builds before the next table’s copy, but never two that would wait on each other’s locks', () => {
    const done = new Set(copies('big'));
    // The key takes the table whole: the indexes wait, and the free slots copy other tables.
    expect(startable(done).slice(0, 3)).toEqual(['pk:"big"."big_pkey"', 'copy:mid', 'copy:part_1']);
    // With the key built, both indexes build at once (they share the table).
    done.add('pk:"big"."big_pkey"');
    expect(startable(done).slice(0, 2)).toEqual(['index:"big_a"', 'index:"big_b"']);
    // A copy into a table conflicts with building on it; reading it does not.
    expect(conflicts('RowExclusive', 'Share')).toBe(true);
    expect(conflicts('AccessShare', 'ShareUpdateExclusive')).toBe(false);
  });

  it('starts a foreign key when both its tables are built, and validates several at once', () => {
    const built = [
      'pk:"big"."big_pkey"',
      'index:"big_a"',
      'index:"big_b"',
      'pk:"mid"."mid_pkey"',
      'pk:"small"."small_pkey"',
    ];
    const done = new Set([...copies('big', 'mid', 'small', 'part_1', 'part_2'), ...built, 'analyze:"big"']);
    const now = startable(done);
    // Adding both NOT VALID at once would wait on big's lock: one after the other.
    expect(now).toContain('add fk:"mid"."mid_big_fkey"');
    expect(now).not.toContain('add fk:"small"."small_big_fkey"');
    done.add('add fk:"mid"."mid_big_fkey"');
    done.add('add fk:"small"."small_big_fkey"');
    // The validations read big under a lock they share: both run, next to big's own validation.
    const later = startable(done);
    expect(later).toEqual(
      expect.arrayContaining(['fk:"mid"."mid_big_fkey"', 'fk:"small"."small_big_fkey"', 'validate:big#1/3']),
    );
    // ANALYZE of mid waits for its foreign key's validation (both take SHARE UPDATE EXCLUSIVE on mid).
    expect(later).not.toContain('analyze:"mid"');
  });

  it('skips what is done, running or failed, and what waits for a failed job', () => {
    const failed = new Set(['pk:"big"."big_pkey"']);
    const done = new Set([...copies('big'), 'index:"big_a"', 'index:"big_b"']);
    expect(nextJob(jobs, done, [], failed)?.id).toBe('copy:mid');
    expect(nextJob(jobs, new Set(), [job('copy:big#1/3')])?.id).toBe('copy:big#2/3');
  });
});

describe('a whole schedule, simulated on two slots', () => {
  it('runs every job once, each after what it waits for, never two conflicting ones at once', () => {
    const done = new Set<string>();
    const running: { job: Job; ends: number }[] = [];
    const started = new Map<string, number>();
    const ended = new Map<string, number>();
    const cost = (j: Job) => (j.kind === 'copy' ? j.chunk.estBytes / 100 + 1 : j.table === 'big' ? 5 : 1);
    const startable = () =>
      running.length < 2
        ? nextJob(
            jobs,
            done,
            running.map((r) => r.job),
          )
        : undefined;
    for (let now = 0; done.size < jobs.length || running.length;) {
      for (let j = startable(); j; j = startable()) {
        for (const r of running)
          for (const l of j.locks)
            for (const h of r.job.locks) expect(l.table === h.table && conflicts(l.mode, h.mode)).toBe(false);
        started.set(j.id, now);
        running.push({ job: j, ends: now + cost(j) });
      }
      expect(
        running.length,
        `stuck with ${jobs.filter((j) => !done.has(j.id)).map((j) => j.id)}`,
      ).toBeGreaterThan(0);
      running.sort((a, b) => a.ends - b.ends);
      const r = running.shift()!;
      now = r.ends;
      done.add(r.job.id);
      ended.set(r.job.id, now);
    }
    expect([...started.keys()].sort()).toEqual(ids(jobs).sort());
    for (const j of jobs)
      for (const a of j.after) expect(ended.get(a)!).toBeLessThanOrEqual(started.get(j.id)!);
    // The large table was built while the others were still being copied.
    expect(started.get('pk:"big"."big_pkey"')!).toBeLessThan(started.get('copy:small')!);
  });
});

describe('buildWorkers', () => {
  it('gives a build only the slots left idle, within the server’s own limit', () => {
    expect(buildWorkers(2, 0)).toBe(0);
    expect(buildWorkers(2, 1)).toBe(1);
    expect(buildWorkers(2, 7)).toBe(2);
    expect(buildWorkers(0, 3)).toBe(0);
  });
});

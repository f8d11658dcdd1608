import { describe, expect, it } from 'vitest';
import {
  extraCost,
  ferryLines,
  median,
  mysqlGoals,
  peakRss,
  phaseMedians,
  ratioTable,
  secondsTable,
  spread,
} from './stats.ts';
import type { Measurement } from './jobs.ts';

describe('bench stats', () => {
  it('takes the middle value, or the mean of the two middle ones', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
    expect(spread([12.1, 10.1, 14])).toEqual({ median: 12.1, min: 10.1, max: 14 });
  });

  it('prints seconds and baseline/ferry on medians, so that above 1 means ferry is faster', () => {
    const ferry = { label: 'ferry', seconds: [10, 12, 11], baseline: false };
    const raw = { label: 'raw pipe', seconds: [13.2, 14, 20], baseline: true };
    const lines = secondsTable([ferry, raw], ferry).split('\n');
    expect(lines[0]).toMatch(/^job\s+median s\s+min-max s\s+runs\s+baseline\/ferry$/);
    expect(lines[1]).toMatch(/^ferry\s+11\.0\s+10\.0-12\.0\s+3$/);
    expect(lines[2]).toMatch(/^raw pipe\s+14\.0\s+13\.2-20\.0\s+3\s+1\.27$/);
  });

  it("reports checksum's extra cost as the difference of the medians and its share of the Checksum run", () => {
    expect(extraCost([10, 11, 12], [14, 15, 30])).toEqual({ seconds: 4, share: 4 / 15 });
  });

  it('takes each phase median over the runs that recorded it', () => {
    expect(
      phaseMedians([
        [
          { phase: 'Execution', seconds: 8 },
          { phase: 'PostProcessing', seconds: 2 },
        ],
        [{ phase: 'Execution', seconds: 6 }, { phase: 'PostProcessing' }],
        [
          { phase: 'Execution', seconds: 7 },
          { phase: 'PostProcessing', seconds: 4 },
        ],
      ]),
    ).toEqual([
      ['Execution', 7],
      ['PostProcessing', 3],
    ]);
  });

  it('lays the ratios out by size, with a dash where a job did not run', () => {
    const small = [
      { label: 'ferry', seconds: [4], baseline: false },
      { label: 'pgcopydb', seconds: [5], baseline: true },
    ];
    const large = [
      { label: 'ferry', seconds: [20], baseline: false },
      { label: 'pgcopydb', seconds: [18], baseline: true },
      { label: 'raw', seconds: [30], baseline: true },
    ];
    const lines = ratioTable(['256 MB', '1 GB'], [small, large], 'ferry').split('\n');
    expect(lines[0]).toMatch(/^baseline\/ferry\s+256 MB\s+1 GB$/);
    expect(lines[1]).toMatch(/^pgcopydb\s+1\.25\s+0\.90$/);
    expect(lines[2]).toMatch(/^raw\s+-\s+1\.50$/);
  });

  it("states the MySQL goals on the medians: pgloader at least 3x ferry's seconds, ferry pg->pg at least 0.7x", () => {
    expect(mysqlGoals([10, 11, 12], [40, 30, 33], [8, 7, 9])).toEqual([
      'ferry from MariaDB is 3.00x as fast as pgloader (goal: at least 3x, met)',
      'ferry from MariaDB runs at 0.73x its speed from PostgreSQL on the same rows (goal: at least 0.7x, met)',
    ]);
    expect(mysqlGoals([10], [29], [6.9])).toEqual([
      'ferry from MariaDB is 2.90x as fast as pgloader (goal: at least 3x, missed)',
      'ferry from MariaDB runs at 0.69x its speed from PostgreSQL on the same rows (goal: at least 0.7x, missed)',
    ]);
    expect(mysqlGoals([10], undefined, [])).toEqual([]);
  });

  it("prints ferry's phase medians, the seconds outside them and its peak RSS in MiB", () => {
    const at = '2026-01-01T00:00:00Z';
    const run = (seconds: number, rss?: number): Measurement => ({
      seconds,
      phases: [
        { phase: 'Execution', startedAt: at, seconds: seconds - 2 },
        { phase: 'PostProcessing', startedAt: at, seconds: 1 },
      ],
      ...(rss === undefined ? {} : { peakRss: rss * 2 ** 20 }),
    });
    expect(peakRss([run(10, 100), run(12, 180), run(11, 120)])).toEqual({ median: 120, max: 180 });
    expect(peakRss([run(10)])).toBeUndefined();
    expect(ferryLines('ferry', [run(10, 100), run(12, 180), run(11, 120)])).toEqual([
      'ferry: phases (median s) Execution 9.0, PostProcessing 1.0; outside the phases (start, exit) 1.0',
      '  peak RSS (ferry run is one process, the transfer runs in it): median 120 MiB, max 180 MiB (goal: under 256 MiB)',
    ]);
    expect(ferryLines('ferry', [run(10)])[1]).toBe('  peak RSS: not measured (GNU time not found on PATH)');
  });
});

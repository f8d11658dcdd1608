import { describe, expect, it } from 'vitest';
import { stageReports } from './report.ts';

describe('stageReports', () => {
  it('sums each stage’s jobs and spans them from the first start to the last end', () => {
    const at = (s: number) => 1_000_000 + s * 1000;
    expect(
      stageReports([
        { what: 'copy', seconds: 4, endedAt: at(4) },
        { what: 'copy', seconds: 5, endedAt: at(6) },
        { what: 'pk:"t"."t_pkey"', seconds: 1, endedAt: at(5) },
        { what: 'index:"t_a"', seconds: 2, endedAt: at(8) },
        { what: 'validate:t#1/2', seconds: 0.5, endedAt: at(9) },
        { what: 'fk:"t"."t_u_fkey"', seconds: 0.25, endedAt: at(7) },
        { what: 'analyze:"t"', seconds: 0.5, endedAt: at(8.5) },
        { what: 'view:"v"', seconds: 0.1, endedAt: at(10) },
      ]),
    ).toEqual([
      { stage: 'copy', jobs: 2, seconds: 9, wallSeconds: 6 },
      { stage: 'build', jobs: 2, seconds: 3, wallSeconds: 4 },
      { stage: 'foreign keys', jobs: 1, seconds: 0.25, wallSeconds: 0.25 },
      { stage: 'analyze', jobs: 1, seconds: 0.5, wallSeconds: 0.5 },
      { stage: 'validate', jobs: 1, seconds: 0.5, wallSeconds: 0.5 },
      { stage: 'objects', jobs: 1, seconds: 0.1, wallSeconds: 0.1 },
    ]);
  });
});

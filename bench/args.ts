// `npm run bench` options: parsed and checked, one clear error for bad input. Pure.
import { parseArgs } from 'node:util';
import { parseQuantity } from '../engine/api/settings.ts';
import type { PostgresVersion } from '../hack/postgres/server.ts';
import { JOBS, type Job } from './jobs.ts';

export const SCENARIOS = ['standard', 'downtime', 'dump', 'mysql', 'all', 'operator'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface BenchOptions {
  scenario: Scenario;
  sizes: number[];
  runs: number;
  parallelism: number;
  targetVersion: PostgresVersion;
  jobs: readonly Job[];
  rate: number;
  migrations: number;
  groups: number;
}

/** Bad options; the message names the option and the value. */
export class BenchArgsError extends Error {}

function fail(message: string): never {
  throw new BenchArgsError(message);
}

function positive(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) fail(`--${name} must be a positive integer (got ${JSON.stringify(v)})`);
  return n;
}

function size(v: string): number {
  try {
    return parseQuantity(v.trim().replace(/B$/, ''));
  } catch {
    return fail(`--sizes: ${JSON.stringify(v)} is not a size (64MB, 1GB, 512Mi...)`);
  }
}

/** The options, or `'help'` for -h/--help. */
export function parseBenchArgs(args: string[]): BenchOptions | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        sizes: { type: 'string', default: '256MB,1GB' },
        runs: { type: 'string', default: '3' },
        parallelism: { type: 'string', default: '2' },
        'target-version': { type: 'string', default: '15' },
        jobs: { type: 'string', default: JOBS.map((j) => j.id).join(',') },
        scenario: { type: 'string' },
        // The spelling of the MySQL scenario: `--source mysql` is `--scenario mysql`.
        source: { type: 'string' },
        rate: { type: 'string', default: '500' },
        migrations: { type: 'string', default: '50' },
        groups: { type: 'string', default: '20' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    fail((e as Error).message);
  }
  const { values } = parsed;
  if (values.help) return 'help';
  if (values.source !== undefined && values.source !== 'mysql' && values.source !== 'postgres')
    fail(`--source must be mysql or postgres (got ${JSON.stringify(values.source)})`);
  if (values.source !== undefined && values.scenario !== undefined)
    fail('--source and --scenario: give one (--source mysql is --scenario mysql)');
  const scenario =
    values.scenario ?? (values.source === 'mysql' ? 'mysql' : values.source ? 'standard' : 'all');
  if (!(SCENARIOS as readonly string[]).includes(scenario))
    fail(
      `--scenario must be ${SCENARIOS.slice(0, -1).join(', ')} or operator (got ${JSON.stringify(scenario)})`,
    );
  const targetVersion = values['target-version'];
  if (targetVersion !== '15' && targetVersion !== '18')
    fail(`--target-version must be 15 or 18 (got ${JSON.stringify(targetVersion)})`);
  const [runs, parallelism, rate, migrations, groups] = (
    ['runs', 'parallelism', 'rate', 'migrations', 'groups'] as const
  ).map((k) => positive(k, values[k]!)) as [number, number, number, number, number];
  return {
    scenario: scenario as Scenario,
    sizes: values.sizes!.split(',').map(size),
    runs,
    parallelism,
    targetVersion: Number(targetVersion) as PostgresVersion,
    jobs: values
      .jobs!.split(',')
      .map(
        (id) =>
          JOBS.find((j) => j.id === id.trim()) ??
          fail(`--jobs: unknown job ${JSON.stringify(id)} (one of ${JOBS.map((j) => j.id).join(', ')})`),
      ),
    rate,
    migrations,
    groups,
  };
}

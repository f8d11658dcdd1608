import { describe, expect, it } from 'vitest';
import { BenchArgsError, parseBenchArgs } from './args.ts';

const parse = (...args: string[]) => parseBenchArgs(args);
const error = (...args: string[]) => {
  try {
    parse(...args);
  } catch (e) {
    expect(e).toBeInstanceOf(BenchArgsError);
    return (e as Error).message;
  }
  throw new Error(`accepted ${args.join(' ')}`);
};

describe('bench options', () => {
  it('defaults to every scenario but the operator at 256MB and 1GB, 3 runs, parallelism 2', () => {
    expect(parse()).toMatchObject({
      scenario: 'all',
      sizes: [256e6, 1e9],
      runs: 3,
      parallelism: 2,
      targetVersion: 15,
    });
  });

  it('reads --source mysql as the MySQL scenario and --source postgres as the standard one', () => {
    expect(parse('--source', 'mysql')).toMatchObject({ scenario: 'mysql' });
    expect(parse('--source', 'postgres')).toMatchObject({ scenario: 'standard' });
    expect(error('--source', 'oracle')).toBe('--source must be mysql or postgres (got "oracle")');
    expect(error('--source', 'mysql', '--scenario', 'dump')).toMatch(/give one/);
  });

  it('takes the MySQL scenario with its sizes, runs and parallelism', () => {
    expect(
      parse('--scenario', 'mysql', '--sizes', '64MB,1Gi', '--runs', '5', '--parallelism', '4'),
    ).toMatchObject({
      scenario: 'mysql',
      sizes: [64e6, 2 ** 30],
      runs: 5,
      parallelism: 4,
    });
    expect(parse('-h')).toBe('help');
  });

  it('refuses bad input with one error naming the option and the value', () => {
    expect(error('--scenario', 'mariadb')).toBe(
      '--scenario must be standard, downtime, dump, mysql, all or operator (got "mariadb")',
    );
    expect(error('--runs', '0')).toBe('--runs must be a positive integer (got "0")');
    expect(error('--sizes', '64MB,lots')).toMatch(/^--sizes: "lots" is not a size/);
    expect(error('--target-version', '16')).toBe('--target-version must be 15 or 18 (got "16")');
    expect(error('--jobs', 'ferry,pgloader')).toMatch(/^--jobs: unknown job "pgloader"/);
    expect(error('--parallel', '2')).toMatch(/Unknown option '--parallel'/);
  });
});

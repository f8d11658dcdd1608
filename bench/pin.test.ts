import { describe, expect, it } from 'vitest';
import { cpuList } from './pin.ts';

describe('cpuList', () => {
  it('reads a kernel CPU list of single CPUs and ranges', () => {
    expect(cpuList('0')).toEqual([0]);
    expect(cpuList('0-1')).toEqual([0, 1]);
    expect(cpuList('0-2,5,7-8')).toEqual([0, 1, 2, 5, 7, 8]);
  });
});

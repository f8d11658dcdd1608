import { describe, expect, it } from 'vitest';
import { describeDifferences, differingBuckets } from './compare.ts';

describe('naming the rows that differ', () => {
  it('finds buckets whose count or checksum differ, or that one side lacks', () => {
    const a = [
      { b: '000', n: '3', s: '17' },
      { b: '0a1', n: '1', s: '5' },
      { b: 'fff', n: '2', s: '9' },
    ];
    const b = [
      { b: '000', n: '3', s: '17' },
      { b: '0a1', n: '1', s: '6' },
      { b: '123', n: '1', s: '1' },
    ];
    expect(differingBuckets(a, b)).toEqual(['0a1', '123', 'fff']);
    expect(differingBuckets(a, a)).toEqual([]);
  });

  it('says for each differing key what each side holds, in key order, at most five', () => {
    const src = [
      { key: '{1}', h: 'a' },
      { key: '{2}', h: 'b' },
      { key: '{3}', h: 'c' },
      { key: '{5}', h: 'e' },
    ];
    const dst = [
      { key: '{1}', h: 'a' },
      { key: '{2}', h: 'B' },
      { key: '{4}', h: 'd' },
      { key: '{5}', h: 'e' },
      { key: '{5}', h: 'e' },
    ];
    expect(describeDifferences(src, dst)).toEqual([
      '{2}: source present, target present with other values',
      '{3}: source present, target absent',
      '{4}: source absent, target present',
      '{5}: source present, target 2 rows',
    ]);
    expect(describeDifferences(src, dst, 1)).toHaveLength(1);
    expect(describeDifferences(src, src)).toEqual([]);
  });
});

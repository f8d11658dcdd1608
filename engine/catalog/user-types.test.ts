import { describe, expect, it } from 'vitest';
import { orderByDependency } from './user-types.ts';

describe('orderByDependency', () => {
  it('puts every type after the types it uses, ties in name order', () => {
    const types = [
      { name: 'address', uses: ['zip_code', 'mood', 'text'] },
      { name: 'zip_code', uses: ['varchar'] },
      { name: 'mood', uses: [] },
      { name: 'a_domain_of_address', uses: ['address'] },
      { name: 'b_enum', uses: [] },
    ];
    expect(orderByDependency(types).map((t) => t.name)).toEqual([
      'b_enum',
      'mood',
      'zip_code',
      'address',
      'a_domain_of_address',
    ]);
  });

  it('ignores self references and fails on a cycle, naming the types', () => {
    expect(orderByDependency([{ name: 'a', uses: ['a'] }]).map((t) => t.name)).toEqual(['a']);
    expect(() =>
      orderByDependency([
        { name: 'a', uses: ['b'] },
        { name: 'b', uses: ['a'] },
      ]),
    ).toThrow('types depend on each other in a cycle: a, b');
  });
});

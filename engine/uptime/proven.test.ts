import { describe, expect, it } from 'vitest';
import type { ValidationUnit } from '../validate/compare.ts';
import { batchUnits } from './proven.ts';

const unit = (id: string, table: string): ValidationUnit => ({ id, table, range: null, chunks: [] });

describe('what a replay batch validates besides its keys', () => {
  const units = [
    unit('events#1/2', 'events'),
    unit('events#2/2', 'events'),
    unit('orders', 'orders'),
    unit('items', 'items'),
  ];

  it('every unit of a table it copied whole, proven or not, then the units never proven', () => {
    const { due, optional } = batchUnits(units, [units[1]!, units[3]!], new Set(['events']));
    expect(due.map((u) => u.id)).toEqual(['events#1/2', 'events#2/2']);
    expect(optional.map((u) => u.id)).toEqual(['items']);
  });

  it('nothing when every unit is proven and nothing was copied whole', () => {
    expect(batchUnits(units, [], new Set())).toEqual({ due: [], optional: [] });
  });
});

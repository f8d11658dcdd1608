import { describe, expect, it } from 'vitest';
import { netEffects, type LogEntry } from './effects.ts';

const keys = () => ['id'];
let seq = 0;
const ins = (id: number, v: string): LogEntry => ({
  seq: String(++seq),
  tbl: 't',
  op: 'I',
  old_key: null,
  new_row: { id, v },
});
const upd = (old: number, id: number, v: string): LogEntry => ({
  seq: String(++seq),
  tbl: 't',
  op: 'U',
  old_key: { id: old },
  new_row: { id, v },
});
const del = (id: number): LogEntry => ({
  seq: String(++seq),
  tbl: 't',
  op: 'D',
  old_key: { id },
  new_row: null,
});

describe('net effects of recorded changes', () => {
  it('keeps only the last image of each key', () => {
    expect(netEffects([ins(1, 'a'), upd(1, 1, 'b'), upd(1, 1, 'c')], keys).get('t')).toEqual({
      deletes: [],
      upserts: [{ id: 1, v: 'c' }],
    });
  });
  it('turns an insert followed by a delete into a delete (the row may exist from the bulk copy)', () => {
    expect(netEffects([ins(2, 'a'), del(2)], keys).get('t')).toEqual({ deletes: [{ id: 2 }], upserts: [] });
  });
  it('handles key changes: the old key goes, the new key gets the row', () => {
    expect(netEffects([upd(1, 5, 'moved')], keys).get('t')).toEqual({
      deletes: [{ id: 1 }],
      upserts: [{ id: 5, v: 'moved' }],
    });
  });
  it('lets a later row take over a key another row left', () => {
    const fx = netEffects([upd(1, 2, 'one'), upd(3, 1, 'three')], keys).get('t')!;
    expect(fx.upserts).toEqual(
      expect.arrayContaining([
        { id: 2, v: 'one' },
        { id: 1, v: 'three' },
      ]),
    );
    expect(fx.upserts).toHaveLength(2);
    expect(fx.deletes).toEqual([{ id: 3 }]);
  });
  it('re-inserting a deleted key upserts it', () => {
    expect(netEffects([del(7), ins(7, 'again')], keys).get('t')).toEqual({
      deletes: [],
      upserts: [{ id: 7, v: 'again' }],
    });
  });
  it('compares composite keys by all their columns', () => {
    const fx = netEffects(
      [
        { seq: '1', tbl: 'c', op: 'I', old_key: null, new_row: { a: 1, b: 1, v: 'x' } },
        { seq: '2', tbl: 'c', op: 'I', old_key: null, new_row: { a: 1, b: 2, v: 'y' } },
      ],
      () => ['a', 'b'],
    ).get('c')!;
    expect(fx.upserts).toHaveLength(2);
  });
});

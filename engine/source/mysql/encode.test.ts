import { describe, expect, it } from 'vitest';
import { encodeRows, ValueError, type EncodedColumn } from './encode.ts';
import { binaryField, type BinaryField } from './encode-binary.ts';
import type { Conversion } from '../../api/settings.ts';
import type { Encoding } from './types.ts';

const strict: Conversion = { zeroDates: 'Refuse', invalidCharacters: 'Refuse' };
const b = (s: string, enc: BufferEncoding = 'utf8') => Buffer.from(s, enc);

/** COPY text of one column of rows: values are raw bytes as MySQL sends them. */
function copy(encoding: Encoding, values: (Buffer | null)[], conversion = strict): string {
  const columns: EncodedColumn[] = [
    { name: 'id', encoding: { kind: 'number' } },
    { name: 'c', encoding },
  ];
  const rows = values.map((v, i) => [b(String(i + 1)), v]);
  return encodeRows(rows, { table: 'shop.t', columns, key: ['id'], conversion })
    .toString('utf8')
    .split('\n')
    .slice(0, -1)
    .map((line) => line.split('\t')[1]!)
    .join('|');
}

describe('COPY text encoder', () => {
  it('escapes backslash, tab, newline and CR, and writes NULL as \\N', () => {
    expect(copy({ kind: 'text', charset: 'utf8' }, [b('a\\b\tc\nd\re'), null, b('')])).toBe(
      'a\\\\b\\tc\\nd\\re|\\N|',
    );
  });

  it('encodes values of every length alike (short ones byte by byte, long ones searched natively)', () => {
    const escape = (v: string) =>
      v.replace(/[\\\t\n\r]/g, (c) => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' })[c]!);
    for (let n = 0; n <= 300; n += n < 140 ? 1 : 37) {
      const plain = 'é'.repeat(n >> 2) + 'x'.repeat(n - 2 * (n >> 2));
      const values = [
        plain,
        ...['\\', '\t', '\n', '\r'].flatMap((c) =>
          [0, n >> 1, n].map((at) => plain.slice(0, at) + c + plain.slice(at)),
        ),
      ];
      expect(
        copy(
          { kind: 'text', charset: 'utf8' },
          values.map((v) => b(v)),
        ),
        `length ${n}`,
      ).toBe(values.map(escape).join('|'));
      const bytes = Buffer.from(Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff));
      expect(copy({ kind: 'bytes', as: 'bytea' }, [bytes])).toBe(`\\\\x${bytes.toString('hex')}`);
      if (n)
        expect(() =>
          copy({ kind: 'text', charset: 'utf8' }, [b(plain.slice(0, n >> 1) + '\0' + plain.slice(n >> 1))]),
        ).toThrow(/NUL/);
    }
  });

  it("writes MySQL's spatial values (SRID, then WKB) as PostGIS EWKB in hex, coordinates untouched", () => {
    const point = '0101000000000000000000f83f00000000000002c0'; // POINT(1.5 -2.25), little-endian
    const srid = (n: number) => {
      const x = Buffer.alloc(4);
      x.writeUInt32LE(n);
      return x.toString('hex');
    };
    const g = { kind: 'geometry' } as const;
    // SRID 0: the WKB as it is; else the SRID flag in the type and the SRID after it, in the WKB's byte order.
    expect(copy(g, [Buffer.from(srid(0) + point, 'hex')])).toBe(point);
    expect(copy(g, [Buffer.from(srid(4326) + point, 'hex')])).toBe(
      '0101000020e6100000000000000000f83f00000000000002c0',
    );
    const bigEndian = '00000000013ff80000000000004002000000000000'; // the same point, big-endian
    expect(copy(g, [Buffer.from(srid(27700) + bigEndian, 'hex')])).toBe(
      '002000000100006c343ff80000000000004002000000000000',
    );
    // A collection: only the outer header carries the SRID.
    const collection = '010700000001000000' + point;
    expect(copy(g, [Buffer.from(srid(3857) + collection, 'hex')])).toBe('0107000020110f000001000000' + point);
    expect(() => copy(g, [Buffer.from('e6100000', 'hex')])).toThrow(
      /table shop.t, column c, key \(id\)=\(1\): 4 bytes that are not a spatial value/,
    );
    expect(() => copy(g, [Buffer.from(srid(0) + '07' + point.slice(2), 'hex')])).toThrow(
      /not a spatial value/,
    );
    // PostGIS would turn a larger SRID into another one, with only a NOTICE.
    expect(copy(g, [Buffer.from(srid(999999) + point, 'hex')])).toBe(
      '01010000203f420f00000000000000f83f00000000000002c0',
    );
    expect(() => copy(g, [Buffer.from(srid(1000000) + point, 'hex')])).toThrow(
      /key \(id\)=\(1\): its SRID 1000000 is above 999999, the largest PostGIS keeps/,
    );
  });

  it('reads values whose length takes three bytes in the row packet', () => {
    const long = 'ab\tc'.repeat(20_000);
    expect(copy({ kind: 'text', charset: 'utf8' }, [b(long), null, b('x')])).toBe(
      `${'ab\\tc'.repeat(20_000)}|\\N|x`,
    );
  });

  it('decodes latin1 as MySQL does (Windows cp1252, its unassigned bytes as C1 controls)', () => {
    const latin1 = Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x20, 0x80, 0x81, 0x9f, 0xff, 0x5c]);
    expect(copy({ kind: 'text', charset: 'latin1' }, [latin1])).toBe('café €\u0081Ÿÿ\\\\');
  });

  it('keeps 4-byte UTF-8 characters as they are', () => {
    expect(copy({ kind: 'text', charset: 'utf8' }, [b('😀 𠜎 𪚥')])).toBe('😀 𠜎 𪚥');
  });

  it('refuses bytes invalid in the charset and NUL, naming table, column and key; or replaces them', () => {
    const bad: [Encoding, Buffer, RegExp][] = [
      [{ kind: 'text', charset: 'ascii' }, Buffer.from([0x61, 0xe9]), /byte 0xe9, which is not ascii/],
      [{ kind: 'text', charset: 'utf8' }, Buffer.from([0x61, 0xc3, 0x28]), /not valid utf8/],
      [{ kind: 'text', charset: 'utf8' }, Buffer.from([0x61, 0x00, 0x62]), /NUL character/],
      [{ kind: 'text', charset: 'latin1' }, Buffer.from([0x00]), /NUL character/],
    ];
    for (const [enc, value, why] of bad) {
      expect(() => copy(enc, [b('ok'), value])).toThrow(ValueError);
      expect(() => copy(enc, [b('ok'), value])).toThrow(/^table shop\.t, column c, key \(id\)=\(2\): /);
      expect(() => copy(enc, [value])).toThrow(why);
    }
    const replace: Conversion = { ...strict, invalidCharacters: 'Replace' };
    expect(copy({ kind: 'text', charset: 'ascii' }, [Buffer.from([0x61, 0xe9])], replace)).toBe('a\uFFFD');
    expect(copy({ kind: 'text', charset: 'utf8' }, [Buffer.from([0x61, 0xc3, 0x28])], replace)).toBe(
      'a\uFFFD(',
    );
    expect(copy({ kind: 'text', charset: 'utf8' }, [Buffer.from([0x61, 0x00])], replace)).toBe('a\uFFFD');
  });

  it('applies the zero-date policy and marks timestamps UTC', () => {
    const dates = [
      b('2024-01-02 03:04:05.000006'),
      b('0000-00-00 00:00:00'),
      b('2024-00-10'),
      b('2024-05-00'),
    ];
    expect(() => copy({ kind: 'date', utc: false }, dates)).toThrow(
      'table shop.t, column c, key (id)=(2): the zero date 0000-00-00 00:00:00, which PostgreSQL cannot hold',
    );
    expect(copy({ kind: 'date', utc: false }, dates, { ...strict, zeroDates: 'Nullify' })).toBe(
      '2024-01-02 03:04:05.000006|\\N|\\N|\\N',
    );
    expect(copy({ kind: 'date', utc: true }, dates, { ...strict, zeroDates: 'Sentinel' })).toBe(
      '2024-01-02 03:04:05.000006+00|-infinity|-infinity|-infinity',
    );
    expect(copy({ kind: 'date', utc: false }, [b('0001-01-01'), b('0999-12-31')])).toBe(
      '0001-01-01|0999-12-31',
    );
  });

  it('converts numbers, booleans and bits exactly, and range-checks a narrower integer target', () => {
    expect(
      copy({ kind: 'number' }, [b('18446744073709551615'), b('-1.500000000000000000000000000000')]),
    ).toBe('18446744073709551615|-1.500000000000000000000000000000');
    expect(() =>
      copy({ kind: 'number', range: ['-9223372036854775808', '9223372036854775807'] }, [
        b('9223372036854775807'),
        b('9223372036854775808'),
      ]),
    ).toThrow(/key \(id\)=\(2\): the value 9223372036854775808 is outside the target type's range/);
    expect(copy({ kind: 'boolean' }, [b('0'), b('1')])).toBe('f|t');
    expect(() => copy({ kind: 'boolean' }, [b('2')])).toThrow(/the value 2 is not a boolean \(0 or 1\)/);
    const bits = [Buffer.from([0x02, 0xaa]), Buffer.from([0x00, 0x01])];
    expect(copy({ kind: 'bit', width: 10, as: 'bits' }, bits)).toBe('1010101010|0000000001');
    expect(copy({ kind: 'bit', width: 10, as: 'integer' }, bits)).toBe('682|1');
    expect(copy({ kind: 'bit', width: 1, as: 'boolean' }, [Buffer.from([1]), Buffer.from([0])])).toBe('t|f');
  });

  it('keeps MySQL times as intervals, or as times of day when they are', () => {
    expect(copy({ kind: 'time', as: 'interval' }, [b('-838:59:59.500000'), b('12:00:00')])).toBe(
      '-838:59:59.500000|12:00:00',
    );
    expect(copy({ kind: 'time', as: 'time' }, [b('23:59:59.999999')])).toBe('23:59:59.999999');
    for (const t of ['24:00:00', '-01:00:00', '100:00:00'])
      expect(() => copy({ kind: 'time', as: 'time' }, [b(t)]), t).toThrow(/is not a time of day/);
  });

  it('checks enum labels, builds set arrays, and writes bytes as bytea hex', () => {
    const members = ['new', 'it\'s "x"', 'a\\b'];
    expect(copy({ kind: 'text', charset: 'utf8', members }, [b('new'), b('a\\b')])).toBe('new|a\\\\b');
    expect(() => copy({ kind: 'text', charset: 'utf8', members }, [b('')])).toThrow(
      /the value '', which is not one of the enum's labels/,
    );
    expect(copy({ kind: 'set', charset: 'utf8' }, [b('a,b"c'), b(''), b('x\\y')])).toBe(
      '{"a","b\\\\"c"}|{}|{"x\\\\\\\\y"}',
    );
    expect(copy({ kind: 'bytes', as: 'bytea' }, [Buffer.from([0, 0xff, 0x5c]), Buffer.alloc(0)])).toBe(
      '\\\\x00ff5c|\\\\x',
    );
    expect(copy({ kind: 'bytes', as: 'hex' }, [Buffer.from('0123456789abcdef')])).toBe(
      '30313233343536373839616263646566',
    );
  });

  it('names a refused row by its position when the key is not among the columns', () => {
    const opts = {
      table: 't',
      columns: [{ name: 'c', encoding: { kind: 'boolean' } as Encoding }],
      key: [],
      conversion: strict,
    };
    expect(() => encodeRows([[b('1')], [b('5')]], opts)).toThrow(
      'table t, column c, row 2 of the chunk: the value 5',
    );
  });
});

describe('binary COPY form of a column', () => {
  it('exists only where the target type reads exactly what the encoder writes', () => {
    const text: Encoding = { kind: 'text', charset: 'utf8' };
    const cases: [string, Encoding, BinaryField | null][] = [
      ['smallint', { kind: 'number' }, 'int2'],
      ['integer', { kind: 'number', range: ['-2147483648', '2147483647'] }, 'int4'],
      ['bigint', { kind: 'number' }, 'int8'],
      ['numeric(20,0)', { kind: 'number' }, 'numeric'],
      ['double precision', { kind: 'number' }, null],
      ['real', { kind: 'float' }, null],
      ['text', { kind: 'number' }, null],
      ['boolean', { kind: 'boolean' }, 'bool'],
      ['boolean', { kind: 'bit', width: 1, as: 'boolean' }, null],
      ['date', { kind: 'date', utc: false }, 'date'],
      ['timestamp(6) with time zone', { kind: 'date', utc: true }, 'timestamp'],
      ['timestamp(0) without time zone', { kind: 'date', utc: false }, 'timestamp'],
      ['text', { kind: 'date', utc: false }, null],
      ['interval', { kind: 'time', as: 'interval' }, null],
      ['character varying(40)', text, 'text'],
      ['json', text, 'text'],
      ['jsonb', text, null],
      ['uuid', { kind: 'text', charset: 'ascii' }, null],
      ['"t_e"', { kind: 'text', charset: 'utf8', members: ['a'] }, 'text'],
      ['text[]', { kind: 'set', charset: 'utf8' }, null],
      ['bytea', { kind: 'bytes', as: 'bytea' }, 'bytes'],
      ['uuid', { kind: 'bytes', as: 'hex' }, 'uuid'],
    ];
    for (const [type, e, field] of cases) expect(binaryField(type, e), `${type} ${e.kind}`).toBe(field);
  });
});

import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { table as plainTable } from '../../../test/support/catalog.ts';
import { pausableRows } from '../../../test/support/mssql-session.ts';
import { mssqlColumn, names, shape, tokenize } from '../../../test/support/mssql-sql.ts';
import type { Conversion } from '../../api/settings.ts';
import type { Table } from '../../catalog/types.ts';
import type { MssqlColumn } from './column.ts';
import type { RowSink } from './connect.ts';
import { rowEncoder } from './encode.ts';
import { LARGE_VALUE_BYTES, SLICE_UNITS, sliceExpression, slicing } from './large-values.ts';
import { chunkSql, largeColumns, readRows } from './read.ts';

const HOSTILE = 'x]; DROP TABLE victim; --';
const strict: Conversion = { zeroDates: 'Refuse', invalidCharacters: 'Refuse' };
const lenient: Conversion = { zeroDates: 'Refuse', invalidCharacters: 'Replace' };

const max = (
  name: string,
  type: string,
  encoding: 'text' | 'bytea' | 'xml',
  codePage: number | null = null,
) => mssqlColumn(name, { name: type, maxLength: -1, codePage }, encoding, false);
const id = mssqlColumn('id', { name: 'bigint', maxLength: 8 }, 'bigint');
const nv = max('v', 'nvarchar', 'text');
const bin = max('b', 'varbinary', 'bytea');
const latin = max('a', 'varchar', 'text', 1252);
const utf8 = max('u', 'varchar', 'text', 65001);
const xml = max('x', 'xml', 'xml');
const small = mssqlColumn('s', { name: 'nvarchar', maxLength: 100 }, 'text', false);
const columns = [id, nv, bin, latin, utf8, xml, small];
const t: Table = { ...plainTable('t'), columns, key: ['id'] };

/** DATALENGTH as the fake server counts it: bytes of a varbinary, two per UTF-16 unit of text. */
const datalength = (v: unknown) =>
  v == null ? null : Buffer.isBuffer(v) ? v.length : 2 * (v as string).length;

/**
 * A session answering readRows' statements from `rows` (values as tedious hands over what
 * selectExpression selects; the key first, as text): the chunk's SELECT with every large value NULL
 * beside its DATALENGTH, a row by its key, a SUBSTRING slice by its key (in UTF-16 code units, or code
 * points under a supplementary-character collation). It counts the units it hands out, and stops
 * while a request is paused, as tedious does.
 */
function fakeServer(
  cols: readonly MssqlColumn[],
  rows: unknown[][],
  bytes: number,
  o: { codePoints?: boolean; gone?: string } = {},
) {
  const large = cols.flatMap((c, i) => (slicing(c.mssql) ? [i] : []));
  const seen = { statements: [] as string[], handedOut: 0, paused: 0 };
  const sub = (v: unknown, offset: number, n: number) => {
    const at = offset - 1;
    if (Buffer.isBuffer(v)) return v.subarray(at, at + n);
    const s = v as string;
    return o.codePoints
      ? Array.from(s)
          .slice(at, at + n)
          .join('')
      : s.slice(at, at + n);
  };
  const session = {
    stream: (sql: string, _params: readonly unknown[], sink: RowSink) => {
      seen.statements.push(sql);
      const key = /WHERE \(\[id\] = (\d+)\)$/.exec(sql)?.[1];
      const found = key === undefined ? rows : rows.filter((r) => r[0] === key && r[0] !== o.gone);
      const slice = /SUBSTRING\((?:CONVERT\(nvarchar\(max\), )?\[(\w+)\]\)?, (\d+), (\d+)\)/.exec(sql);
      const out = found.map((r) => {
        if (slice) {
          const piece = sub(
            r[cols.findIndex((c) => c.name === slice[1])],
            Number(slice[2]),
            Number(slice[3]),
          );
          seen.handedOut += piece.length;
          return [piece];
        }
        const lengths = large.map((i) => datalength(r[i]));
        return [
          ...r.map((v, i) => (large.includes(i) && datalength(v)! > bytes ? null : v)),
          ...lengths.map((n) => (n === null ? null : String(n))),
        ];
      });
      return pausableRows(
        sink,
        () => out.shift(),
        () => seen.paused++,
      );
    },
  };
  return { session, seen };
}

const read = (
  session: ReturnType<typeof fakeServer>['session'],
  conversion: Conversion,
  bytes: number,
  slice: number,
) =>
  readRows(
    session,
    chunkSql(
      'dbo',
      t,
      columns.map((c) => c.name),
      null,
      bytes,
    ),
    t,
    'dbo',
    columns.map((c) => c.name),
    {
      name: 'dbo.t',
      conversion,
      large: { bytes, slice },
    },
  );

const lines = (s: string) => s.split('\n').slice(0, -1).sort();

const pair = '\u{1F600}';
const tricky = [
  'a\\b\tc\nd\re\u000bf\bg\fh\\\\',
  pair.repeat(7) + 'x',
  `x${pair}y${pair}${pair}z\\`,
  `${pair}\t${pair}\\N`,
  'é€ and \u00a0 and \u3042 and ' + pair,
];

describe('large (max) values read apart', () => {
  it('selects (max) varchar, nvarchar and varbinary of a keyed table as NULL-when-large beside DATALENGTH, after the copied columns', () => {
    const sql = chunkSql(
      'sa]les',
      t,
      columns.map((c) => c.name),
      null,
      4096,
    );
    const tokens = tokenize(sql);
    const list = shape(tokens);
    for (const c of ['v', 'b', 'a', 'u'])
      expect(sql).toContain(`CASE WHEN DATALENGTH([${c}]) > 4096 THEN NULL ELSE`);
    // xml and a short nvarchar stay whole; the lengths come last, in column order.
    expect(sql).not.toMatch(/DATALENGTH\(\[(x|s|id)\]\)/);
    expect(sql).toMatch(
      /, DATALENGTH\(\[v\]\), DATALENGTH\(\[b\]\), DATALENGTH\(\[a\]\), DATALENGTH\(\[u\]\) FROM \[sa\]\]les\]\.\[t\]$/,
    );
    expect(list).toMatch(/^SELECT /);
    // Validation's reads (no threshold), a table without a key, and one whose key is not read: whole.
    expect(chunkSql('dbo', t, ['id', 'v'], null)).not.toContain('DATALENGTH');
    expect(chunkSql('dbo', { ...t, key: [] }, ['id', 'v'], null, 4096)).not.toContain('DATALENGTH');
    expect(chunkSql('dbo', t, ['v'], null, 4096)).not.toContain('DATALENGTH');
    const hostile = max(HOSTILE, 'nvarchar', 'text');
    const h = chunkSql(HOSTILE, { ...t, columns: [id, hostile] }, ['id', HOSTILE], null, 1);
    expect(names(tokenize(h))).toEqual(expect.arrayContaining([HOSTILE]));
    expect(tokenize(h).filter((x) => x.kind !== 'ident' && /DROP|victim/.test(x.text))).toEqual([]);
    expect(largeColumns(t, columns)).toEqual([1, 2, 3, 4]);
  });

  it('slices single-byte varchar before converting, double-byte and UTF-8 varchar after, nvarchar and varbinary as they are', () => {
    expect(sliceExpression('a', slicing(latin.mssql)!, 5, 3)).toBe(
      'CONVERT(nvarchar(max), SUBSTRING([a], 5, 3))',
    );
    expect(sliceExpression('u', slicing(utf8.mssql)!, 5, 3)).toBe(
      'SUBSTRING(CONVERT(nvarchar(max), [u]), 5, 3)',
    );
    const shiftJis = max('j', 'varchar', 'text', 932);
    expect(slicing(shiftJis.mssql)).toBe('converted');
    expect(sliceExpression('v', slicing(nv.mssql)!, 1, 9)).toBe('SUBSTRING([v], 1, 9)');
    expect(sliceExpression('b', slicing(bin.mssql)!, 1, 9)).toBe('SUBSTRING([b], 1, 9)');
    // Read whole: xml, the deprecated text types, (max) text converted to xml.
    for (const c of [xml, max('n', 'ntext', 'text'), max('i', 'image', 'bytea'), max('v', 'nvarchar', 'xml')])
      expect(slicing(c.mssql), c.name).toBeUndefined();
  });

  it('writes the very COPY text rowEncoder writes for the whole values, across many slices', async () => {
    const rows: unknown[][] = tricky.map((s, i) => [
      String(i + 1),
      s,
      Buffer.from(Array.from({ length: 40 + i }, (_, j) => (j * 37 + i) % 256)),
      `café \\ ${i}\tbar`,
      s,
      `<a>${s}</a>`,
      `small ${i}`,
    ]);
    // Values under the threshold, NULLs and empty ones arrive as they are, beside large ones.
    rows.push(['90', 'ab', Buffer.from([1]), null, '', null, null], ['91', null, null, 'x', 'y', null, 'z']);
    const whole = rowEncoder(columns, 'dbo.t', strict, ['id']);
    const expected = lines(rows.map((r) => whole(r)).join(''));
    for (const codePoints of [false, true])
      for (const slice of [1, 2, 3, 7, 1000]) {
        const { session, seen } = fakeServer(columns, rows, 4, { codePoints });
        expect(lines(await text(read(session, strict, 4, slice))), `slice ${slice}`).toEqual(expected);
        // Each large row read again by its key, its values in slices.
        expect(
          seen.statements.filter((s) => /^SELECT \[id\], CASE .*WHERE \(\[id\] = 1\)$/.test(s)),
        ).toHaveLength(1);
        if (slice === 1 && !codePoints)
          expect(seen.statements.filter((s) => s.includes('SUBSTRING([v], ')).length).toBeGreaterThan(
            tricky.join('').length,
          );
      }
  });

  it('refuses or replaces a NUL and an unpaired surrogate as the whole value is, wherever the slices cut it', async () => {
    const bad = [
      'abc\0def',
      `ab${pair}\uD800`,
      '\uDC00abc',
      `a\uD800\uD800\uDC00b`,
      `x${pair}\uD83Dy${pair}`,
      `\uD800`.repeat(5),
    ];
    for (const value of bad) {
      const row = ['7', value, null, null, null, null, null];
      for (const slice of [1, 2, 3]) {
        const { session } = fakeServer(columns, [row], 4);
        const replaced = await text(read(session, lenient, 4, slice));
        expect(replaced, JSON.stringify(value)).toBe(rowEncoder(columns, 'dbo.t', lenient, ['id'])(row));
        expect(replaced).toContain('\uFFFD');
        let wholeError = '';
        try {
          rowEncoder(columns, 'dbo.t', strict, ['id'])(row);
        } catch (e) {
          wholeError = (e as Error).message;
        }
        expect(wholeError).toMatch(/^table dbo\.t, column v, key \(id\)=\(7\): /);
        const { session: again } = fakeServer(columns, [row], 4);
        await expect(text(read(again, strict, 4, slice))).rejects.toThrow(wholeError);
      }
    }
  });

  it('fails naming the table and the key when a deferred row is not found again', async () => {
    const rows = [
      ['1', 'long enough', null, null, null, null, null],
      ['2', 'also long', null, null, null, null, null],
    ];
    const { session } = fakeServer(columns, rows, 4, { gone: '2' });
    await expect(text(read(session, strict, 4, 3))).rejects.toThrow(
      /table dbo\.t: the row with key \(id\)=\(2\) was found 0 times/,
    );
  });

  it('streams a 50 MB value with a few hundred KB buffered, never a piece much over a slice', async () => {
    const unit = 'lorem ipsum \\ dolor\tsit amet,\nconsectetur ';
    const big = unit.repeat(Math.ceil((50 * 2 ** 20) / unit.length));
    const cols = [id, nv];
    const tb: Table = { ...plainTable('t'), columns: cols, key: ['id'] };
    const rows = [
      ['1', 'small'],
      ['2', big],
      ['3', 'small too'],
    ];
    const { session, seen } = fakeServer(cols, rows, LARGE_VALUE_BYTES);
    const stream = readRows(
      session,
      chunkSql('dbo', tb, ['id', 'v'], null, LARGE_VALUE_BYTES),
      tb,
      'dbo',
      ['id', 'v'],
      {
        name: 't',
        conversion: strict,
      },
    );
    // What the stream has pushed and the consumer not yet taken, at every push: its own buffer and
    // the consumer's, never the value.
    let pushed = 0;
    let consumed = 0;
    let outstanding = 0;
    let buffered = 0;
    let piece = 0;
    const push = stream.push.bind(stream);
    stream.push = (chunk: Buffer | null) => {
      pushed += chunk?.length ?? 0;
      piece = Math.max(piece, chunk?.length ?? 0);
      const ok = push(chunk);
      outstanding = Math.max(outstanding, pushed - consumed);
      buffered = Math.max(buffered, stream.readableLength);
      return ok;
    };
    const digest = createHash('md5');
    await pipeline(
      stream,
      new Writable({
        highWaterMark: 64 * 1024,
        write(chunk: Buffer, _enc, done) {
          digest.update(chunk);
          consumed += chunk.length;
          // Slower than the server: a 10 ms timer per piece against its immediate answers.
          setTimeout(done, 10);
        },
      }),
    );
    const expected = createHash('md5');
    // A row with a large value comes after the chunk's other rows.
    for (const r of [rows[0]!, rows[2]!, rows[1]!]) expected.update(rowEncoder(cols, 't', strict, ['id'])(r));
    expect(digest.digest('hex')).toBe(expected.digest('hex'));
    expect(seen.handedOut).toBe(big.length);
    // A slice of this text escapes to at most twice its length.
    expect(piece).toBeLessThanOrEqual(2 * SLICE_UNITS);
    // The stream's buffer (256 KiB) and a piece; with the consumer's, under 1 MiB.
    expect(buffered).toBeLessThan(2 ** 20);
    expect(outstanding).toBeLessThan(2 ** 20);
  });
});

// The snapshot reader on a real MariaDB under live writes, and chunking along a key: every reader
// sees the same instant, and the chunks of a table hold every row exactly once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connection, RowDataPacket } from 'mysql2';
import { createConnection } from 'mysql2/promise';
import { startMariadb, type MariadbServer } from '../../../hack/mariadb/server.ts';
import { chunksFrom, integerBoundaries, splitBy } from '../../plan/chunks.ts';
import { extractCatalog } from './catalog.ts';
import { keyBoundaries, openReader, openSnapshot, query, readChunk } from './read.ts';
import type { Catalog } from '../../catalog/types.ts';

let my: MariadbServer;
const conversion = { zeroDates: 'Refuse', invalidCharacters: 'Refuse' } as const;

beforeAll(async () => {
  my = await startMariadb({ binlog: true });
  const c = await createConnection({ ...my.connection(), multipleStatements: true });
  try {
    await c.query(`
      CREATE DATABASE bank; USE bank;
      CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL);
      CREATE TABLE moves (id int AUTO_INCREMENT PRIMARY KEY, amount bigint NOT NULL);
      INSERT INTO accounts SELECT seq, 1000 FROM seq_1_to_100;
      CREATE TABLE big (id bigint unsigned PRIMARY KEY, name varchar(20) CHARACTER SET latin1 NOT NULL, UNIQUE KEY (name));
      INSERT INTO big SELECT seq * 3, CONCAT('né-', LPAD(seq, 6, '0')) FROM seq_1_to_10000;
      CREATE USER reader@'127.0.0.1' IDENTIFIED BY 'pw';
      GRANT SELECT, LOCK TABLES ON bank.* TO reader@'127.0.0.1';`);
  } finally {
    await c.end();
  }
}, 60_000);
afterAll(async () => my?.stop());

/** Transfers between accounts, each logged in `moves`, in transactions, until stopped. */
function writer(): { stop: () => Promise<number> } {
  let running = true;
  let done = 0;
  const loop = (async () => {
    const c = await createConnection(my.connection('bank'));
    try {
      while (running) {
        const from = 1 + (done % 100);
        const to = 1 + ((done * 7) % 100);
        await c.beginTransaction();
        await c.query('UPDATE accounts SET balance = balance - 5 WHERE id = ?', [from]);
        await c.query('UPDATE accounts SET balance = balance + 5 WHERE id = ?', [to]);
        await c.query('INSERT INTO moves (amount) VALUES (5)');
        await c.commit();
        done++;
      }
    } finally {
      await c.end();
    }
  })();
  return { stop: async () => ((running = false), await loop, done) };
}

async function mysqlRunIn(sql: string): Promise<void> {
  const c = await createConnection({ ...my.connection('bank'), multipleStatements: true });
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

const one = async (c: Connection, sql: string) =>
  Object.values((await query<RowDataPacket[]>(c, sql))[0]!).map((v) =>
    Buffer.isBuffer(v) ? v.toString() : String(v),
  );

describe('MySQL snapshot reader', () => {
  it('gives every reader the same instant while a writer commits, and records the binlog position', async () => {
    const w = writer();
    await new Promise((r) => setTimeout(r, 300));
    const snap = await openSnapshot(my.connection(), 'bank', ['accounts', 'moves'], 3);
    try {
      expect(snap.lock).toBe('global');
      expect(snap.position).toMatchObject({
        file: expect.stringMatching(/^binlog\.\d+$/),
        position: expect.stringMatching(/^\d+$/),
      });
      // Reading what the snapshot saw at different times, from different sessions, while writes go on.
      const seen: string[][] = [];
      for (const r of snap.readers) {
        seen.push(
          await one(r, 'SELECT (SELECT SUM(balance) FROM bank.accounts), (SELECT COUNT(*) FROM bank.moves)'),
        );
        await new Promise((res) => setTimeout(res, 150));
      }
      expect(seen[0]![0]).toBe('100000'); // transfers keep the total
      expect(seen[1]).toEqual(seen[0]);
      expect(seen[2]).toEqual(seen[0]);
      // The snapshot is exactly what was committed before the lock: no transfer half seen.
      const moves = Number(seen[0]![1]);
      expect(moves).toBeGreaterThan(0);
      const after = await w.stop();
      expect(after).toBeGreaterThan(moves);
      expect(await one(snap.readers[0]!, 'SELECT COUNT(*) FROM bank.moves')).toEqual([String(moves)]);
    } finally {
      await snap.close();
      await w.stop();
    }
  });

  it('locks the migrated tables by name when the user may not take the global lock', async () => {
    const w = writer();
    await new Promise((r) => setTimeout(r, 200));
    const options = { ...my.connection(), user: 'reader', password: 'pw' };
    const snap = await openSnapshot(options, 'bank', ['accounts', 'moves'], 2);
    try {
      expect(snap.lock).toBe('tables');
      expect(snap.position).toBeNull(); // no REPLICATION CLIENT / BINLOG MONITOR
      const a = await one(
        snap.readers[0]!,
        'SELECT (SELECT SUM(balance) FROM bank.accounts), (SELECT COUNT(*) FROM bank.moves)',
      );
      await new Promise((r) => setTimeout(r, 200));
      const b = await one(
        snap.readers[1]!,
        'SELECT (SELECT SUM(balance) FROM bank.accounts), (SELECT COUNT(*) FROM bank.moves)',
      );
      expect(a).toEqual(b);
      expect(a[0]).toBe('100000');
    } finally {
      await snap.close();
      await w.stop();
    }
  });
});

describe('MySQL chunks', () => {
  let catalog: Catalog;
  beforeAll(async () => {
    const c = await createConnection(my.connection('bank'));
    try {
      catalog = (await extractCatalog(c, 'bank', { typeMap: [], conversion })).catalog;
    } finally {
      await c.end();
    }
  });

  /** Every line of every chunk of `table` cut along `column` into about n chunks. */
  async function chunkLines(
    table: string,
    column: string,
    n: number,
  ): Promise<{ bounds: string[]; lines: string[][] }> {
    const t = catalog.tables.find((x) => x.name === table)!;
    const r = await openReader(my.connection());
    try {
      const bounds = await keyBoundaries(r, 'bank', t, column, n);
      const chunks = chunksFrom(t, { ...splitBy(t, true), column, kind: 'key' } as never, bounds);
      const lines: string[][] = [];
      for (const ch of chunks) {
        let text = '';
        for await (const piece of readChunk(r, 'bank', t, ['id', 'name'], ch.range, {
          conversion,
          format: 'text',
        }))
          text += piece.toString();
        lines.push(text.split('\n').filter(Boolean));
      }
      return { bounds, lines };
    } finally {
      r.end();
    }
  }

  it('cuts an integer key evenly between its bounds, each row in exactly one chunk', async () => {
    const { bounds, lines } = await chunkLines('big', 'id', 4);
    expect(bounds).toEqual(integerBoundaries(3n, 30000n, 4));
    for (const l of lines) expect(Math.abs(l.length - 2500)).toBeLessThanOrEqual(1);
    const all = lines.flat();
    expect(new Set(all).size).toBe(10_000);
    expect(all).toContain('30000\tné-010000');
  });

  it('cuts a text key along its index, in the column charset and collation', async () => {
    const { bounds, lines } = await chunkLines('big', 'name', 5);
    // Every step-th name of the index (the step from InnoDB's row estimate): about equal chunks.
    expect(bounds).toHaveLength(4);
    expect(bounds.every((b) => /^né-\d{6}$/.test(b))).toBe(true);
    expect([...bounds].sort()).toEqual(bounds);
    for (const l of lines) expect(Math.abs(l.length - 2000)).toBeLessThan(300);
    expect(new Set(lines.flat()).size).toBe(10_000);
  });

  it('stops reading the server while the consumer does not take the rows (bounded memory)', async () => {
    await mysqlRunIn(`CREATE TABLE bank.wide (id int PRIMARY KEY, pad varchar(200) NOT NULL);
      INSERT INTO bank.wide SELECT seq, REPEAT('p', 200) FROM seq_1_to_200000;`);
    const c = await createConnection(my.connection('bank'));
    const t = (await extractCatalog(c, 'bank', { typeMap: [], conversion, select: (n) => n === 'wide' }))
      .catalog.tables[0]!;
    await c.end();
    const r = await openReader(my.connection());
    try {
      const before = process.memoryUsage().arrayBuffers;
      const rows = readChunk(r, 'bank', t, ['id', 'pad'], null, { conversion, format: 'text' });
      // Nobody reads for a while: about 41 MB of COPY text would pile up without backpressure.
      rows.pause();
      rows.once('readable', () => {});
      await new Promise((res) => setTimeout(res, 1500));
      const held = process.memoryUsage().arrayBuffers - before;
      expect(rows.readableLength).toBeLessThan(1024 * 1024);
      expect(held).toBeLessThan(16 * 1024 * 1024);
      let bytes = 0;
      for await (const piece of rows) bytes += (piece as Buffer).length;
      expect(bytes).toBe(
        200_000 * 200 + [...Array(200_000).keys()].reduce((n, i) => n + String(i + 1).length + 2, 0),
      );
    } finally {
      r.end();
    }
  });
});

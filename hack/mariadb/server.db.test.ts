import { afterAll, describe, expect, it } from 'vitest';
import { createConnection, type RowDataPacket } from 'mysql2/promise';
import { existsSync } from 'node:fs';
import { startMariadb, type MariadbServer } from './server.ts';

describe('throwaway MariaDB servers', () => {
  const started: MariadbServer[] = [];
  afterAll(async () => {
    for (const s of started) await s.stop();
  });

  it('starts on loopback with a root password, restarts on the same data and port, stops by pid', async () => {
    const server = await startMariadb();
    started.push(server);
    expect(server.version).toMatch(/MariaDB/);
    const c = await createConnection(server.connection());
    const [vars] = await c.query<RowDataPacket[]>(
      'SELECT @@bind_address AS bind, @@port AS port, @@socket AS sock, @@datadir AS dir, @@skip_networking AS skip',
    );
    expect(vars[0]).toMatchObject({ bind: '127.0.0.1', port: server.port, skip: 0 });
    expect(vars[0]!['sock']).not.toBe('/run/mysqld/mysqld.sock');
    await c.query('CREATE DATABASE kept');
    await c.query('CREATE TABLE kept.t AS SELECT 7 AS n');
    await expect(createConnection({ ...server.connection(), password: 'wrong' })).rejects.toThrow(
      /Access denied/,
    );
    await expect(createConnection({ ...server.connection(), password: '' })).rejects.toThrow(/Access denied/);

    const pid = server.pid;
    await server.restart(200);
    expect(server.pid).not.toBe(pid);
    expect(() => process.kill(pid, 0)).toThrow();
    await expect(c.query('SELECT 1')).rejects.toThrow();
    c.destroy();
    const again = await createConnection(server.connection('kept'));
    const [rows] = await again.query<RowDataPacket[]>('SELECT n FROM t');
    expect(rows).toEqual([{ n: 7 }]);
    await again.end();

    await server.stop();
    expect(existsSync(server.dataDir)).toBe(false);
    expect(() => process.kill(server.pid, 0)).toThrow();
  });

  it('runs two servers side by side, one with a binary log', async () => {
    const [a, b] = await Promise.all([startMariadb(), startMariadb({ binlog: true })]);
    started.push(a, b);
    expect(a.port).not.toBe(b.port);
    const logBin = async (s: MariadbServer) => {
      const c = await createConnection(s.connection());
      try {
        const [rows] = await c.query<RowDataPacket[]>('SELECT @@log_bin AS on_');
        return rows[0]!['on_'];
      } finally {
        await c.end();
      }
    };
    expect([await logBin(a), await logBin(b)]).toEqual([0, 1]);
  });
});

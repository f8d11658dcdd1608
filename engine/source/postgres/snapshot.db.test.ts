// A shared snapshot outlives nothing: when the session exporting it is gone (its server restarted,
// the connection dropped), a reader joining it is refused as SnapshotLost, which the operator's
// next pass takes for a transient failure and answers with a new snapshot, not a failed migration.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifestFor, startLocalPair, type LocalPair } from '../../../hack/local-pair.ts';
import { parseManifest } from '../../api/manifest.ts';
import { resolveSettings } from '../../api/settings.ts';
import { silentLogger } from '../../log.ts';
import { identityOf } from '../../phases/preprocessing.ts';
import { SnapshotLost, withSource } from '../dialect.ts';
import { dialectOf } from '../dialects.ts';

let pair: LocalPair;

beforeAll(async () => {
  pair = await startLocalPair();
  const c = new pg.Client({ connectionString: pair.source.url('shop') });
  await c.connect();
  await c.query(
    'CREATE SCHEMA shop; CREATE TABLE shop.t (id int PRIMARY KEY); INSERT INTO shop.t SELECT generate_series(1, 10)',
  );
  await c.end();
});
afterAll(async () => pair?.stop());

describe('a shared snapshot whose exporter is gone', () => {
  it('refuses a reader joining it as SnapshotLost, naming what happened', async () => {
    const settings = resolveSettings(parseManifest(manifestFor(pair, 'snap'), 'test'));
    const source = dialectOf(settings, 'ferry_snap', silentLogger, pair.source.password);
    const catalog = await source.extract();
    const t = catalog.tables.find((x) => x.name === 't')!;
    // A DowntimeOptimized store: the snapshot counts the TRUNCATEs its change log holds.
    await withSource(source, 'test', (s) =>
      s.createStore(identityOf(settings, randomUUID()), { phase: 'PreProcessing' }, catalog, ['t']),
    );
    const snapshot = await source.shareSnapshot(2, catalog);
    const read = async () => {
      const s = await snapshot.open('test');
      try {
        return await s.measure(t, 'shop', null, 'Count');
      } finally {
        await s.close();
      }
    };
    expect((await read()).rows).toBe('10');
    // Every other session of the source ends, the snapshot's exporter among them.
    const admin = new pg.Client({ connectionString: pair.source.url('shop') });
    await admin.connect();
    await admin.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND datname = 'shop'",
    );
    await admin.end();
    const err = await read().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SnapshotLost);
    expect(String(err)).toMatch(/consistent snapshot is gone \(invalid snapshot identifier/);
    await snapshot.end(false).catch(() => {});
  });
});

// Spatial columns from a real MariaDB into PostGIS (PostgreSQL 15 from Debian, with its
// postgresql-15-postgis-3 package), the target written by a role that is not a superuser. While
// the target lacks PostGIS, Checks refuses the run naming the extension, the columns and the DBA's
// statement, and nothing changes on either side. Once a DBA has created it, every spatial type
// arrives byte for byte (SRIDs, empty collections, extreme and subnormal doubles, negative zero,
// NULL), the R-tree index becomes a GiST index, the Checksum validation agrees, and a coordinate
// changed by one unit in the last place on the target is caught.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { ferry, startWatched } from '../../../test/support/cli.ts';
import {
  bothSides,
  resetTarget,
  sourceState,
  startMysqlMigration,
  targetSchemas,
  type MysqlMigration,
} from '../../../test/support/mysql-roles.ts';

let m: MysqlMigration;
const TARGET_USER = 'gis_migrator';
const targetPassword = randomBytes(12).toString('hex');

const SPATIAL = ['pos', 'shape', 'route', 'area', 'spots', 'routes', 'areas', 'things'];

/** The application's table, written by the application's own user. */
const PLACES = `
CREATE TABLE places (
  id int NOT NULL PRIMARY KEY,
  name varchar(40) NOT NULL,
  pos point NOT NULL,
  shape geometry,
  route linestring,
  area polygon,
  spots multipoint,
  routes multilinestring,
  areas multipolygon,
  things geometrycollection,
  SPATIAL KEY by_pos (pos)
) ENGINE=InnoDB;
INSERT INTO places VALUES
  (1, 'srid 4326', ST_GeomFromText('POINT(13.4050 52.52)', 4326), ST_GeomFromText('POLYGON((0 0,10 0,10 10,0 10,0 0),(2 2,3 2,3 3,2 2))', 3857),
   ST_GeomFromText('LINESTRING(0 0,1.5 -2.25,1e308 -1e308)', 4326), ST_GeomFromText('POLYGON((0 0,1 0,1 1,0 0))'),
   ST_GeomFromText('MULTIPOINT(1 1,2 2)', 27700), ST_GeomFromText('MULTILINESTRING((0 0,1 1),(2 2,3 3))'),
   ST_GeomFromText('MULTIPOLYGON(((0 0,1 0,1 1,0 0)),((5 5,6 5,6 6,5 5)))', 4326),
   ST_GeomFromText('GEOMETRYCOLLECTION(POINT(1 2),LINESTRING(0 0,1 1),POLYGON((0 0,1 0,1 1,0 0)))', 4326)),
  (2, 'extremes', ST_GeomFromText('POINT(-0 5e-324)'), ST_GeomFromText('GEOMETRYCOLLECTION EMPTY'),
   NULL, NULL, NULL, NULL, NULL, ST_GeomFromText('GEOMETRYCOLLECTION EMPTY', 4326)),
  (3, 'big-endian input', ST_GeomFromWKB(UNHEX('00000000013FF00000000000004000000000000000'), 2154), ST_GeomFromText('POINT(0.1 0.2)'),
   NULL, NULL, NULL, NULL, NULL, NULL);
INSERT INTO places (id, name, pos, route)
  SELECT 100 + seq, CONCAT('p', seq), ST_GeomFromText(CONCAT('POINT(', seq / 7, ' ', -seq / 3, ')'), 4326),
         ST_GeomFromText(CONCAT('LINESTRING(', seq, ' 0,', seq / 9, ' ', 1 / seq, ')'))
    FROM seq_1_to_500;
`;

/** Each value as its SRID and WKB (little-endian) on both sides, independent of ferry's digest. */
const CANONICAL = {
  places: {
    mysql: `SELECT CONCAT_WS('|', id, name, ${SPATIAL.map((c) => `IFNULL(CONCAT(ST_SRID(${c}), ':', HEX(ST_AsBinary(${c}))), '-')`).join(', ')}) AS r FROM shop.places`,
    pg: `SELECT concat_ws('|', id, name, ${SPATIAL.map((c) => `coalesce(public.st_srid(${c}) || ':' || upper(encode(public.st_asbinary(${c}, 'NDR'), 'hex')), '-')`).join(', ')}) AS r FROM shop.places`,
  },
};

beforeAll(async () => {
  m = await startMysqlMigration({ targetVersion: 15 });
  const app = await m.app();
  await app.query(PLACES);
  await app.end();
  const dba = await m.target();
  try {
    const { rows } = await dba.query("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'");
    if (!rows.length)
      throw new Error(
        'PostGIS is not installed for PostgreSQL 15: apt-get install postgresql-15-postgis-3 (hack/test-deps.sh does)',
      );
    await dba.query(`CREATE ROLE ${TARGET_USER} LOGIN PASSWORD '${targetPassword}'`);
    await dba.query(`GRANT CREATE ON DATABASE shop TO ${TARGET_USER}`);
  } finally {
    await dba.end();
  }
}, 180_000);
afterAll(async () => m?.stop());

const manifest = (name = 'geo', spec: Record<string, unknown> = {}) =>
  m.manifest(name, {
    target: {
      ...m.connections({ source: {}, target: {} }).target,
      user: TARGET_USER,
      password: { env: 'GIS_PW' },
    },
    validation: 'Checksum',
    ...spec,
  });
const env = () => ({ ...m.env, GIS_PW: targetPassword });

describe('spatial columns, MariaDB -> PostGIS', () => {
  it('is refused by Checks while the target lacks PostGIS, naming it and the columns; nothing changes', async () => {
    const before = await sourceState(m);
    const run = await ferry(['run', '-f', manifest()], env());
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(
      `extension postgis (for the spatial columns ${SPATIAL.map((c) => `places.${c}`).join(', ')}) is missing on the target ` +
        `and ${TARGET_USER} may not create it; a DBA must run: CREATE EXTENSION IF NOT EXISTS "postgis" WITH SCHEMA "public";`,
    );
    expect(run.stderr).not.toContain(targetPassword);
    expect(await sourceState(m)).toEqual(before);
    expect(await targetSchemas(m)).toEqual([]);
  });

  it('moves every spatial value byte for byte once a DBA has created PostGIS, its R-tree a GiST index', async () => {
    const dba = await m.target();
    await dba.query('CREATE EXTENSION postgis WITH SCHEMA public');
    await dba.end();
    const before = await sourceState(m);
    const file = manifest();
    const run = await ferry(['run', '-f', file], env());
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Completed: 503 rows/);
    const sides = await bothSides(m, CANONICAL);
    expect(sides['places']!.target).toEqual(sides['places']!.source);
    expect(sides['places']!.source).toHaveLength(503);
    const after = await sourceState(m);
    expect(after.leftovers).toEqual([]);
    expect(after.sums).toEqual(before.sums);

    const c = await m.target();
    try {
      const { rows: types } = await c.query<{ c: string; t: string }>(
        `SELECT attname AS c, format_type(atttypid, atttypmod) AS t FROM pg_attribute
          WHERE attrelid = 'shop.places'::regclass AND attnum > 0 ORDER BY attnum`,
      );
      expect(types.map((r) => `${r.c} ${r.t}`)).toEqual([
        'id integer',
        'name character varying(40)',
        'pos geometry(Point)',
        'shape geometry',
        'route geometry(LineString)',
        'area geometry(Polygon)',
        'spots geometry(MultiPoint)',
        'routes geometry(MultiLineString)',
        'areas geometry(MultiPolygon)',
        'things geometry(GeometryCollection)',
      ]);
      const { rows: indexes } = await c.query<{ d: string }>(
        "SELECT indexdef AS d FROM pg_indexes WHERE schemaname = 'shop' AND indexname = 'places_by_pos'",
      );
      expect(indexes.map((r) => r.d)).toEqual(['CREATE INDEX places_by_pos ON shop.places USING gist (pos)']);

      // The validation sees one coordinate moved by one unit in its last place.
      const check = await ferry(['validate', '-f', file], env());
      expect(check.code, check.stderr).toBe(0);
      await c.query(
        `UPDATE shop.places SET route = public.st_setpoint(route, 1, public.st_setsrid(public.st_makepoint(1.5, -2.2500000000000004), 4326))
          WHERE id = 1`,
      );
      const caught = await ferry(['validate', '-f', file], env());
      expect(caught.code).not.toBe(0);
      expect(caught.stderr).toMatch(/places.*same row count \(503\) but the content checksums differ/s);
    } finally {
      await c.end();
    }
  });
  it('DowntimeOptimized: spatial changes in uptime (new SRIDs, key moves, TRUNCATE) replayed exactly through a SIGKILL', async () => {
    await resetTarget(m);
    const app = await m.app();
    await app.query(
      `CREATE TABLE zones (id int NOT NULL PRIMARY KEY, border polygon NOT NULL, SPATIAL KEY by_border (border)) ENGINE=InnoDB;
       INSERT INTO zones SELECT seq, ST_GeomFromText(CONCAT('POLYGON((0 0,', seq, ' 0,', seq, ' ', seq, ',0 0))'), 3857) FROM seq_1_to_50`,
    );
    const before = await sourceState(m);
    const spec = { mode: 'DowntimeOptimized', cutover: { approved: false } };
    const { run, until } = startWatched(manifest('geodo', spec), env());
    await until('waiting for cutover approval');
    // Uptime: values change SRID and shape, rows come, go and change keys; zones is emptied and refilled.
    await app.query(
      `UPDATE places SET pos = ST_GeomFromText('POINT(7 8)', 3857), route = ST_GeomFromText('LINESTRING(1 1,2 2.5)', 2154) WHERE id = 2;
       UPDATE places SET shape = ST_GeomFromText('MULTIPOINT(5e-324 -0,1e308 1)') WHERE id BETWEEN 100 AND 150;
       INSERT INTO places (id, name, pos, things) VALUES (9000, 'new', ST_GeomFromText('POINT(9 9)', 27700), ST_GeomFromText('GEOMETRYCOLLECTION EMPTY'));
       DELETE FROM places WHERE id BETWEEN 300 AND 320;
       UPDATE places SET id = id + 10000 WHERE id BETWEEN 400 AND 410;
       TRUNCATE zones;
       INSERT INTO zones VALUES (7, ST_GeomFromText('POLYGON((0 0,2 0,2 2,0 0))', 4326))`,
    );
    await until('emptied by TRUNCATE (or rebuilt): copied whole');
    run.child.kill('SIGKILL');
    await run.done;
    const done = await ferry(
      ['run', '-f', manifest('geodo', { ...spec, cutover: { approved: true } })],
      env(),
    );
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toMatch(/Downtime \(application writes fenced off until done\)/);
    const sides = await bothSides(m, {
      ...CANONICAL,
      zones: {
        mysql: "SELECT CONCAT_WS('|', id, ST_SRID(border), HEX(ST_AsBinary(border))) AS r FROM shop.zones",
        pg: "SELECT concat_ws('|', id, public.st_srid(border), upper(encode(public.st_asbinary(border, 'NDR'), 'hex'))) AS r FROM shop.zones",
      },
    });
    for (const [t, side] of Object.entries(sides)) expect(side.target, t).toEqual(side.source);
    expect(sides['zones']!.source).toHaveLength(1);
    expect(sides['places']!.source).toHaveLength(503 + 1 - 21);
    const after = await sourceState(m);
    expect(after.leftovers).toEqual([]);
    expect(Object.keys(after.sums)).toEqual(Object.keys(before.sums));
    await app.end();
  });
});

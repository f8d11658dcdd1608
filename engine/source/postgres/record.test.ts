import { describe, expect, it } from 'vitest';
import type { Table } from '../../catalog/types.ts';
import { fenceFunctionDdl } from './fence-ddl.ts';
import { keyRenderingSettings, tableRecorderDdl } from './record.ts';

describe('recording triggers', () => {
  it('pin only the settings a key type needs to read back exactly', () => {
    expect(
      keyRenderingSettings(['bigint', 'uuid', 'character varying(40)', 'text', 'numeric(12,2)']),
    ).toEqual([]);
    expect(keyRenderingSettings(['timestamp with time zone'])).toEqual(['TimeZone', 'DateStyle']);
    expect(keyRenderingSettings(['double precision[]', 'bytea'])).toEqual([
      'bytea_output',
      'extra_float_digits',
    ]);
    // A type ferry does not know (a domain, an enum) pins everything.
    expect(keyRenderingSettings(['my_domain'])).toHaveLength(5);
  });

  const t = {
    name: 'Order Lines',
    columns: [
      { name: 'id', type: 'bigint' },
      { name: 'at', type: 'timestamp with time zone' },
    ],
    key: ['id', 'at'],
  } as unknown as Table;

  it('log keys only, as definer naming every type and operator by schema, and record key changes twice', () => {
    const [fn, revoke, row, truncate] = tableRecorderDdl('ferry_m', 'm', 'app', t, 3);
    expect(fn).toContain(
      'CREATE FUNCTION "ferry_m"."record_3"() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET TimeZone = \'UTC\' SET DateStyle = \'ISO, YMD\' AS',
    );
    expect(fn).toContain(
      `VALUES ('Order Lines', 'U', ARRAY[OLD."id"::pg_catalog.text, OLD."at"::pg_catalog.text]);`,
    );
    expect(fn).toContain(
      'IF ARRAY[NEW."id"::pg_catalog.text, NEW."at"::pg_catalog.text] OPERATOR(pg_catalog.<>) ARRAY[OLD."id"::pg_catalog.text, OLD."at"::pg_catalog.text] THEN',
    );
    expect(fn).toContain(`IF TG_OP OPERATOR(pg_catalog.=) 'UPDATE' THEN`);
    // Nothing left to resolve through the writer's search_path: no bare operator or type name.
    expect(
      fn!.replace(/OPERATOR\(pg_catalog\.[=<>]+\)|::pg_catalog\.text|SET \w+ = '[^']*'/g, ''),
    ).not.toMatch(/[=<>]|::|DISTINCT/);
    expect(fn).not.toMatch(/to_jsonb|NEW\.\*/);
    expect(revoke).toBe('REVOKE EXECUTE ON FUNCTION "ferry_m"."record_3"() FROM PUBLIC');
    expect(row).toContain('AFTER INSERT OR UPDATE OR DELETE ON "app"."Order Lines" FOR EACH ROW');
    expect(truncate).toContain('AFTER TRUNCATE ON "app"."Order Lines" FOR EACH STATEMENT');
  });

  it('a partition records only its TRUNCATE (its rows are recorded through the root)', () => {
    const part = { ...t, partitionOf: { parent: 'orders', bound: 'DEFAULT' } } as Table;
    const ddl = tableRecorderDdl('ferry_m', 'm', 'app', part, 4);
    expect(ddl).toHaveLength(1);
    expect(ddl[0]).toContain('AFTER TRUNCATE');
  });
});

describe('the fence function', () => {
  it('does nothing while open, refuses with 25006 when up, notes writes when detecting', () => {
    const open = fenceFunctionDdl('ferry_m', 'm', 'open');
    expect(open).toContain('RETURN NULL;');
    // On every write in uptime: no definer, no pinned settings to switch (it names nothing).
    expect(open).toMatch(
      /^CREATE OR REPLACE FUNCTION "ferry_m"\."fence"\(\) RETURNS trigger LANGUAGE plpgsql AS/,
    );
    const refuse = fenceFunctionDdl('ferry_m', 'm', 'refuse');
    expect(refuse).toContain("ERRCODE = 'read_only_sql_transaction'");
    expect(refuse).toMatch(
      /^CREATE OR REPLACE FUNCTION "ferry_m"\."fence"\(\) RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp/,
    );
    expect(fenceFunctionDdl('ferry_m', 'm', 'detect')).toContain(
      'INSERT INTO "ferry_m"."writes_seen" (tbl) VALUES (TG_TABLE_NAME)',
    );
  });
});

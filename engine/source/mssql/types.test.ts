import { describe, expect, it } from 'vitest';
import type { TypeRule } from '../../api/migration.ts';
import { mssqlType } from '../../../test/support/mssql-values.ts';
import type { MssqlType } from './column.ts';
import { mapColumn, sourceTypeText, TypeMapError } from './types.ts';

const at = { table: 'orders', column: 'c' };
/** A column's type as sys.columns/sys.types describe it (max_length in bytes, -1 for max). */
const col = mssqlType;
const map = (t: MssqlType, rules: TypeRule[] = []) => mapColumn(t, at, rules);

describe('SQL Server type map', () => {
  it('maps every supported type by default (the README table)', () => {
    const cases: [MssqlType, string, string][] = [
      [col('bit'), 'boolean', 'boolean'],
      [col('tinyint'), 'smallint', 'integer'],
      [col('smallint'), 'smallint', 'integer'],
      [col('int'), 'integer', 'integer'],
      [col('bigint'), 'bigint', 'bigint'],
      [col('decimal', { precision: 38, scale: 10 }), 'numeric(38,10)', 'decimal'],
      [col('numeric', { precision: 5, scale: 0 }), 'numeric(5,0)', 'decimal'],
      [col('money'), 'numeric(19,4)', 'money'],
      [col('smallmoney'), 'numeric(10,4)', 'money'],
      [col('float', { precision: 53 }), 'double precision', 'float8'],
      [col('real', { precision: 24 }), 'real', 'float4'],
      [col('date'), 'date', 'date'],
      [col('time', { scale: 7 }), 'time(6) without time zone', 'time'],
      [col('time', { scale: 3 }), 'time(3) without time zone', 'time'],
      [col('datetime'), 'timestamp(3) without time zone', 'timestamp'],
      [col('smalldatetime'), 'timestamp(0) without time zone', 'timestamp'],
      [col('datetime2', { scale: 7 }), 'timestamp(6) without time zone', 'timestamp'],
      [col('datetime2', { scale: 2 }), 'timestamp(2) without time zone', 'timestamp'],
      [col('datetimeoffset', { scale: 7 }), 'timestamp(6) with time zone', 'timestamptz'],
      [col('char', { maxLength: 10, codePage: 1252 }), 'character varying(10)', 'text'],
      [col('varchar', { maxLength: 8000, codePage: 932 }), 'character varying(8000)', 'text'],
      [col('varchar', { maxLength: -1, codePage: 65001 }), 'text', 'text'],
      [col('text', { maxLength: 16, codePage: 1252 }), 'text', 'text'],
      [col('nchar', { maxLength: 20 }), 'character varying(10)', 'text'],
      [col('nvarchar', { maxLength: 8000 }), 'character varying(4000)', 'text'],
      [col('nvarchar', { maxLength: -1 }), 'text', 'text'],
      [col('ntext', { maxLength: 16 }), 'text', 'text'],
      [col('sysname', { maxLength: 256 }), 'character varying(128)', 'text'],
      [col('binary', { maxLength: 16 }), 'bytea', 'bytea'],
      [col('varbinary', { maxLength: -1 }), 'bytea', 'bytea'],
      [col('image', { maxLength: 16 }), 'bytea', 'bytea'],
      [col('timestamp', { maxLength: 8 }), 'bytea', 'bytea'],
      [col('uniqueidentifier'), 'uuid', 'uuid'],
      [col('xml', { maxLength: -1 }), 'xml', 'xml'],
    ];
    for (const [t, type, encoding] of cases) expect(map(t), sourceTypeText(t)).toEqual({ type, encoding });
  });

  it('refuses hierarchyid, geography, geometry, sql_variant and CLR types, pointing at spec.typeMap', () => {
    for (const name of ['hierarchyid', 'geography', 'geometry', 'sql_variant']) {
      expect(() => map(col(name)), name).toThrow(TypeMapError);
      expect(() => map(col(name)), name).toThrow(
        new RegExp(`type ${name} is not supported .*spec\\.typeMap`),
      );
    }
    expect(() => map(col('Point', { alias: 'dbo.Point' }))).toThrow(
      /type dbo\.Point is not supported \(a CLR user type\?\): a spec\.typeMap rule can convert it/,
    );
  });

  it('applies the first matching rule: by whole source type, name, alias, table and column globs', () => {
    const rules: TypeRule[] = [
      { table: 'legacy_*', column: 'flag*', targetType: 'int2' },
      { sourceType: 'decimal(10, 2)', targetType: 'numeric(12,2)' },
      { sourceType: 'NVARCHAR(max)', targetType: 'citext' },
      { sourceType: 'phone', targetType: 'varchar(40)' },
      { sourceType: 'datetime2', targetType: 'text' },
      { sourceType: 'geography', targetType: 'text' },
      { sourceType: 'hierarchyid', targetType: 'bytea' },
      { sourceType: 'real', targetType: 'float8' },
      { sourceType: 'bigint', targetType: 'numeric(20,0)' },
    ];
    expect(map(col('decimal', { precision: 10, scale: 2 }), rules)).toEqual({
      type: 'numeric(12,2)',
      encoding: 'decimal',
      note: 'type map rule: decimal(10,2) → numeric(12,2)',
    });
    expect(map(col('decimal', { precision: 10, scale: 3 }), rules).type).toBe('numeric(10,3)');
    expect(map(col('nvarchar', { maxLength: -1 }), rules)).toMatchObject({
      type: 'citext',
      encoding: 'text',
    });
    expect(map(col('nvarchar', { maxLength: 40 }), rules).type).toBe('character varying(20)');
    expect(map(col('varchar', { maxLength: 20, alias: 'dbo.phone' }), rules).type).toBe(
      'character varying(40)',
    );
    // Text keeps what the default type would round: the 100-ns digit.
    expect(map(col('datetime2', { scale: 7 }), rules)).toMatchObject({ type: 'text', encoding: 'text' });
    expect(map(col('geography'), rules)).toMatchObject({ type: 'text', encoding: 'text' });
    expect(map(col('hierarchyid'), rules)).toMatchObject({ type: 'bytea', encoding: 'bytea' });
    expect(map(col('real'), rules)).toMatchObject({ type: 'double precision', encoding: 'float8' });
    expect(map(col('bigint'), rules)).toMatchObject({ type: 'numeric(20,0)', encoding: 'bigint' });
    expect(mapColumn(col('bit'), { table: 'legacy_a', column: 'flags' }, rules)).toMatchObject({
      type: 'smallint',
      encoding: 'integer',
    });
    expect(mapColumn(col('bit'), { table: 'legacy_a', column: 'other' }, rules).type).toBe('boolean');
    expect(map(col('int'), [{ column: 'c', targetType: 'bigint' }]).encoding).toBe('integer');
    expect(
      map(col('numeric', { precision: 9, scale: 0 }), [{ column: 'c', targetType: 'int4' }]),
    ).toMatchObject({ type: 'integer', encoding: 'decimal' });
    expect(map(col('time', { scale: 7 }), [{ column: 'c', targetType: 'time' }]).encoding).toBe('time');
    expect(map(col('date'), [{ column: 'c', targetType: 'timestamp' }]).encoding).toBe('timestamp');
    expect(map(col('char', { maxLength: 36 }), [{ column: 'c', targetType: 'uuid' }]).encoding).toBe('uuid');
  });

  it('refuses a rule whose target cannot hold every value exactly, saying why', () => {
    const refused: [MssqlType, string, RegExp][] = [
      [col('int'), 'smallint', /^int cannot be converted to smallint exactly$/],
      [col('bigint'), 'integer', /bigint cannot be converted to integer/],
      [col('bigint'), 'numeric(18,0)', /bigint cannot be converted to numeric\(18,0\)/],
      [col('tinyint'), 'boolean', /tinyint cannot be converted to boolean/],
      [col('decimal', { precision: 10, scale: 2 }), 'numeric(9,2)', /too few digits/],
      [col('decimal', { precision: 10, scale: 2 }), 'numeric(12,4)', /its scale must be the source's \(2\)/],
      [col('int'), 'numeric(12,2)', /int cannot be converted to numeric\(12,2\)/],
      [col('decimal', { precision: 10, scale: 2 }), 'numeric(10,2)', /^(?!)/],
      [col('decimal', { precision: 10, scale: 2 }), 'float8', /cannot be converted to double precision/],
      [
        col('numeric', { precision: 10, scale: 0 }),
        'integer',
        /numeric\(10,0\) cannot be converted to integer/,
      ],
      [col('money'), 'numeric(18,4)', /money cannot be converted to numeric\(18,4\) exactly: too few digits/],
      [col('money'), 'numeric(19,2)', /its scale must be the source's \(4\)/],
      [col('money'), 'money', /money cannot be converted to money/],
      [col('float', { precision: 53 }), 'real', /float cannot be converted to real/],
      [col('float', { precision: 53 }), 'numeric', /float cannot be converted to numeric/],
      [
        col('datetime2', { scale: 7 }),
        'timestamp(3)',
        /datetime2\(7\) cannot be converted to timestamp\(3\) without time zone exactly: it keeps 3 fractional digits, the source 7/,
      ],
      [col('datetime'), 'timestamp(2)', /it keeps 2 fractional digits, the source 3/],
      [col('datetime2', { scale: 7 }), 'timestamptz', /cannot be converted to timestamp with time zone/],
      [col('datetimeoffset', { scale: 7 }), 'timestamp', /cannot be converted to timestamp without/],
      [col('datetime2', { scale: 7 }), 'date', /cannot be converted to date/],
      [col('time', { scale: 7 }), 'timetz', /cannot be converted/],
      [col('nvarchar', { maxLength: 20 }), 'jsonb', /only text types, xml and uuid/],
      [col('nchar', { maxLength: 20 }), 'char(10)', /character\(n\) pads its values/],
      [col('varbinary', { maxLength: 16 }), 'uuid', /varbinary\(16\) cannot be converted to uuid/],
      [col('uniqueidentifier'), 'bytea', /uniqueidentifier cannot be converted to bytea/],
      [
        col('sql_variant'),
        'bytea',
        /sql_variant cannot be converted to bytea exactly: only text can hold any value/,
      ],
      [col('geometry'), 'jsonb', /geometry cannot be converted to jsonb exactly: only text or bytea/],
    ];
    for (const [t, target, message] of refused) {
      const attempt = () => map(t, [{ column: 'c', targetType: target }]);
      if (target === 'numeric(10,2)') {
        expect(attempt()).toMatchObject({ type: 'numeric(10,2)' });
        continue;
      }
      expect(attempt, `${sourceTypeText(t)} → ${target}`).toThrow(TypeMapError);
      expect(attempt, `${sourceTypeText(t)} → ${target}`).toThrow(message);
    }
  });

  it('names source types as rules match them', () => {
    expect(sourceTypeText(col('nvarchar', { maxLength: 100 }))).toBe('nvarchar(50)');
    expect(sourceTypeText(col('varbinary', { maxLength: -1 }))).toBe('varbinary(max)');
    expect(sourceTypeText(col('decimal', { precision: 38, scale: 4 }))).toBe('decimal(38,4)');
    expect(sourceTypeText(col('datetimeoffset', { scale: 0 }))).toBe('datetimeoffset(0)');
    expect(sourceTypeText(col('ntext', { maxLength: 16 }))).toBe('ntext');
  });
});

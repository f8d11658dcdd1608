// What validation reads on a PostgreSQL source (SnapshotReads): the same SQL the target runs
// (digest.ts), in whatever snapshot the caller provides: a session's own or shared one, or a change
// batch's transaction.
import type { Validation } from '../../api/migration.ts';
import type { Table } from '../../catalog/types.ts';
import type { Client } from '../../db/connect.ts';
import type { Range } from '../../plan/chunks.ts';
import type { Bucket, KeyedRow, Measure, SnapshotReads } from '../dialect.ts';
import {
  columnChecksumsSql,
  keyBucketsSql,
  keyedRowsSql,
  measureKeysSql,
  measureSql,
  rowDigestsSql,
} from './digest.ts';

export interface Scope {
  /** Runs a read in the caller's snapshot. */
  inSnapshot<T>(fn: () => Promise<T>): Promise<T>;
  /** Runs a read with the search_path at `schema` (key casts name types relative to the table's schema). */
  inSchema<T>(schema: string, fn: () => Promise<T>): Promise<T>;
}

export class PostgresReads implements SnapshotReads {
  private readonly c: Client;
  private readonly scope: Scope;

  constructor(c: Client, scope: Scope) {
    this.c = c;
    this.scope = scope;
  }

  measure(table: Table, schema: string, range: Range | null, how: Validation): Promise<Measure> {
    return this.scope.inSnapshot(
      async () => (await this.c.query<Measure>(measureSql(schema, table, range, how))).rows[0]!,
    );
  }

  measureKeys(table: Table, schema: string, keys: readonly string[][]): Promise<Measure> {
    return this.scope.inSchema(
      schema,
      async () =>
        (await this.c.query<Measure>(measureKeysSql(schema, table), [JSON.stringify(keys)])).rows[0]!,
    );
  }

  async rowDigests(table: Table, schema: string, keys: readonly string[][]): Promise<(string | null)[]> {
    const found = await this.scope.inSchema(schema, async () => {
      const { rows } = await this.c.query<{ n: number; h: string | null }>(rowDigestsSql(schema, table), [
        JSON.stringify(keys),
      ]);
      return new Map(rows.map((r) => [r.n, r.h]));
    });
    return keys.map((_, i) => found.get(i + 1) ?? null);
  }

  keyBuckets(table: Table, schema: string, range: Range | null): Promise<Bucket[]> {
    return this.scope.inSnapshot(
      async () => (await this.c.query<Bucket>(keyBucketsSql(schema, table, range))).rows,
    );
  }

  keyedRows(
    table: Table,
    schema: string,
    range: Range | null,
    buckets: readonly string[],
  ): Promise<KeyedRow[]> {
    return this.scope.inSnapshot(
      async () => (await this.c.query<KeyedRow>(keyedRowsSql(schema, table, range), [buckets])).rows,
    );
  }

  async columnChecksums(table: Table, schema: string, range: Range | null): Promise<string[]> {
    const row = await this.scope.inSnapshot(
      async () =>
        (await this.c.query<Record<string, string>>(columnChecksumsSql(schema, table, range))).rows[0]!,
    );
    return table.columns.map((_, i) => row[`c${i}`]!);
  }
}

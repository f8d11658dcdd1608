// A MariaDB source and a PostgreSQL target for the MySQL-source tests, and a minimal migration
// between them built from the engine's MySQL pieces: extract the catalog, create the tables, copy
// every table through one consistent snapshot (COPY text into the target), build keys and indexes.
import { pipeline } from 'node:stream/promises';
import { createConnection, type Connection } from 'mysql2/promise';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { startMariadb, type MariadbServer } from '../../hack/mariadb/server.ts';
import { startPostgres, type PostgresServer, type PostgresVersion } from '../../hack/postgres/server.ts';
import type { TypeRule } from '../../engine/api/migration.ts';
import type { Conversion } from '../../engine/api/settings.ts';
import { postLoadSteps, preLoadDdl } from '../../engine/catalog/ddl.ts';
import { RENDERING } from '../../engine/db/connect.ts';
import { columnList, qualified, quoteIdent } from '../../engine/db/ident.ts';
import { extractCatalog, type Extracted } from '../../engine/source/mysql/catalog.ts';
import { openSnapshot, readChunk } from '../../engine/source/mysql/read.ts';
import { copiedColumns, copyFormat } from '../../engine/transfer/table-copy.ts';

export interface MysqlPair {
  my: MariadbServer;
  pg: PostgresServer;
  stop(): Promise<void>;
}

/**
 * `settings`: MariaDB server options, as a my.cnf would set them (they outlive a restart).
 * `targetVersion`: 15 is Debian's server, with its extension packages (PostGIS).
 */
export async function startMysqlPair(
  settings: Record<string, string> = {},
  targetVersion: PostgresVersion = 18,
): Promise<MysqlPair> {
  const [my, pgs] = await Promise.all([
    startMariadb({ binlog: true, settings }),
    startPostgres({ version: targetVersion }),
  ]);
  return { my, pg: pgs, stop: async () => void (await Promise.all([my.stop(), pgs.stop()])) };
}

/** Runs MariaDB statements (several, separated by `;`) in `database`. */
export async function mysqlRun(my: MariadbServer, sql: string, database?: string): Promise<void> {
  const c = await createConnection({ ...my.connection(database), multipleStatements: true });
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

export async function mysqlConnect(my: MariadbServer, database?: string): Promise<Connection> {
  return createConnection(my.connection(database));
}

/** A target session rendering values as ferry's do; every value comes back as its text. */
export async function pgConnect(server: PostgresServer): Promise<pg.Client> {
  const c = new pg.Client({
    connectionString: server.url(),
    types: { getTypeParser: () => (v: string) => v },
  });
  await c.connect();
  for (const [k, v] of Object.entries(RENDERING)) await c.query(`SET ${k} = '${v}'`);
  return c;
}

export interface MigrateOptions {
  typeMap?: TypeRule[];
  conversion?: Partial<Conversion>;
  select?: (table: string) => boolean;
  /** COPY text for every table; by default each table's own format (binary where its columns allow). */
  text?: boolean;
}

/**
 * Moves `database` into target schema `schema` (created; dropped first). Throws what the copy
 * throws (a refused value); `refused` catalog entries are returned, their columns left out.
 */
export async function migrate(
  pair: MysqlPair,
  database: string,
  schema: string,
  opts: MigrateOptions = {},
): Promise<Extracted> {
  const conversion: Conversion = { zeroDates: 'Refuse', invalidCharacters: 'Refuse', ...opts.conversion };
  const src = await mysqlConnect(pair.my, database);
  const extracted = await extractCatalog(src, database, {
    typeMap: opts.typeMap ?? [],
    conversion,
    ...(opts.select ? { select: opts.select } : {}),
  }).finally(() => src.end());
  const { catalog } = extracted;
  const dst = await pgConnect(pair.pg);
  try {
    await dst.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
    await dst.query(`SET search_path = ${quoteIdent(schema)}`);
    for (const sql of preLoadDdl(catalog, schema)) await dst.query(sql);
    const snapshot = await openSnapshot(
      pair.my.connection(),
      database,
      catalog.tables.map((t) => t.name),
      1,
    );
    try {
      for (const t of catalog.tables) {
        const columns = copiedColumns(t);
        const format = opts.text ? 'text' : copyFormat(t);
        const rows = readChunk(snapshot.readers[0]!, database, t, columns, null, { conversion, format });
        await pipeline(
          rows,
          dst.query(
            copyFrom(
              `COPY ${qualified(schema, t.name)} (${columnList(columns)}) FROM STDIN (FORMAT ${format})`,
            ),
          ),
        );
      }
    } finally {
      await snapshot.close();
    }
    for (const step of postLoadSteps(catalog, schema)) {
      await dst.query(step.sql);
      // A foreign key is added NOT VALID, then validated (catalog/ddl.ts).
      if (step.validate) await dst.query(step.validate);
    }
  } finally {
    await dst.end();
  }
  return extracted;
}

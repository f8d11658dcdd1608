// Sessions on a SQL Server source through tedious: one Connection is one session, so a transaction
// (a SNAPSHOT read, a change batch) never silently moves to another connection, as a pool would do
// after a connection broke. Every parameter is explicit; errors say what failed without secrets,
// and connection losses, deadlocks and snapshot conflicts carry the SQLSTATE class the engine retries.
import type { Connection, ConnectionConfiguration, Request } from 'tedious';
import { ConnectError, describeEndpoint, type Endpoint } from '../../db/connect.ts';
import { checksCertificate, explainTls } from '../../db/tls.ts';

/** A row as tedious hands it: column name → value (see encode.ts for what each type's value is). */
export type MssqlRow = Record<string, unknown>;

/** tedious' options for an endpoint. verify-ca checks the host name too: tedious always does. */
export function connectionConfig(e: Endpoint): ConnectionConfiguration {
  const mode = e.conn.sslMode;
  return {
    server: e.conn.host,
    authentication: { type: 'default', options: { userName: e.conn.user, password: e.password } },
    options: {
      port: e.conn.port,
      database: e.conn.database,
      appName: e.applicationName,
      encrypt: mode !== 'disable',
      trustServerCertificate: mode === 'require',
      ...(checksCertificate(mode) && e.rootCert ? { cryptoCredentialsDetails: { ca: e.rootCert } } : {}),
      connectTimeout: 10_000,
      // Long reads and index builds: ferry's own deadlines, not the driver's.
      requestTimeout: 0,
      cancelTimeout: 10_000,
      useUTC: true,
      useColumnNames: false,
      rowCollectionOnRequestCompletion: false,
      // The session settings a trigger or computed column may need, whatever the server's defaults.
      enableAnsiNull: true,
      enableAnsiPadding: true,
      enableAnsiWarnings: true,
      enableArithAbort: true,
      enableConcatNullYieldsNull: true,
      enableQuotedIdentifier: true,
      enableNumericRoundabort: false,
      language: 'us_english',
      dateFormat: 'ymd',
      textsize: 2147483647,
    },
  };
}

/** SQL Server error numbers the engine may retry, as the SQLSTATE class its isTransient knows. */
const TRANSIENT_NUMBERS: Readonly<Record<number, string>> = {
  1205: '40P01', // chosen as deadlock victim
  3960: '40001', // snapshot isolation update conflict
  6005: '57P01', // SHUTDOWN is in progress
  40613: '08006', // database not currently available (Azure)
  233: '08006', // no process on the other end of the pipe
  10054: '08006', // connection reset by peer
};

const TRANSIENT_CODES = new Set(['ESOCKET', 'ECLOSE', 'ETIMEOUT', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE']);

/** tedious' errors with `code` set to the SQLSTATE class the engine retries, where they are transient. */
export function normalizeError(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  const e = err as Error & { code?: string; number?: number; mssqlCode?: string };
  const byNumber = e.number !== undefined ? TRANSIENT_NUMBERS[e.number] : undefined;
  const sqlstate = byNumber ?? (e.code && TRANSIENT_CODES.has(e.code) ? '08006' : undefined);
  if (sqlstate) Object.assign(e, { mssqlCode: e.code ?? String(e.number), code: sqlstate });
  return err;
}

function explain(e: Endpoint, err: unknown): ConnectError {
  const where = describeEndpoint(e);
  const x = err as { code?: string; number?: number; message?: string; cause?: unknown };
  const msg = String(x.message ?? err).replaceAll(e.password, '[redacted]');
  // tedious wraps the socket's error (an AggregateError of each address tried) in its ESOCKET error.
  const causes = x.cause instanceof AggregateError ? x.cause.errors : [x.cause];
  const cause = (causes as { code?: string }[]).map((c) => c?.code).find(Boolean) ?? '';
  const why =
    explainTls(e.role, e.conn.host, causes[0] ?? err) ??
    (x.number === 18456 || /Login failed/i.test(msg)
      ? `authentication failed for user ${e.conn.user}`
      : x.number === 4060 || /Cannot open database/i.test(msg)
        ? `database ${e.conn.database} does not exist or user ${e.conn.user} may not use it`
        : cause === 'ECONNREFUSED' || /ECONNREFUSED/.test(msg)
          ? 'connection refused (is the server running and the port right?)'
          : cause === 'ENOTFOUND' || cause === 'EAI_AGAIN'
            ? `host ${e.conn.host} not found`
            : x.code === 'ETIMEOUT'
              ? 'unreachable (connection timed out)'
              : msg);
  return Object.assign(new ConnectError(`cannot connect to ${where}: ${why}`), {
    code: x.code && TRANSIENT_CODES.has(x.code) ? '08006' : x.code,
  });
}

/** A value as tedious' row event hands it. */
interface Cell {
  value: unknown;
}

/** A statement's parameter: strings travel as nvarchar (Unicode), bytes as varbinary, null as nvarchar. */
export type Param = string | Buffer | boolean | null;

/** tedious, loaded on first use: a run from another engine does not pay for the driver (memory, start-up). */
type Tedious = typeof import('tedious');

function addParams(t: Tedious, r: Request, params: readonly Param[]): void {
  const { TYPES } = t;
  params.forEach((v, i) => {
    const name = `p${i + 1}`;
    if (Buffer.isBuffer(v)) r.addParameter(name, TYPES.VarBinary, v, { length: Infinity });
    else if (typeof v === 'boolean') r.addParameter(name, TYPES.Bit, v);
    else r.addParameter(name, TYPES.NVarChar, v, { length: Infinity });
  });
}

/** What a streamed statement calls: each row (return false to pause until resume()), and at the end. */
export interface RowSink {
  row(values: unknown[], request: Request): void;
}

/** One session on the source. Statements run one at a time; parameters are @p1, @p2, ... */
export class MssqlConnection {
  private readonly c: Connection;
  private readonly t: Tedious;
  readonly endpoint: Endpoint;

  private constructor(t: Tedious, c: Connection, endpoint: Endpoint) {
    this.t = t;
    this.c = c;
    this.endpoint = endpoint;
  }

  /** Opens a session; a failure is a ConnectError naming the endpoint. */
  static async open(e: Endpoint): Promise<MssqlConnection> {
    const t = await import('tedious');
    const c = new t.Connection(connectionConfig(e));
    try {
      await new Promise<void>((resolve, reject) => {
        c.connect((err) => (err ? reject(err) : resolve()));
      });
    } catch (err) {
      c.close();
      throw explain(e, err);
    }
    // A lost connection is not thrown anywhere else: the next statement fails with ECLOSE.
    c.on('error', () => {});
    return new MssqlConnection(t, c, e);
  }

  get closed(): boolean {
    return this.c.closed;
  }

  /**
   * Runs a statement (or batch, without params), handing each row's values, in select order, to the
   * sink as they arrive; resolves with the rows affected once the server is done.
   */
  stream(sql: string, params: readonly Param[], sink: RowSink): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const r = new this.t.Request(sql, (err, rowCount) =>
        err ? reject(normalizeError(err)) : resolve(rowCount ?? 0),
      );
      addParams(this.t, r, params);
      r.on('row', (cols: Cell[]) =>
        sink.row(
          cols.map((c) => c.value),
          r,
        ),
      );
      if (params.length) this.c.execSql(r);
      else this.c.execSqlBatch(r);
    });
  }

  /** The rows of a statement, each as column name → value. */
  async rows(sql: string, params: readonly Param[] = []): Promise<MssqlRow[]> {
    const out: MssqlRow[] = [];
    let names: string[] | undefined;
    await new Promise<void>((resolve, reject) => {
      const r = new this.t.Request(sql, (err) => (err ? reject(normalizeError(err)) : resolve()));
      addParams(this.t, r, params);
      r.on('columnMetadata', (cols) => {
        names = (Array.isArray(cols) ? cols : Object.values(cols)).map((c) => c.colName);
      });
      r.on('row', (cols: Cell[]) => out.push(Object.fromEntries(cols.map((c, i) => [names![i]!, c.value]))));
      if (params.length) this.c.execSql(r);
      else this.c.execSqlBatch(r);
    });
    return out;
  }

  /** Runs statements for their effect; resolves with the rows affected. */
  run(sql: string, params: readonly Param[] = []): Promise<number> {
    return this.stream(sql, params, { row: () => {} });
  }

  /** Ends the session; its open transaction, if any, rolls back on the server. */
  close(): Promise<void> {
    if (this.c.closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.c.once('end', () => resolve());
      this.c.close();
    });
  }
}

/** Quotes a name for T-SQL: `[name]`, a `]` doubled. */
export const mssqlIdent = (name: string): string => `[${name.replaceAll(']', ']]')}]`;

/** `[schema].[name]`. */
export const mssqlQualified = (schema: string, name: string): string =>
  `${mssqlIdent(schema)}.${mssqlIdent(name)}`;

/** A Unicode string literal for T-SQL: `N'...'`, a quote doubled. */
export const mssqlLiteral = (s: string): string => `N'${s.replaceAll("'", "''")}'`;

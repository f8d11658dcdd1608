// A manifest with every default filled in: what the engine actually works from. Pure.
import type {
  FenceMode,
  MigrationManifest,
  Mode,
  RootCertSource,
  SourceConnection,
  SslMode,
  SystemMoveStage,
  TargetConnection,
  TransferMethod,
  TypeRule,
  ZeroDates,
  InvalidCharacters,
  Validation,
} from './migration.ts';

/** The migrated schema when the manifest names none: MySQL's database is its schema. */
const DEFAULT_SCHEMAS = {
  postgres: () => 'public',
  mssql: () => 'dbo',
  mysql: (database: string) => database,
} as const;

export const DEFAULT_PORTS = { postgres: 5432, mssql: 1433, mysql: 3306 } as const;

export interface ResolvedConnection<E extends string = string> {
  engine: E;
  host: string;
  port: number;
  database: string;
  user: string;
  schema: string;
  sslMode: SslMode;
  /** Where the CA comes from (verify-ca, verify-full); none: Node.js's public CAs. */
  sslRootCert: RootCertSource | undefined;
  password: SourceConnection['password'];
}

/** One migrated schema: its name on the source and on the target. */
export interface SchemaPair {
  source: string;
  target: string;
}

export interface Settings {
  name: string;
  namespace: string | undefined;
  /** metadata.uid: the Kubernetes uid when the operator runs the migration; the CLI has none. */
  uid: string | undefined;
  source: ResolvedConnection<SourceConnection['engine']>;
  target: ResolvedConnection<TargetConnection['engine']>;
  /**
   * The migrated schemas in manifest order (spec.schemas, or the one of source.schema/target.schema).
   * The first is also `source.schema` and `target.schema`.
   */
  schemas: SchemaPair[];
  mode: Mode;
  include: string[];
  exclude: string[];
  /** Migrate without the objects ferry cannot move (reported as skipped) instead of refusing at Checks. */
  skipUnsupported: boolean;
  method: TransferMethod;
  parallelism: number;
  tableGroups: number;
  splitAboveBytes: number;
  chunkRows: number;
  dumpDir: string | undefined;
  /** Dump method: chunks import as soon as their file is complete. */
  dumpOverlap: boolean;
  /** A system move's stage (spec.systemMove.stage): which side this manifest runs. */
  systemMove: SystemMoveStage | undefined;
  validation: Validation;
  /** DowntimeOptimized: globs of the tables copied in uptime. */
  uptimeTables: string[];
  cutoverApproved: boolean;
  fenceMode: FenceMode;
  fenceWaitSeconds: number;
  /** MySQL and SQL Server sources: type map rules, first match wins. */
  typeMap: TypeRule[];
  /** MySQL and SQL Server sources: what happens to values PostgreSQL cannot hold as they are. */
  conversion: Conversion;
  fallback: boolean;
}

export interface Conversion {
  zeroDates: ZeroDates;
  invalidCharacters: InvalidCharacters;
}

/** The suffixes of Kubernetes quantities (spec.transfer.splitAbove takes those up to T and Ti). */
export const QUANTITY_UNITS: Record<string, number> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
  Pi: 1024 ** 5,
  Ei: 1024 ** 6,
};

export function parseQuantity(q: string): number {
  const m = /^([0-9]+)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(q);
  if (!m) throw new Error(`not a quantity: ${q}`);
  return Number(m[1]) * QUANTITY_UNITS[m[2] ?? '']!;
}

/** The target schema of a source schema of the migration. */
export function targetSchemaOf(s: { schemas: readonly SchemaPair[] }, source: string): string {
  const pair = s.schemas.find((p) => p.source === source);
  if (!pair) throw new Error(`internal: schema ${source} is not migrated`);
  return pair.target;
}

/** True when the migration moves more than one schema (table names then carry their schema). */
export const multiSchema = (s: { schemas: readonly SchemaPair[] }): boolean => s.schemas.length > 1;

function connection<E extends string>(
  c: { engine: E } & Omit<SourceConnection, 'engine'>,
  schema: string,
): ResolvedConnection<E> {
  return {
    engine: c.engine,
    host: c.host,
    port: c.port ?? DEFAULT_PORTS[c.engine as keyof typeof DEFAULT_PORTS],
    database: c.database,
    user: c.user,
    schema: c.schema ?? schema,
    sslMode: c.sslMode ?? 'disable',
    sslRootCert: c.sslRootCert,
    password: c.password,
  };
}

export function resolveSettings(m: MigrationManifest): Settings {
  const s = m.spec;
  const pairs = s.schemas?.map((p) => ({ source: p.source, target: p.target ?? p.source }));
  const source = connection(
    s.source,
    pairs?.[0]!.source ?? DEFAULT_SCHEMAS[s.source.engine](s.source.database),
  );
  const target = connection(s.target, pairs?.[0]!.target ?? source.schema);
  const parallelism = s.transfer?.parallelism ?? 4;
  return {
    name: m.metadata.name,
    namespace: m.metadata.namespace,
    uid: m.metadata.uid,
    source,
    target,
    schemas: pairs ?? [{ source: source.schema, target: target.schema }],
    mode: s.mode ?? 'Standard',
    include: s.tables?.include ?? ['*'],
    exclude: s.tables?.exclude ?? [],
    skipUnsupported: s.objects?.skipUnsupported ?? false,
    method: s.transfer?.method ?? 'Pipe',
    parallelism,
    tableGroups: s.transfer?.tableGroups ?? parallelism,
    splitAboveBytes: parseQuantity(s.transfer?.splitAbove ?? '16Gi'),
    chunkRows: s.transfer?.chunkRows ?? 500_000,
    dumpDir: s.transfer?.dumpDir,
    dumpOverlap: s.transfer?.overlap ?? true,
    systemMove: s.systemMove?.stage,
    validation: s.validation ?? 'Checksum',
    uptimeTables: s.uptime?.tables ?? ['*'],
    cutoverApproved: s.cutover?.approved ?? false,
    fenceMode: s.fence?.mode ?? 'Refuse',
    fenceWaitSeconds: s.fence?.waitSeconds ?? 60,
    typeMap: s.typeMap ?? [],
    conversion: {
      zeroDates: s.conversion?.zeroDates ?? 'Refuse',
      invalidCharacters: s.conversion?.invalidCharacters ?? 'Refuse',
    },
    fallback: s.fallback ?? false,
  };
}

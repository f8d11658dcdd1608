// The Migration resource: one definition for the CLI manifest, the CRD schema (crds/ is generated
// from it) and the TypeScript types of the engine and the operator. Every field carries a description
// because `kubectl explain` shows it.
import { Type, type Static, type TSchema } from '@sinclair/typebox';

export const API_GROUP = 'ferry.dev';
export const API_VERSION = 'v1alpha1';
export const MIGRATION_KIND = 'Migration';

const Name = (description: string) =>
  Type.String({ minLength: 1, maxLength: 253, pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$', description });

const Identifier = (description: string) => Type.String({ minLength: 1, maxLength: 63, description });

const Enum = <T extends string>(values: readonly T[], description: string) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    { description },
  );

export const SecretKeyRef = Type.Object(
  {
    name: Name('Name of the Secret in the Migration namespace.'),
    key: Type.String({ minLength: 1, description: 'Key within the Secret.' }),
  },
  { additionalProperties: false, description: 'A key of a Secret in the same namespace.' },
);

export const ConfigMapKeyRef = Type.Object(
  {
    name: Name('Name of the ConfigMap in the Migration namespace.'),
    key: Type.String({ minLength: 1, description: 'Key within the ConfigMap.' }),
  },
  { additionalProperties: false, description: 'A key of a ConfigMap in the same namespace.' },
);

export const SSL_MODES = ['disable', 'require', 'verify-ca', 'verify-full'] as const;

export const RootCertSource = Type.Object(
  {
    secretKeyRef: Type.Optional(SecretKeyRef),
    configMapKeyRef: Type.Optional(ConfigMapKeyRef),
    file: Type.Optional(
      Type.String({ minLength: 1, description: 'CLI only: path of a PEM file with the CA certificate(s).' }),
    ),
  },
  {
    additionalProperties: false,
    minProperties: 1,
    maxProperties: 1,
    description:
      'The CA certificate(s), PEM, that sign the server certificate, for sslMode verify-ca and verify-full: ' +
      'a Secret or ConfigMap key in a cluster, a file for the CLI. Default: the public CAs Node.js trusts.',
  },
);

export const PasswordSource = Type.Object(
  {
    secretKeyRef: Type.Optional(SecretKeyRef),
    env: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z_][A-Za-z0-9_]*$',
        description: 'CLI only: name of the environment variable that holds the password.',
      }),
    ),
    file: Type.Optional(
      Type.String({ minLength: 1, description: 'CLI only: path of a file whose content is the password.' }),
    ),
  },
  {
    additionalProperties: false,
    minProperties: 1,
    maxProperties: 1,
    description:
      'Where the password comes from: a Secret in a cluster, an environment variable or a file for the CLI. ' +
      'Never inline. Required, except on the side a system move stage never connects to (spec.systemMove.stage ' +
      'Import: the source; Export: the target).',
  },
);

export const SOURCE_ENGINES = ['postgres', 'mssql', 'mysql'] as const;
export const TARGET_ENGINES = ['postgres'] as const;

const connectionFields = {
  host: Type.String({ minLength: 1, maxLength: 253, description: 'Host name or address of the server.' }),
  port: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 65535, description: 'TCP port; the engine default when omitted.' }),
  ),
  database: Identifier('Database to connect to.'),
  user: Identifier('User to connect as.'),
  // Optional in the schema only for the side a system move's stage never connects to (manifest.ts says where).
  password: Type.Optional(PasswordSource),
  schema: Type.Optional(
    Identifier('Schema that holds the tables (source) or receives them (target). Default: public.'),
  ),
  sslMode: Type.Optional(
    Enum(
      SSL_MODES,
      'TLS mode. disable: no TLS. require: TLS, the server certificate is not checked (encrypts, ' +
        'does not authenticate the server). verify-ca: TLS, the certificate must chain to sslRootCert. ' +
        'verify-full: verify-ca, and the certificate must name the host. Default: disable.',
    ),
  ),
  sslRootCert: Type.Optional(RootCertSource),
};

export const SourceConnection = Type.Object(
  { engine: Enum(SOURCE_ENGINES, 'Database engine of the source.'), ...connectionFields },
  {
    additionalProperties: false,
    description: 'The database the data comes from. Its data is never modified.',
  },
);

export const TargetConnection = Type.Object(
  { engine: Enum(TARGET_ENGINES, 'Database engine of the target.'), ...connectionFields },
  { additionalProperties: false, description: 'The database the data goes to.' },
);

export const SchemaMapping = Type.Object(
  {
    source: Identifier('Schema of the source to migrate.'),
    target: Type.Optional(Identifier('Schema that receives it on the target. Default: the source name.')),
  },
  { additionalProperties: false, description: 'One migrated schema and its name on the target.' },
);

export const MODES = ['Standard', 'DowntimeOptimized'] as const;
export const TRANSFER_METHODS = ['Pipe', 'Dump'] as const;
export const VALIDATIONS = ['None', 'Count', 'Checksum'] as const;

const Globs = (description: string) =>
  Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { maxItems: 1000, description });

export const TableSelection = Type.Object(
  {
    include: Type.Optional(
      Globs(
        'Glob patterns of table names to migrate (e.g. `orders`, `sales_*`; with spec.schemas, `schema.table` ' +
          'or a bare name matched in every schema). Default: all tables.',
      ),
    ),
    exclude: Type.Optional(Globs('Glob patterns of table names to leave out; applied after include.')),
  },
  { additionalProperties: false, description: 'Which tables of the source schema move.' },
);

export const DumpVolume = Type.Object(
  {
    claimName: Name(
      'PersistentVolumeClaim in the Migration namespace that holds the dump; every transfer Pod mounts it ' +
        '(ReadWriteMany, or ReadWriteOnce with the Pods on one node: spec.transferPod.nodeSelector).',
    ),
    path: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 253,
        // Relative, no segment starting with a dot (so no `..`): it stays inside the volume.
        pattern: '^[A-Za-z0-9_-][A-Za-z0-9._-]*(/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$',
        description:
          "Directory inside the volume for this migration's dump (created if missing; relative, no segment " +
          'starting with a dot). Default: the Migration name.',
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      'Dump method in a cluster (it or dumpDir is required with Dump): the PersistentVolumeClaim the dump ' +
      'directory lives on. A system move copies the directory to a volume of the importing cluster.',
  },
);

export const Transfer = Type.Object(
  {
    method: Type.Optional(
      Enum(
        TRANSFER_METHODS,
        'Pipe streams rows from source to target in memory; Dump exports to files and imports them. Default: Pipe.',
      ),
    ),
    tableGroups: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 256,
        description: 'How many table groups (one transfer worker or Pod each). Default: parallelism.',
      }),
    ),
    parallelism: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 64, description: 'How many groups transfer at once. Default: 4.' }),
    ),
    splitAbove: Type.Optional(
      Type.String({
        // Zero would cut a table into as many chunks as it has bytes; the minimum is checked on reading.
        pattern: '^0*[1-9][0-9]*(Ki|Mi|Gi|Ti|k|M|G|T)?$',
        maxLength: 20,
        description:
          'Tables whose heap is larger than this are cut into key ranges so several workers copy them ' +
          '(a quantity: 256Mi, 2Gi; at least 64Ki). A table copied whole lands frozen, so reading it ' +
          'afterwards writes nothing back. Default: 16Gi.',
      }),
    ),
    chunkRows: Type.Optional(
      Type.Integer({
        minimum: 1000,
        maximum: 100_000_000,
        description:
          'Target rows per chunk of a split table; each chunk commits with its progress. Default: 500000.',
      }),
    ),
    dumpDir: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'Dump method, ferry CLI (it or volume is required with Dump): directory that receives the exported files ' +
          'and the dump manifest (ferry-dump.json); a system move (ferry export, ferry import --from) carries it ' +
          'to the target side. Not in a cluster: use volume.',
      }),
    ),
    volume: Type.Optional(DumpVolume),
    overlap: Type.Optional(
      Type.Boolean({
        description:
          'Dump method: import each chunk as soon as its file is complete (true), or only after the whole ' +
          'export (false). Default: true.',
      }),
    ),
  },
  { additionalProperties: false, description: 'How the rows move.' },
);

export const SYSTEM_MOVE_STAGES = ['Export', 'Import'] as const;

export const SystemMove = Type.Object(
  {
    stage: Enum(
      SYSTEM_MOVE_STAGES,
      'Export: this Migration runs on the source side up to the dump (Preparation to Execution against the ' +
        'source only, then phase Exported): the source stays fenced, its shadow schema kept, until importCompleted ' +
        'confirms the import or spec.fallback. Import: this Migration continues from a copy of the dump against ' +
        'the target only (the source is never reached: no source password needed) and ends Completed; its status ' +
        'shows the export it came from. Both need method Dump and mode Standard, and the same namespace and name.',
    ),
    importCompleted: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description:
          "Export: set, once the Import Migration is Completed, to the export's id (status.systemMove.exportId, " +
          "shown by both Migrations): the source's shadow schema and write fence go and this Migration ends " +
          'Completed. An id of another export is refused.',
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      'DMO with system move: the migration runs as two Migrations, usually in two clusters, one exporting to ' +
      'a volume, one importing from a copy of it.',
  },
);

export const Uptime = Type.Object(
  {
    tables: Type.Optional(
      Globs(
        'DowntimeOptimized: tables copied in uptime (the large ones); the others move in the downtime. Default: all.',
      ),
    ),
  },
  { additionalProperties: false, description: 'DowntimeOptimized: what moves while the application runs.' },
);

export const Objects = Type.Object(
  {
    skipUnsupported: Type.Optional(
      Type.Boolean({
        description:
          'Migrate without the objects of the schema that ferry cannot move (rules, aggregates, a view on a table ' +
          'left out, a grant to a role missing on the target...): they are listed in the report as skipped. ' +
          'Default: false, Checks refuses the run and names each one.',
      }),
    ),
  },
  { additionalProperties: false, description: 'What happens to the schema objects besides the tables.' },
);

export const Cutover = Type.Object(
  {
    approved: Type.Optional(
      Type.Boolean({
        description:
          'DowntimeOptimized: set to true to start the downtime (fence, final delta, switch). A cutover that ' +
          'fails lifts the fence and returns to replaying; approve it again by setting false, then true.',
      }),
    ),
  },
  { additionalProperties: false, description: 'The downtime gate.' },
);

export const FENCE_MODES = ['Refuse', 'Detect'] as const;

export const Fence = Type.Object(
  {
    mode: Type.Optional(
      Enum(
        FENCE_MODES,
        'Refuse: from the start of the downtime (Standard: Execution; DowntimeOptimized: the approved cutover) ' +
          "triggers refuse the application's writes to the migrated tables until the migration completes or " +
          'falls back. Detect: for a source you guarantee quiet; writes are let through but make the run fail ' +
          'naming the tables. Default: Refuse.',
      ),
    ),
    waitSeconds: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 3600,
        description:
          'How long the fence waits for application transactions that wrote before it went up (ferry ends ' +
          'their sessions after 5 s where it may); past that the fence is lifted and the downtime does not ' +
          'start. Default: 60.',
      }),
    ),
  },
  { additionalProperties: false, description: 'How the source is kept from changing during the downtime.' },
);

export const TypeRule = Type.Object(
  {
    table: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 256,
        description: 'Glob of the table names the rule applies to.',
      }),
    ),
    column: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 256,
        description: 'Glob of the column names the rule applies to.',
      }),
    ),
    sourceType: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 1024,
        description:
          'The source type, whole (`tinyint(1)`, `bigint unsigned`, `decimal(10,2)`, `nvarchar(max)`) or by name ' +
          'alone (`enum`, `datetime`, `datetime2`: every column of that type). Display widths and zerofill are ignored.',
      }),
    ),
    targetType: Type.String({
      minLength: 1,
      maxLength: 128,
      pattern: '^[A-Za-z_][A-Za-z0-9_ ,.()\\[\\]]*$',
      description:
        'The PostgreSQL type the column becomes (`smallint`, `bigint`, `text`, `time`, `jsonb`...). A value it ' +
        'cannot hold is refused when read, naming its table, column and key.',
    }),
  },
  {
    additionalProperties: false,
    description:
      'A type mapping rule (like pgloader CAST rules): the columns matching every field given take targetType.',
  },
);

export const ZERO_DATES = ['Refuse', 'Nullify', 'Sentinel'] as const;
export const INVALID_CHARACTERS = ['Refuse', 'Replace'] as const;

export const Conversion = Type.Object(
  {
    zeroDates: Type.Optional(
      Enum(
        ZERO_DATES,
        "MySQL's zero dates (`0000-00-00`, `2024-00-10`), which PostgreSQL has not. Refuse: the run fails " +
          'naming table, column and key. Nullify: they become NULL (the columns lose NOT NULL). Sentinel: they ' +
          'become -infinity. Default: Refuse.',
      ),
    ),
    invalidCharacters: Type.Optional(
      Enum(
        INVALID_CHARACTERS,
        "Bytes that are not valid in the column's character set, unpaired UTF-16 surrogates (SQL Server), and NUL " +
          'characters (PostgreSQL text cannot hold them). Refuse: the run fails naming table, column and key. Replace: each becomes U+FFFD. ' +
          'Default: Refuse.',
      ),
    ),
  },
  {
    additionalProperties: false,
    description: 'MySQL and SQL Server sources: what happens to values PostgreSQL cannot hold as they are.',
  },
);

export const Toleration = Type.Object(
  {
    key: Type.Optional(Type.String()),
    operator: Type.Optional(Enum(['Exists', 'Equal'] as const, 'How the key is matched.')),
    value: Type.Optional(Type.String()),
    effect: Type.Optional(Enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute'] as const, 'Taint effect.')),
    tolerationSeconds: Type.Optional(Type.Integer()),
  },
  { additionalProperties: false, description: 'A Kubernetes toleration.' },
);

const Quantities = (description: string) =>
  Type.Record(Type.String(), Type.String({ pattern: '^[0-9.]+[A-Za-z]*$' }), { description });

export const TransferPod = Type.Object(
  {
    image: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'Image of the transfer Pods, which receive the passwords: refused unless the installation allows it ' +
          '(the chart value transferPod.allowedImages). Default: the operator image.',
      }),
    ),
    resources: Type.Optional(
      Type.Object(
        {
          requests: Type.Optional(Quantities('Minimum resources, e.g. cpu: 500m, memory: 256Mi.')),
          limits: Type.Optional(Quantities('Maximum resources.')),
        },
        { additionalProperties: false, description: 'Compute resources of the transfer container.' },
      ),
    ),
    nodeSelector: Type.Optional(
      Type.Record(Type.String(), Type.String(), { description: 'Node labels the transfer Pods must match.' }),
    ),
    tolerations: Type.Optional(Type.Array(Toleration, { description: 'Tolerations of the transfer Pods.' })),
  },
  { additionalProperties: false, description: 'Settings of the transfer Pods (cluster only).' },
);

export const MigrationSpec = Type.Object(
  {
    source: SourceConnection,
    target: TargetConnection,
    schemas: Type.Optional(
      Type.Array(SchemaMapping, {
        minItems: 1,
        maxItems: 100,
        description:
          'Several schemas migrated together, each optionally renamed on the target; references between them ' +
          'follow the renames. Excludes source.schema and target.schema.',
      }),
    ),
    mode: Type.Optional(
      Enum(MODES, 'Standard copies in the downtime; DowntimeOptimized copies in uptime and replays changes.'),
    ),
    tables: Type.Optional(TableSelection),
    objects: Type.Optional(Objects),
    transfer: Type.Optional(Transfer),
    systemMove: Type.Optional(SystemMove),
    validation: Type.Optional(
      Enum(VALIDATIONS, 'How the target is compared with the source after the load. Default: Checksum.'),
    ),
    uptime: Type.Optional(Uptime),
    cutover: Type.Optional(Cutover),
    fence: Type.Optional(Fence),
    typeMap: Type.Optional(
      Type.Array(TypeRule, {
        maxItems: 1000,
        description:
          'MySQL and SQL Server sources: rules overriding the default type map (README: MySQL and MariaDB sources, ' +
          'SQL Server sources); the first ' +
          'rule matching a column applies.',
      }),
    ),
    conversion: Type.Optional(Conversion),
    fallback: Type.Optional(
      Type.Boolean({
        description:
          'Set to true to roll back: drop what ferry created on both sides. The source stays as it was.',
      }),
    ),
    transferPod: Type.Optional(TransferPod),
  },
  { additionalProperties: false, description: 'What to migrate, where to, and how.' },
);

export const MigrationMetadata = Type.Object(
  {
    name: Type.String({
      minLength: 1,
      maxLength: 40,
      pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$',
      description: 'Name of the migration; it names the shadow schema (ferry_<name>).',
    }),
    namespace: Type.Optional(Type.String()),
    uid: Type.Optional(
      Type.String({ description: "Set by Kubernetes; recorded as the owner of ferry's schemas." }),
    ),
  },
  // A manifest written for kubectl may carry labels, annotations and the like: the CLI ignores them.
  { additionalProperties: true },
);

export const MigrationManifest = Type.Object(
  {
    apiVersion: Type.Literal(`${API_GROUP}/${API_VERSION}`),
    kind: Type.Literal(MIGRATION_KIND),
    metadata: MigrationMetadata,
    spec: MigrationSpec,
  },
  { additionalProperties: true },
);

export type SecretKeyRef = Static<typeof SecretKeyRef>;
export type PasswordSource = Static<typeof PasswordSource>;
export type RootCertSource = Static<typeof RootCertSource>;
export type SslMode = (typeof SSL_MODES)[number];
export type SourceConnection = Static<typeof SourceConnection>;
export type TargetConnection = Static<typeof TargetConnection>;
export type Connection = SourceConnection | TargetConnection;
export type SchemaMapping = Static<typeof SchemaMapping>;
export type MigrationSpec = Static<typeof MigrationSpec>;
export type MigrationManifest = Static<typeof MigrationManifest>;
export type Mode = (typeof MODES)[number];
export type TransferMethod = (typeof TRANSFER_METHODS)[number];
export type SystemMoveStage = (typeof SYSTEM_MOVE_STAGES)[number];
export type Validation = (typeof VALIDATIONS)[number];
export type FenceMode = (typeof FENCE_MODES)[number];
export type TypeRule = Static<typeof TypeRule>;
export type ZeroDates = (typeof ZERO_DATES)[number];
export type InvalidCharacters = (typeof INVALID_CHARACTERS)[number];
export type AnySchema = TSchema;

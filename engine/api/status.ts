// Status of a Migration and the TableGroup resource: like the spec, one TypeBox definition gives
// the CRD schema and the TypeScript types.
import { Type, type Static } from '@sinclair/typebox';

export const MIGRATION_PHASES = [
  'Pending',
  'Preparation',
  'Extraction',
  'Configuration',
  'Checks',
  'PreProcessing',
  'Execution',
  'PostProcessing',
  /** A system move's Export stage: the dump is complete; waiting for spec.systemMove.importCompleted (or a fallback). */
  'Exported',
  'Completed',
  'Failed',
  'RollingBack',
  'RolledBack',
] as const;
export type MigrationPhase = (typeof MIGRATION_PHASES)[number];

const Enum = <T extends string>(values: readonly T[], description: string) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    { description },
  );

const Time = (description: string) => Type.String({ format: 'date-time', description });

export const Condition = Type.Object(
  {
    type: Type.String({ description: 'Ready, Progressing, Degraded or CutoverReady.' }),
    status: Enum(['True', 'False', 'Unknown'] as const, 'Whether the condition holds.'),
    reason: Type.String({ description: 'A CamelCase reason (see operator/conditions.ts for the values).' }),
    message: Type.String({ description: 'Human-readable details.' }),
    observedGeneration: Type.Integer({ description: 'The spec generation the condition was computed from.' }),
    lastTransitionTime: Time('When the status last changed.'),
  },
  { description: 'A standard Kubernetes condition.' },
);

export const Progress = Type.Object(
  {
    rows: Type.Integer({ description: 'Rows copied so far.' }),
    bytes: Type.Integer({ description: 'Bytes streamed so far.' }),
    percent: Type.Number({ description: 'Share of the estimated data copied, 0-100.' }),
    etaSeconds: Type.Optional(Type.Integer({ description: 'Estimated seconds left.' })),
    bytesPerSecond: Type.Optional(Type.Integer({ description: 'Recent transfer rate.' })),
  },
  { description: 'Transfer progress.' },
);

export const ExportRecord = Type.Object(
  {
    migration: Type.String({ description: 'namespace/name of the Migration that exported it.' }),
    exportId: Type.String({ description: "The export id (the exporting Migration's uid)." }),
    source: Type.String({ description: 'host:port/database of the source it was exported from.' }),
    createdAt: Time('When the export started.'),
    exportedAt: Time('When the last chunk file was written.'),
    chunks: Type.Integer({ description: 'Chunk files.' }),
    rows: Type.Integer({ description: 'Rows exported.' }),
    bytes: Type.Integer({ description: 'Size of the chunk files (compressed).' }),
  },
  { description: 'The export stage, as its dump manifest (ferry-dump.json) records it.' },
);

export const SystemMoveStatus = Type.Object(
  {
    stage: Enum(['Export', 'Import'] as const, 'The stage this Migration runs.'),
    volume: Type.String({ description: 'The dump directory: claim/path on the volume.' }),
    exportId: Type.Optional(
      Type.String({
        description:
          'The export id; the Export Migration completes once spec.systemMove.importCompleted names it.',
      }),
    ),
    export: Type.Optional(ExportRecord),
    importedAt: Type.Optional(Time('Import: when the import completed (validated against the export).')),
  },
  { description: 'A system move: this stage, and (Import) the export it continues.' },
);

export const MigrationStatus = Type.Object(
  {
    phase: Type.Optional(Enum(MIGRATION_PHASES, 'Where the migration stands.')),
    observedGeneration: Type.Optional(Type.Integer({ description: 'The spec generation last acted on.' })),
    startedAt: Type.Optional(Time('When the migration started.')),
    phases: Type.Optional(
      Type.Array(
        Type.Object({
          phase: Type.String({ description: 'A DMO phase.' }),
          startedAt: Time('Start.'),
          endedAt: Type.Optional(Time('End.')),
        }),
        { description: 'Phase history with start and end times.' },
      ),
    ),
    conditions: Type.Optional(
      Type.Array(Condition, { description: 'Ready, Progressing, Degraded, CutoverReady.' }),
    ),
    progress: Type.Optional(Progress),
    progressText: Type.Optional(
      Type.String({ description: 'Progress for the printer column, e.g. 42% (3/8 groups).' }),
    ),
    groups: Type.Optional(
      Type.Array(
        Type.Object({
          name: Type.String({ description: 'TableGroup name.' }),
          phase: Type.String({ description: 'TableGroup phase.' }),
          percent: Type.Number({ description: 'Share of the group copied.' }),
        }),
        { description: 'Per-group progress.' },
      ),
    ),
    lag: Type.Optional(
      Type.Object(
        {
          pending: Type.Integer({ description: 'Recorded changes not yet replayed.' }),
          oldestSeconds: Type.Number({ description: 'Age of the oldest pending change.' }),
        },
        { description: 'DowntimeOptimized: the replay lag.' },
      ),
    ),
    downtimeSeconds: Type.Optional(Type.Number({ description: 'Measured downtime, source lock to done.' })),
    downtime: Type.Optional(Type.String({ description: 'Measured downtime for the printer column.' })),
    lastError: Type.Optional(
      Type.Object(
        {
          message: Type.String({ description: 'The error.' }),
          table: Type.Optional(Type.String({ description: 'The table at fault, when there is one.' })),
          phase: Type.Optional(Type.String({ description: 'The phase it happened in.' })),
        },
        { description: 'The last error.' },
      ),
    ),
    systemMove: Type.Optional(SystemMoveStatus),
    report: Type.Optional(
      Type.Array(
        Type.Object({
          table: Type.String(),
          rows: Type.Integer(),
          seconds: Type.Number(),
        }),
        { description: 'Per-table rows and durations of the finished transfer.' },
      ),
    ),
  },
  { description: 'Observed state of the migration, written by the operator.' },
);

export const TableGroupSpec = Type.Object(
  {
    migration: Type.String({ description: 'The Migration this group belongs to.' }),
    group: Type.Integer({ minimum: 1, description: 'Group number in the migration plan.' }),
    tables: Type.Array(Type.String(), { description: 'Tables with chunks in this group.' }),
    chunks: Type.Array(
      Type.Object({
        id: Type.String({ description: 'Chunk id.' }),
        table: Type.String({ description: 'Table.' }),
        range: Type.String({ description: 'Key or page range.' }),
      }),
      { description: 'The chunks (key ranges) this group copies.' },
    ),
  },
  { description: 'A set of table chunks copied by one transfer Pod.' },
);

export const TableGroupStatus = Type.Object(
  {
    phase: Type.Optional(
      Enum(['Pending', 'Running', 'Succeeded', 'Failed'] as const, 'Where the group stands.'),
    ),
    pod: Type.Optional(Type.String({ description: 'The current transfer Pod.' })),
    attempts: Type.Optional(Type.Integer({ description: 'Transfer Pods started so far.' })),
    message: Type.Optional(Type.String({ description: 'Why the last attempt failed.' })),
    tables: Type.Optional(
      Type.Array(
        Type.Object({
          table: Type.String(),
          chunksDone: Type.Integer(),
          chunks: Type.Integer(),
          rows: Type.Integer(),
        }),
        { description: 'Per-table progress.' },
      ),
    ),
  },
  { description: 'Observed state of the group.' },
);

export type MigrationStatus = Static<typeof MigrationStatus>;
export type Condition = Static<typeof Condition>;
export type ExportRecord = Static<typeof ExportRecord>;
export type SystemMoveStatus = Static<typeof SystemMoveStatus>;
export type TableGroupSpec = Static<typeof TableGroupSpec>;
export type TableGroupStatus = Static<typeof TableGroupStatus>;

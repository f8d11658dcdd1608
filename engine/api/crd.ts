// The CRDs, generated from the same TypeBox definitions the engine and operator use. Pure:
// hack/generate.ts writes the result to crds/ and the chart, and a test fails when the checked-in files are stale.
import type { TSchema } from '@sinclair/typebox';
import { API_GROUP, API_VERSION, MIGRATION_KIND, MigrationSpec } from './migration.ts';
import { MigrationStatus, TableGroupSpec, TableGroupStatus } from './status.ts';

type Json = Record<string, unknown>;

/**
 * A TypeBox schema as a structural OpenAPI schema: unions of literals become enums, records become
 * additionalProperties, and `additionalProperties: false` is dropped (the apiserver prunes or, with
 * kubectl's strict field validation, rejects unknown fields by itself).
 */
export function structural(schema: TSchema): Json {
  const s = schema as Json;
  const out: Json = {};
  if (s['description']) out['description'] = s['description'];
  const anyOf = s['anyOf'] as TSchema[] | undefined;
  if (anyOf) {
    const values = anyOf.map((x) => (x as Json)['const']);
    if (values.every((v) => typeof v === 'string')) return { ...out, type: 'string', enum: values };
    throw new Error('only unions of string literals map to a structural schema');
  }
  if (s['const'] !== undefined) return { ...out, type: typeof s['const'], enum: [s['const']] };
  out['type'] = s['type'];
  for (const k of [
    'minimum',
    'maximum',
    'minLength',
    'maxLength',
    'pattern',
    'format',
    'minItems',
    'maxItems',
    'minProperties',
    'maxProperties',
  ])
    if (s[k] !== undefined) out[k] = s[k];
  if (s['type'] === 'array') out['items'] = structural(s['items'] as TSchema);
  if (s['type'] === 'object') {
    const pattern = s['patternProperties'] as Record<string, TSchema> | undefined;
    if (pattern) out['additionalProperties'] = structural(Object.values(pattern)[0]!);
    const props = s['properties'] as Record<string, TSchema> | undefined;
    if (props)
      out['properties'] = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, structural(v)]));
    const required = s['required'] as string[] | undefined;
    if (required?.length) out['required'] = required;
  }
  return out;
}

function crd(opts: {
  kind: string;
  plural: string;
  shortNames: string[];
  description: string;
  spec: TSchema;
  status: TSchema;
  columns: { name: string; type: string; jsonPath: string; description: string; priority?: number }[];
  rules?: { rule: string; message: string }[];
}): Json {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${opts.plural}.${API_GROUP}` },
    spec: {
      group: API_GROUP,
      names: {
        kind: opts.kind,
        listKind: `${opts.kind}List`,
        plural: opts.plural,
        singular: opts.kind.toLowerCase(),
        shortNames: opts.shortNames,
        categories: ['ferry'],
      },
      scope: 'Namespaced',
      versions: [
        {
          name: API_VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: opts.columns,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: opts.description,
              properties: {
                apiVersion: { type: 'string', description: 'APIVersion of this object.' },
                kind: { type: 'string', description: 'Kind of this object.' },
                metadata: { type: 'object' },
                spec: structural(opts.spec),
                status: structural(opts.status),
              },
              required: ['spec'],
              ...(opts.rules ? { 'x-kubernetes-validations': opts.rules } : {}),
            },
          },
        },
      ],
    },
  };
}

const STARTED = "has(oldSelf.status) && has(oldSelf.status.phase) && oldSelf.status.phase != 'Pending'";
// Optional fields as values CEL can compare ('' when absent).
const stage = (o: string) => `(has(${o}.spec.systemMove) ? ${o}.spec.systemMove.stage : '')`;
const volume = (o: string) =>
  `(has(${o}.spec.transfer) && has(${o}.spec.transfer.volume) ? ${o}.spec.transfer.volume.claimName + '/' + (has(${o}.spec.transfer.volume.path) ? ${o}.spec.transfer.volume.path : '') : '')`;
const method =
  "(has(self.spec.transfer) && has(self.spec.transfer.method) ? self.spec.transfer.method : 'Pipe')";

export const migrationCrd = (): Json =>
  crd({
    kind: MIGRATION_KIND,
    plural: 'migrations',
    shortNames: ['mig'],
    description:
      'A database migration run the way SAP DMO runs one: phases, a shadow schema on the source, table groups, fallback at any phase.',
    spec: MigrationSpec,
    status: MigrationStatus,
    columns: [
      {
        name: 'Phase',
        type: 'string',
        jsonPath: '.status.phase',
        description: 'Where the migration stands.',
      },
      {
        name: 'Progress',
        type: 'string',
        jsonPath: '.status.progressText',
        description: 'Transfer progress.',
      },
      {
        name: 'Mode',
        type: 'string',
        jsonPath: '.spec.mode',
        description: 'Standard or DowntimeOptimized.',
        priority: 1,
      },
      { name: 'Downtime', type: 'string', jsonPath: '.status.downtime', description: 'Measured downtime.' },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Age.' },
    ],
    rules: [
      {
        rule: `!(${STARTED}) || (self.spec.source == oldSelf.spec.source && self.spec.target == oldSelf.spec.target)`,
        message:
          'spec.source and spec.target cannot change once the migration has started; fall back and create a new Migration',
      },
      {
        rule: `!(${STARTED}) || (${stage('self')} == ${stage('oldSelf')} && ${volume('self')} == ${volume('oldSelf')})`,
        message:
          'spec.systemMove.stage and spec.transfer.volume cannot change once the migration has started; fall back and create a new Migration',
      },
      ...(['source', 'target'] as const).map((role) => {
        const stageWithout = role === 'source' ? 'Import' : 'Export';
        return {
          rule: `has(self.spec.${role}.password) || ${stage('self')} == '${stageWithout}'`,
          message: `spec.${role}.password: required (only spec.systemMove.stage ${stageWithout}, which never connects to the ${role}, goes without)`,
        };
      }),
      {
        rule: `${method} != 'Dump' || ${volume('self')} != ''`,
        message:
          'spec.transfer.volume: required with method Dump in a cluster (the PersistentVolumeClaim the transfer Pods mount)',
      },
      {
        rule: '!has(self.spec.transfer) || !has(self.spec.transfer.dumpDir)',
        message:
          'spec.transfer.dumpDir: a path on the machine of the ferry CLI; in a cluster the dump lives on a volume (spec.transfer.volume)',
      },
      {
        rule: `!has(self.spec.systemMove) || ${method} == 'Dump'`,
        message: 'spec.systemMove: a system move carries a dump: it needs spec.transfer.method: Dump',
      },
    ],
  });

export const tableGroupCrd = (): Json =>
  crd({
    kind: 'TableGroup',
    plural: 'tablegroups',
    shortNames: ['tg'],
    description:
      'A group of table chunks of a Migration, copied by one transfer Pod. Created by the operator.',
    spec: TableGroupSpec,
    status: TableGroupStatus,
    columns: [
      { name: 'Migration', type: 'string', jsonPath: '.spec.migration', description: 'Owning migration.' },
      { name: 'Group', type: 'integer', jsonPath: '.spec.group', description: 'Group number.' },
      { name: 'Phase', type: 'string', jsonPath: '.status.phase', description: 'Where the group stands.' },
      { name: 'Pod', type: 'string', jsonPath: '.status.pod', description: 'Current transfer Pod.' },
      { name: 'Attempts', type: 'integer', jsonPath: '.status.attempts', description: 'Pods started.' },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Age.' },
    ],
  });

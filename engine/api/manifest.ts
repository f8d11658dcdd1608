// Reading a Migration manifest: YAML in, a validated manifest out, or one error that lists every
// problem by its field path (`spec.transfer.parallelism: must be <= 64`).
import { Value, type ValueError } from '@sinclair/typebox/value';
import { ValueErrorType } from '@sinclair/typebox/errors';
import { parseAllDocuments } from 'yaml';
import { MIGRATION_KIND, MigrationManifest } from './migration.ts';
import type { AnySchema } from './migration.ts';
import { parseQuantity } from './settings.ts';

export class SpecError extends Error {
  readonly problems: string[];
  constructor(origin: string, problems: string[]) {
    super(`${origin}: invalid Migration\n  ${problems.join('\n  ')}`);
    this.name = 'SpecError';
    this.problems = problems;
  }
}

const fieldPath = (pointer: string) =>
  pointer
    .split('/')
    .slice(1)
    .map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'))
    .join('.') || '(document)';

/** Levenshtein distance, to suggest the field a misspelled one meant. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

function knownFields(schema: AnySchema): string[] {
  return schema['properties'] ? Object.keys(schema['properties'] as object) : [];
}

function describe(error: ValueError): string | undefined {
  const path = fieldPath(error.path);
  const schema = error.schema;
  switch (error.type) {
    case ValueErrorType.ObjectAdditionalProperties:
      return undefined; // reported per property below
    case ValueErrorType.ObjectRequiredProperty:
      return `${path}: required`;
    case ValueErrorType.Union: {
      const options = (schema['anyOf'] as AnySchema[] | undefined)
        ?.map((s) => s['const'])
        .filter((c) => c !== undefined);
      if (options?.length)
        return `${path}: must be one of ${options.join(', ')} (got ${JSON.stringify(error.value)})`;
      return `${path}: ${error.message}`;
    }
    case ValueErrorType.Literal:
      return `${path}: must be ${JSON.stringify(schema['const'])} (got ${JSON.stringify(error.value)})`;
    case ValueErrorType.ObjectMinProperties:
    case ValueErrorType.ObjectMaxProperties:
      if (schema['maxProperties'] === 1)
        return `${path}: give exactly one of ${knownFields(schema).join(', ')}`;
      return `${path}: ${error.message}`;
    default:
      return `${path}: ${error.message.toLowerCase()}`;
  }
}

/** Unknown fields, found by walking the value against the schema, with a "did you mean" hint. */
function unknownFields(schema: AnySchema, value: unknown, path: string[], out: string[]): void {
  if (typeof value !== 'object' || value === null) return;
  if (Array.isArray(value)) {
    const items = schema['items'] as AnySchema | undefined;
    if (items) value.forEach((v, i) => unknownFields(items, v, [...path, String(i)], out));
    return;
  }
  const props = schema['properties'] as Record<string, AnySchema> | undefined;
  if (!props) return;
  for (const [key, v] of Object.entries(value)) {
    const sub = props[key];
    if (sub) unknownFields(sub, v, [...path, key], out);
    else if (schema['additionalProperties'] === false) {
      const near = Object.keys(props)
        .map((k) => [k, distance(k.toLowerCase(), key.toLowerCase())] as const)
        .filter(([, d]) => d <= 2)
        .sort((a, b) => a[1] - b[1])[0];
      out.push(`${[...path, key].join('.')}: unknown field${near ? ` (did you mean ${near[0]}?)` : ''}`);
    }
  }
}

/** Smallest splitAbove: below 8 pages a table would be cut into about as many chunks as it has rows. */
export const MIN_SPLIT_ABOVE = '64Ki';

/** Bounds a JSON-schema rule cannot state: quantities compared by value. */
function limits(doc: unknown): string[] {
  const splitAbove = (doc as { spec?: { transfer?: { splitAbove?: unknown } } } | null)?.spec?.transfer
    ?.splitAbove;
  if (typeof splitAbove !== 'string' || !/^[0-9]+(Ki|Mi|Gi|Ti|k|M|G|T)?$/.test(splitAbove)) return [];
  if (parseQuantity(splitAbove) >= parseQuantity(MIN_SPLIT_ABOVE)) return [];
  return [
    `spec.transfer.splitAbove: must be at least ${MIN_SPLIT_ABOVE} (got ${splitAbove}); smaller would cut tables into about one chunk per row`,
  ];
}

/** A CA only means something to the modes that check the certificate. */
function tls(doc: unknown): string[] {
  const spec = (doc as { spec?: Record<string, unknown> } | null)?.spec;
  return (['source', 'target'] as const).flatMap((role) => {
    const c = spec?.[role] as { sslMode?: unknown; sslRootCert?: unknown } | undefined;
    if (c?.sslRootCert === undefined || c.sslMode === 'verify-ca' || c.sslMode === 'verify-full') return [];
    return [
      `spec.${role}.sslRootCert: only used with sslMode verify-ca or verify-full (got sslMode ${JSON.stringify(c.sslMode ?? 'disable')}, which does not check the certificate)`,
    ];
  });
}

/**
 * spec.schemas: excludes source.schema/target.schema; no schema twice on either side; no target named
 * like ferry's own schemas (fallback drops those).
 */
export function schemaProblems(doc: unknown): string[] {
  const spec = (doc as { spec?: Record<string, unknown> } | null)?.spec;
  const list = spec?.schemas;
  if (!Array.isArray(list)) return [];
  const problems: string[] = [];
  for (const side of ['source', 'target'])
    if (typeof (spec?.[side] as { schema?: unknown } | undefined)?.schema === 'string')
      problems.push(`spec.${side}.schema: not allowed together with spec.schemas (name the schemas there)`);
  const pairs = list.flatMap((p: unknown, i) => {
    const { source, target } = (p ?? {}) as { source?: unknown; target?: unknown };
    if (typeof source !== 'string' || (target !== undefined && typeof target !== 'string')) return [];
    return [{ i, source, target: target ?? source }];
  });
  const seen = { source: new Map<string, number>(), target: new Map<string, number>() };
  for (const p of pairs) {
    if (p.target.startsWith('ferry_'))
      problems.push(
        `spec.schemas[${p.i}].target: ${p.target} is named like ferry's own schemas (ferry_*), which fallback drops: choose another target schema`,
      );
    const src = seen.source.get(p.source);
    if (src !== undefined)
      problems.push(
        `spec.schemas[${p.i}].source: schema ${p.source} is already migrated by spec.schemas[${src}]`,
      );
    else seen.source.set(p.source, p.i);
    const dst = seen.target.get(p.target);
    if (dst !== undefined)
      problems.push(
        `spec.schemas[${p.i}].target: schema ${p.target} already receives spec.schemas[${dst}]; two source schemas cannot go into one target schema`,
      );
    else seen.target.set(p.target, p.i);
  }
  return problems;
}

type Spec = {
  transfer?: Record<string, unknown>;
  systemMove?: { stage?: unknown; importCompleted?: unknown };
  mode?: unknown;
  source?: { password?: unknown; engine?: unknown };
  target?: { password?: unknown };
} | null;

/** The dump directory goes with the Dump method, and only with it: a path (CLI) or a volume (cluster). */
function dump(doc: unknown): string[] {
  const spec = (doc as { spec?: Spec } | null)?.spec;
  const t = spec?.transfer;
  if (t?.method === 'Dump') {
    // The export reads each chunk and measures it in one PostgreSQL snapshot (SourceSession.exportChunk).
    const engine = spec?.source?.engine;
    if (engine !== undefined && engine !== 'postgres')
      return [
        `spec.transfer.method: Dump needs a postgres source (a ${String(engine)} source cannot yet export a chunk with its digest from one snapshot); use method Pipe`,
      ];
    if (t.dumpDir === undefined && t.volume === undefined)
      return [
        'spec.transfer: method Dump needs the directory that receives the files: dumpDir (a path, ferry CLI) or volume (a PersistentVolumeClaim, in a cluster)',
      ];
    if (t.dumpDir !== undefined && t.volume !== undefined)
      return ['spec.transfer.volume: give dumpDir (ferry CLI) or volume (in a cluster), not both'];
    return [];
  }
  return (['dumpDir', 'volume', 'overlap'] as const)
    .filter((f) => t?.[f] !== undefined)
    .map(
      (f) =>
        `spec.transfer.${f}: only used with method Dump (got method ${JSON.stringify(t?.method ?? 'Pipe')})`,
    );
}

/** The side a system move's stage never connects to: its password is not needed there. */
export const offlineSide = (stage: unknown): 'source' | 'target' | undefined =>
  stage === 'Import' ? 'source' : stage === 'Export' ? 'target' : undefined;

/** A system move: a dump carried between its stages, a mode that ends with one database, passwords where connected. */
function systemMove(doc: unknown): string[] {
  const spec = (doc as { spec?: Spec } | null)?.spec;
  const move = spec?.systemMove;
  const stage = move?.stage;
  const problems: string[] = [];
  if (move && typeof move === 'object') {
    if (spec?.transfer?.method !== 'Dump')
      problems.push(
        'spec.systemMove: a system move carries a dump from one side to the other: it needs spec.transfer.method: Dump',
      );
    if (spec?.mode === 'DowntimeOptimized')
      problems.push(
        'spec.systemMove: mode DowntimeOptimized cannot be moved: its replay needs both databases up to the cutover; use mode Standard',
      );
    if (spec?.transfer?.overlap !== undefined)
      problems.push(
        'spec.transfer.overlap: a system move exports on one side and imports on the other, one after the other: nothing overlaps',
      );
    if (move.importCompleted !== undefined && stage !== 'Export')
      problems.push(
        'spec.systemMove.importCompleted: only the Export stage waits for the confirmation of its import',
      );
  }
  for (const role of ['source', 'target'] as const) {
    const c = spec?.[role];
    if (typeof c !== 'object' || c === null || c.password !== undefined || offlineSide(stage) === role)
      continue;
    const except = role === 'source' ? 'Import' : 'Export';
    problems.push(
      `spec.${role}.password: required (only spec.systemMove.stage ${except}, which never connects to the ${role}, goes without)`,
    );
  }
  return problems;
}

/** spec.typeMap and spec.conversion speak of MySQL and SQL Server types; a rule must say which columns it is for. */
function typeMapProblems(doc: unknown): string[] {
  const spec = (doc as { spec?: Record<string, unknown> } | null)?.spec;
  const engine = (spec?.['source'] as { engine?: unknown } | undefined)?.engine;
  const problems: string[] = [];
  for (const field of ['typeMap', 'conversion'])
    if (spec?.[field] !== undefined && engine !== 'mysql' && engine !== 'mssql')
      problems.push(
        `spec.${field}: only for a mysql or mssql source (a ${String(engine)} source keeps its types)`,
      );
  const rules = spec?.['typeMap'];
  if (Array.isArray(rules))
    rules.forEach((r: unknown, i) => {
      const rule = (r ?? {}) as Record<string, unknown>;
      if (typeof r === 'object' && ['table', 'column', 'sourceType'].every((k) => rule[k] === undefined))
        problems.push(
          `spec.typeMap[${i}]: give at least one of table, column, sourceType (a rule for every column is not allowed)`,
        );
    });
  return problems;
}

export function validateManifest(doc: unknown, origin: string): MigrationManifest {
  const problems = [
    ...limits(doc),
    ...tls(doc),
    ...schemaProblems(doc),
    ...dump(doc),
    ...systemMove(doc),
    ...typeMapProblems(doc),
  ];
  if (Value.Check(MigrationManifest, doc) && !problems.length) return doc;
  unknownFields(MigrationManifest, doc, [], problems);
  // A field already refused by a limit is not reported a second time by its pattern.
  const named = new Set(problems.map((p) => p.split(':')[0]));
  for (const e of Value.Errors(MigrationManifest, doc)) {
    const text = describe(e);
    if (text && !problems.includes(text) && !named.has(text.split(':')[0])) problems.push(text);
  }
  throw new SpecError(origin, problems);
}

/** Parses the YAML text of a manifest file (which may hold other documents, e.g. Secrets). */
export function parseManifest(text: string, origin: string): MigrationManifest {
  const docs = parseAllDocuments(text);
  const values: unknown[] = [];
  for (const d of docs) {
    if (d.errors.length)
      throw new SpecError(
        origin,
        d.errors.map((e) => `YAML: ${e.message}`),
      );
    values.push(d.toJS());
  }
  const migrations = values.filter(
    (v) => typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === MIGRATION_KIND,
  );
  if (migrations.length !== 1)
    throw new SpecError(origin, [
      `expected exactly one document of kind ${MIGRATION_KIND}, found ${migrations.length}`,
    ]);
  return validateManifest(migrations[0], origin);
}

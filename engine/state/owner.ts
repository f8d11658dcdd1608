// Who owns ferry's schemas. The shadow schema on the source, the bookkeeping schema on the target
// and a target schema ferry created each carry a marker (their COMMENT) naming the migration that
// made them: namespace, name, uid, and where it moves data from and to. Two Migrations named alike
// in two namespaces share the schema name `ferry_<name>`, so the name alone cannot tell whose a
// schema is; the marker can, and nothing is dropped or resumed on someone else's behalf. Pure.
import type { Settings } from '../api/settings.ts';

export interface Owner {
  /** metadata.namespace; empty when the manifest has none (the CLI). */
  namespace: string;
  name: string;
  /** The Kubernetes uid, or (CLI) a run id generated when the shadow schema was created. */
  uid: string;
  /** host:port/database of each side. */
  source: string;
  sourceSchema: string;
  target: string;
  targetSchema: string;
}

/** A marker written by ferry before owners were recorded: only the migration's name is known. */
export interface LegacyOwner {
  legacy: true;
  name: string;
}

export type Recorded = Owner | LegacyOwner;

/** The manifest's side of the question: without a uid (the CLI) any run of the same namespace/name is its own. */
export type Claimant = Omit<Owner, 'uid'> & { uid: string | undefined };

export const SHADOW_MARKER = 'ferry shadow schema';
export const BOOKKEEPING_MARKER = 'ferry bookkeeping';
export const TARGET_SCHEMA_MARKER = 'ferry target schema';
export type MarkerKind = typeof SHADOW_MARKER | typeof BOOKKEEPING_MARKER | typeof TARGET_SCHEMA_MARKER;

const at = (c: Settings['source']) => `${c.host}:${c.port}/${c.database}`;

/** Several schemas are recorded as one list, `sales, billing`: a fallback must name the same ones in the same order. */
const schemaList = (s: Settings, side: 'source' | 'target') => s.schemas.map((p) => p[side]).join(', ');

export function claimantOf(s: Settings): Claimant {
  return {
    namespace: s.namespace ?? '',
    name: s.name,
    uid: s.uid,
    source: at(s.source),
    sourceSchema: s.schemas.length > 1 ? schemaList(s, 'source') : s.source.schema,
    target: at(s.target),
    targetSchema: s.schemas.length > 1 ? schemaList(s, 'target') : s.target.schema,
  };
}

/** The owner a new shadow schema records: the manifest's uid, or the run id the CLI made up. */
export const ownerOf = (s: Settings, runId: string): Owner => ({ ...claimantOf(s), uid: s.uid ?? runId });

export const isLegacy = (r: Recorded): r is LegacyOwner => 'legacy' in r;

export function describeOwner(r: Recorded | Claimant): string {
  if ('legacy' in r) return `migration ${r.name} (recorded by an earlier ferry: name only)`;
  const who = r.namespace ? `${r.namespace}/${r.name}` : r.name;
  return `migration ${who}${r.uid ? ` (uid ${r.uid})` : ''}`;
}

/** Whether a recorded owner is the manifest's migration. State of an earlier ferry matches by name, as it did then. */
export function isOwnedBy(r: Recorded, c: Claimant): boolean {
  if (isLegacy(r)) return r.name === c.name;
  return r.name === c.name && r.namespace === c.namespace && (c.uid === undefined || r.uid === c.uid);
}

/** Whether a marker on the target is the one this (recorded) owner wrote: every identifying field equal. */
export function sameOwner(a: Recorded, b: Recorded): boolean {
  if (isLegacy(a) || isLegacy(b)) return isLegacy(a) && isLegacy(b) && a.name === b.name;
  return a.namespace === b.namespace && a.name === b.name && a.uid === b.uid;
}

/** "started for X, manifest says Y" when the manifest's target or source schema moved since the start. */
export function whereMismatch(r: Owner, c: Claimant): string | undefined {
  if (r.target === c.target && r.targetSchema === c.targetSchema && r.sourceSchema === c.sourceSchema)
    return undefined;
  return `started for ${whereText(r)}, the manifest says ${whereText(c)}`;
}

export const whereText = (o: Owner | Claimant) =>
  `target ${o.target} schema ${o.targetSchema} from source schema ${o.sourceSchema}`;

/** A legacy owner (a run an earlier ferry started, resumed now) is marked the way that ferry did. */
export const markerComment = (kind: MarkerKind, o: Recorded) =>
  `${kind} of migration ${o.name}` + (isLegacy(o) ? '' : `; owner ${JSON.stringify(o)}`);

export const foreignShadow = (schema: string, owner: Recorded, claimant: Claimant) =>
  `the source holds the shadow schema ${schema} of ${describeOwner(owner)}; this manifest is ${describeOwner(claimant)}. ` +
  "Both would share ferry's state: complete or fall back the other migration first, or rename this one";

export class ForeignShadowError extends Error {
  override name = 'ForeignShadowError';
  constructor(schema: string, owner: Recorded, claimant: Claimant) {
    super(foreignShadow(schema, owner, claimant));
  }
}

const OWNER_FIELDS = [
  'namespace',
  'name',
  'uid',
  'source',
  'sourceSchema',
  'target',
  'targetSchema',
] as const;

/** The owner a schema comment names; undefined when it is not (or no longer) ferry's marker of this kind. */
export function parseMarker(kind: MarkerKind, comment: string | null | undefined): Recorded | undefined {
  const prefix = `${kind} of migration `;
  if (!comment?.startsWith(prefix)) return undefined;
  const rest = comment.slice(prefix.length);
  const name = rest.split(';')[0]!.trim();
  const i = rest.indexOf('; owner ');
  if (i < 0) return name ? { legacy: true, name } : undefined;
  try {
    const o = JSON.parse(rest.slice(i + '; owner '.length)) as Record<string, unknown>;
    if (OWNER_FIELDS.every((f) => typeof o[f] === 'string') && o['name'] === name)
      return Object.fromEntries(OWNER_FIELDS.map((f) => [f, o[f]])) as unknown as Owner;
  } catch {
    // an edited comment is no marker: the schema is not treated as ferry's
  }
  return undefined;
}

// What the migration role needs on each side (README, "Privileges"), and the exact GRANT statements
// that supply what the server says it lacks. Pure: the adapter (db/privileges.ts) asks the server.
import { qualified, quoteIdent } from '../db/ident.ts';

export type ObjectKind = 'database' | 'schema' | 'table' | 'sequence';
export type Privilege = 'CONNECT' | 'CREATE' | 'USAGE' | 'SELECT' | 'TRIGGER';

/** One object and the privileges ferry needs on it. Tables and sequences carry their schema. */
export interface Need {
  kind: ObjectKind;
  schema?: string;
  name: string;
  privileges: readonly Privilege[];
}

/** A need with what the server reports the role holds of it. */
export interface Held extends Need {
  held: readonly Privilege[];
}

export interface SideGrants {
  /** The side and endpoint, as describeEndpoint renders it: `source ferry@host:5432/shop`. */
  where: string;
  role: string;
  grants: string[];
}

export class PrivilegeError extends Error {
  override name = 'PrivilegeError';
}

const KIND_ORDER: Record<ObjectKind, number> = { database: 0, schema: 1, table: 2, sequence: 3 };

/** Source, both modes: the shadow schema, reading the schema's objects, the triggers (recording, write fence). */
export function sourceNeeds(o: { database: string; schema: string; tables: readonly string[] }): Need[] {
  return [
    { kind: 'database', name: o.database, privileges: ['CONNECT', 'CREATE'] },
    { kind: 'schema', name: o.schema, privileges: ['USAGE'] },
    ...o.tables.map((name): Need => ({
      kind: 'table',
      schema: o.schema,
      name,
      privileges: ['SELECT', 'TRIGGER'],
    })),
  ];
}

/** Source, several schemas: the database once, each schema and its tables. */
export function sourceNeedsOf(
  database: string,
  schemas: readonly { schema: string; tables: readonly string[] }[],
): Need[] {
  return schemas.flatMap((o, i) =>
    sourceNeeds({ database, ...o }).filter((n) => i === 0 || n.kind !== 'database'),
  );
}

/** Source: reading the values of the migrated sequences. */
export function sequenceNeeds(sequences: readonly { schema: string; name: string }[]): Need[] {
  return sequences.map((s) => ({ kind: 'sequence', schema: s.schema, name: s.name, privileges: ['SELECT'] }));
}

/**
 * Target: ferry creates its bookkeeping schema, and the target schema unless it exists; an existing
 * one (not created by ferry) must let the role create in it.
 */
export function targetNeeds(o: { database: string; schema: string; schemaExists: boolean }): Need[] {
  return [
    { kind: 'database', name: o.database, privileges: ['CONNECT', 'CREATE'] },
    ...(o.schemaExists ? [{ kind: 'schema', name: o.schema, privileges: ['CREATE', 'USAGE'] } as Need] : []),
  ];
}

/** Target, several schemas: the database once, each existing target schema. */
export function targetNeedsOf(
  database: string,
  schemas: readonly { schema: string; schemaExists: boolean }[],
): Need[] {
  return schemas.flatMap((o, i) =>
    targetNeeds({ database, ...o }).filter((n) => i === 0 || n.kind !== 'database'),
  );
}

function objectName(n: Need): string {
  return n.schema === undefined ? quoteIdent(n.name) : qualified(n.schema, n.name);
}

/** One GRANT per object that lacks something, naming exactly what it lacks; databases first, then schemas, tables, sequences. */
export function missingGrants(role: string, held: readonly Held[]): string[] {
  return held
    .map((h) => ({ h, missing: h.privileges.filter((p) => !h.held.includes(p)) }))
    .filter((x) => x.missing.length > 0)
    .sort(
      (a, b) =>
        KIND_ORDER[a.h.kind] - KIND_ORDER[b.h.kind] || objectName(a.h).localeCompare(objectName(b.h), 'en'),
    )
    .map(
      ({ h, missing }) =>
        `GRANT ${missing.join(', ')} ON ${h.kind.toUpperCase()} ${objectName(h)} TO ${quoteIdent(role)};`,
    );
}

/** The refusal: every missing GRANT of every side at once, or undefined when nothing is missing. */
export function privilegeError(sides: readonly SideGrants[]): PrivilegeError | undefined {
  const lacking = sides.filter((s) => s.grants.length > 0);
  if (lacking.length === 0) return undefined;
  const body = lacking
    .map(
      (s) =>
        `${s.where}: role ${s.role} lacks privileges; as the objects' owner or a superuser, run:\n` +
        s.grants.map((g) => `  ${g}`).join('\n'),
    )
    .join('\n');
  return new PrivilegeError(`missing privileges, nothing was changed (see README, Privileges)\n${body}`);
}

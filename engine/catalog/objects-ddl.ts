// What becomes of each object of the source schema, and the DDL that recreates the migrated ones on
// the target. Pure. Statements run with search_path = the target schema, so the unqualified names
// captured on the source resolve there.
import { qualified, quoteIdent, quoteLiteral } from '../db/ident.ts';
import type {
  GrantDef,
  InventoryEntry,
  ObjectStatus,
  PolicyDef,
  RawObject,
  SchemaObjects,
  ViewDef,
} from './objects-types.ts';
import { keyOf } from './objects-types.ts';
import { orderByDependency } from './user-types.ts';

interface Fate {
  status: ObjectStatus;
  reason?: string;
}

/**
 * Classifies every object. Tables and sequences are migrated when the catalog holds them; an object
 * that hangs on a relation (trigger, rule, policy) shares the relation's fate; an object that needs
 * another one (a view its tables, a trigger its function) cannot be migrated without it.
 */
export function classify(
  raw: RawObject[],
  migrated: { tables: Set<string>; sequences: Set<string> },
): InventoryEntry[] {
  const fate = new Map<string, Fate>();
  for (const o of raw) {
    const key = keyOf(o);
    if (o.kind === 'table')
      fate.set(
        key,
        migrated.tables.has(o.name)
          ? { status: 'migrated' }
          : { status: 'not selected', reason: 'not selected by spec.tables' },
      );
    else if (o.kind === 'sequence' && !migrated.sequences.has(o.name))
      fate.set(key, {
        status: 'not selected',
        reason: `owned by ${o.on ?? 'a table'}, which is not selected`,
      });
    else if (o.unsupported) fate.set(key, { status: 'unsupported', reason: o.unsupported });
    else fate.set(key, { status: 'migrated' });
  }
  // Dependencies chain (a view on a view on a left-out table): repeat until nothing changes.
  for (let changed = true; changed;) {
    changed = false;
    for (const o of raw) {
      const key = keyOf(o);
      const own = fate.get(key)!;
      if (o.kind === 'sequence' || o.kind === 'table' || own.status === 'not selected') continue;
      const on = o.on ? fate.get(o.on) : undefined;
      let next: Fate | undefined;
      // What hangs on a relation left out is left out with it, whatever it is.
      if (on?.status === 'not selected') next = { status: 'not selected', reason: `${o.on} is not selected` };
      else if (own.status !== 'migrated') continue;
      else if (on?.status === 'unsupported')
        next = { status: 'unsupported', reason: `${o.on} cannot be migrated` };
      for (const d of o.deps ?? []) {
        if (next) break;
        const f = fate.get(d);
        if (f?.status === 'not selected')
          next = { status: 'unsupported', reason: `depends on ${d}, which is not selected` };
        else if (f?.status === 'unsupported')
          next = { status: 'unsupported', reason: `depends on ${d}, which cannot be migrated` };
      }
      if (next) {
        fate.set(key, next);
        changed = true;
      }
    }
  }
  return raw.map((o) => ({ kind: o.kind, name: o.name, ...fate.get(keyOf(o))! }));
}

/** One line per object that cannot be migrated: `rule r1 on orders: rules are not migrated`. */
export function describeUnsupported(inventory: InventoryEntry[]): string[] {
  return inventory.filter((e) => e.status === 'unsupported').map((e) => `${keyOf(e)}: ${e.reason}`);
}

/** The objects with everything whose inventory entry is not `migrated` left out. */
export function settle(o: SchemaObjects): SchemaObjects {
  const ok = new Set(o.inventory.filter((e) => e.status === 'migrated').map(keyOf));
  const keep = <T extends { key: string }>(xs: T[]) => xs.filter((x) => ok.has(x.key));
  return {
    ...o,
    collations: keep(o.collations),
    functions: keep(o.functions),
    views: keep(o.views),
    triggers: keep(o.triggers),
    rowSecurity: keep(o.rowSecurity),
    policies: keep(o.policies),
    grants: o.grants.filter((g) => g.type === 'SCHEMA' || ok.has(g.key)),
    comments: keep(o.comments),
  };
}

/** Roles that grants and policies name. */
export function rolesNamed(o: SchemaObjects): string[] {
  const names = new Set<string>();
  for (const g of o.grants) if (g.grantee !== null && g.privilege !== null) names.add(g.grantee);
  for (const p of o.policies) for (const r of p.roles) names.add(r);
  return [...names].sort();
}

const grantName = (g: GrantDef, schema: string): string =>
  `${g.privilege}${g.column ? ` (${g.column})` : ''} on ${g.type.toLowerCase()} ${g.object ?? schema} to ${g.grantee}`;

/**
 * Grants to and policies for roles missing on the target become `unsupported` inventory entries
 * and leave the objects: a policy cannot exist without its roles, a grant cannot name a missing role.
 */
export function withoutMissingRoles(o: SchemaObjects, existing: Set<string>, schema: string): SchemaObjects {
  const missing = (r: string) => !existing.has(r);
  const grants = o.grants.filter((g) => g.privilege !== null && g.grantee !== null && missing(g.grantee));
  const policies = o.policies.filter((p) => p.roles.some(missing));
  const lost = new Set(policies.map((p) => p.key));
  const inventory = o.inventory.map((e) => {
    if (!lost.has(keyOf(e))) return e;
    const roles = policies.find((p) => p.key === keyOf(e))!.roles.filter(missing);
    return {
      ...e,
      status: 'unsupported' as const,
      reason: `role ${roles.join(', ')} does not exist on the target`,
    };
  });
  return {
    ...o,
    inventory: [
      ...inventory,
      ...grants.map((g) => ({
        kind: 'grant',
        name: grantName(g, schema),
        status: 'unsupported' as const,
        reason: `role ${g.grantee} does not exist on the target`,
      })),
    ],
    grants: o.grants.filter((g) => !grants.includes(g)),
    policies: o.policies.filter((p) => !lost.has(p.key)),
  };
}

/**
 * pg_get_functiondef always qualifies the routine's name and says CREATE OR REPLACE: the name is
 * made unqualified (it lands in the target schema through search_path) and a routine that already
 * exists on the target is an error, not silently replaced.
 */
export function unqualifyFunctionDef(
  def: string,
  schema: string,
  name: string,
  kind: 'function' | 'procedure',
): string {
  const verb = kind === 'procedure' ? 'PROCEDURE' : 'FUNCTION';
  // pg_get_functiondef quotes like quote_ident: only where needed.
  const q = (s: string) => (/^[a-z_][a-z0-9_$]*$/.test(s) ? s : quoteIdent(s));
  const head = `CREATE OR REPLACE ${verb} ${q(schema)}.${q(name)}(`;
  if (!def.startsWith(head))
    throw new Error(`${kind} ${name}: unexpected definition header: ${def.slice(0, 80)}`);
  return `CREATE ${verb} ${quoteIdent(name)}(${def.slice(head.length)}`;
}

/** Views after the views they read. */
export function orderViews(views: ViewDef[]): ViewDef[] {
  return orderByDependency(views);
}

/** CREATE [MATERIALIZED] VIEW, a materialized view without data (it is refreshed after the load). */
export function createViewDdl(v: ViewDef): string {
  const options = v.options.length ? ` WITH (${v.options.join(', ')})` : '';
  return v.materialized
    ? `CREATE MATERIALIZED VIEW ${quoteIdent(v.name)}${options} AS\n${v.query}\nWITH NO DATA`
    : `CREATE VIEW ${quoteIdent(v.name)}${options} AS\n${v.query}`;
}

const COMMANDS: Record<PolicyDef['cmd'], string> = {
  r: 'SELECT',
  a: 'INSERT',
  w: 'UPDATE',
  d: 'DELETE',
  '*': 'ALL',
};

export function createPolicyDdl(p: PolicyDef): string {
  return (
    `CREATE POLICY ${quoteIdent(p.name)} ON ${quoteIdent(p.table)} AS ${p.permissive ? 'PERMISSIVE' : 'RESTRICTIVE'}` +
    ` FOR ${COMMANDS[p.cmd]} TO ${p.roles.length ? p.roles.map(quoteIdent).join(', ') : 'PUBLIC'}` +
    (p.using !== null ? ` USING (${p.using})` : '') +
    (p.check !== null ? ` WITH CHECK (${p.check})` : '')
  );
}

const TRIGGER_STATE: Record<string, string> = { D: 'DISABLE', R: 'ENABLE REPLICA', A: 'ENABLE ALWAYS' };

/** Grants of one object, after REVOKE ALL FROM PUBLIC (the object's ACL is explicit, PUBLIC's default is not kept). */
export function grantDdl(grants: GrantDef[], schema: string): string[] {
  const on = (g: GrantDef) => `${g.type} ${g.object ?? quoteIdent(schema)}`;
  const first = grants[0];
  if (!first) return [];
  return [
    // The schema may be one the target had before: its grants are only added to.
    ...(first.type === 'SCHEMA' ? [] : [`REVOKE ALL ON ${on(first)} FROM PUBLIC`]),
    ...grants.flatMap((g) =>
      g.privilege === null
        ? []
        : `GRANT ${g.privilege}${g.column ? ` (${quoteIdent(g.column)})` : ''} ON ${on(g)} TO ` +
          `${g.grantee === null ? 'PUBLIC' : quoteIdent(g.grantee)}${g.grantable ? ' WITH GRANT OPTION' : ''}`,
    ),
  ];
}

export interface ObjectStep {
  name: string;
  table: string | null;
  sql: string;
}

const step = (kind: string, name: string, sql: string, table: string | null = null): ObjectStep => ({
  name: `${kind}:${name}`,
  table,
  sql,
});

/** Everything created after the load, in order: views, materialized view indexes and data, triggers, row security, grants, comments. */
export function objectSteps(o: SchemaObjects, schema: string): ObjectStep[] {
  const views = o.views.map((v) =>
    step(v.materialized ? 'matview' : 'view', quoteIdent(v.name), createViewDdl(v)),
  );
  const mvIndexes = o.views.flatMap((v) =>
    v.indexes.map((i) => step('mvindex', quoteIdent(i.name), i.definition, v.name)),
  );
  const refresh = o.views
    .filter((v) => v.materialized && v.populated)
    .map((v) =>
      step('refresh', quoteIdent(v.name), `REFRESH MATERIALIZED VIEW ${quoteIdent(v.name)}`, v.name),
    );
  const triggers = o.triggers.map((t) =>
    step(
      'trigger',
      `${quoteIdent(t.table)}.${quoteIdent(t.name)}`,
      [
        t.definition,
        ...(TRIGGER_STATE[t.enabled]
          ? [`ALTER TABLE ${quoteIdent(t.table)} ${TRIGGER_STATE[t.enabled]} TRIGGER ${quoteIdent(t.name)}`]
          : []),
      ].join(';\n'),
      t.table,
    ),
  );
  const rls = o.rowSecurity.map((r) =>
    step(
      'rls',
      quoteIdent(r.table),
      [
        ...(r.enabled ? [`ALTER TABLE ${quoteIdent(r.table)} ENABLE ROW LEVEL SECURITY`] : []),
        ...(r.forced ? [`ALTER TABLE ${quoteIdent(r.table)} FORCE ROW LEVEL SECURITY`] : []),
      ].join(';\n'),
      r.table,
    ),
  );
  const policies = o.policies.map((p) =>
    step('policy', `${quoteIdent(p.table)}.${quoteIdent(p.name)}`, createPolicyDdl(p), p.table),
  );
  const byObject = new Map<string, GrantDef[]>();
  for (const g of o.grants) {
    const k = `${g.type} ${g.object ?? ''}`;
    byObject.set(k, [...(byObject.get(k) ?? []), g]);
  }
  const grants = [...byObject].flatMap(([k, gs]) => {
    const sql = grantDdl(gs, schema);
    return sql.length ? [step('grant', k, sql.join(';\n'))] : [];
  });
  const comments = o.comments.map((c) =>
    step('comment', c.target, `COMMENT ON ${c.target} IS ${quoteLiteral(c.text)}`),
  );
  return [...views, ...mvIndexes, ...refresh, ...triggers, ...rls, ...policies, ...grants, ...comments];
}

/**
 * Extensions and collations (before the types, which may use them), functions and procedures
 * (after the types, before the tables: defaults and checks may call them).
 */
export function objectsBeforeTables(
  o: SchemaObjects,
  schema: string,
): { beforeTypes: string[]; functions: string[] } {
  return {
    beforeTypes: [
      ...o.extensions.map(
        (e) =>
          `CREATE EXTENSION IF NOT EXISTS ${quoteIdent(e.name)} WITH SCHEMA ${quoteIdent(e.schema ?? schema)}`,
      ),
      ...o.collations.map((c) => c.definition),
    ],
    functions: [
      // Bodies may use tables that do not exist yet: they are checked when called.
      ...(o.functions.some((f) => !f.atomic) ? ['SET LOCAL check_function_bodies = off'] : []),
      ...o.functions.filter((f) => !f.atomic).map((f) => f.definition),
    ],
  };
}

/** BEGIN ATOMIC routines are parsed at creation against the tables: they come after them. */
export function objectsAfterTables(o: SchemaObjects): string[] {
  return o.functions.filter((f) => f.atomic).map((f) => f.definition);
}

/** What ferry creates besides tables, sequences and types, for fallback to drop exactly that. */
export interface CreatedObjects {
  views: { name: string; materialized: boolean }[];
  functions: { kind: 'function' | 'procedure'; signature: string }[];
  collations: string[];
  /** Only extensions that did not exist on the target before. */
  extensions: string[];
}

export function createdObjects(o: SchemaObjects, extensionsMissing: Set<string>): CreatedObjects {
  return {
    views: o.views.map((v) => ({ name: v.name, materialized: v.materialized })),
    functions: o.functions.map((f) => ({ kind: f.kind, signature: f.signature })),
    collations: o.collations.map((c) => c.name),
    extensions: o.extensions.filter((e) => extensionsMissing.has(e.name)).map((e) => e.name),
  };
}

/**
 * DROP statements for what ferry created, run with search_path = the target schema (routine
 * signatures name the schema's types unqualified): views (before the tables they read), routines
 * (before the types they use), collations, and extensions, never with CASCADE: an object someone
 * else made on one keeps it.
 */
export function dropObjects(
  c: CreatedObjects,
  schema: string,
): { views: string[]; routines: string[]; collations: string[]; extensions: string[] } {
  return {
    views: [
      `SET LOCAL search_path = ${quoteIdent(schema)}`,
      ...[...c.views]
        .reverse()
        .map(
          (v) =>
            `DROP ${v.materialized ? 'MATERIALIZED VIEW' : 'VIEW'} IF EXISTS ${qualified(schema, v.name)} CASCADE`,
        ),
    ],
    routines: c.functions.map(
      (f) =>
        `DROP ${f.kind === 'procedure' ? 'PROCEDURE' : 'FUNCTION'} IF EXISTS ${quoteIdent(schema)}.${f.signature} CASCADE`,
    ),
    collations: c.collations.map((n) => `DROP COLLATION IF EXISTS ${qualified(schema, n)}`),
    extensions: c.extensions.map((e) => `DROP EXTENSION IF EXISTS ${quoteIdent(e)}`),
  };
}

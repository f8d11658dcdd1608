// The schema's objects beyond the tables' own structure: the inventory of everything the source
// schema holds, and the definitions of what ferry recreates (views, functions, triggers, policies,
// grants, comments, collations, extensions). Definitions are captured with pg_get_* under
// `search_path` = the source schema, so they are unqualified and replay into the target schema.
// Stored with the catalog as JSON in the shadow schema.

/**
 * What becomes of a source object: `migrated`; `unsupported` (selected, but ferry cannot move it:
 * Checks refuses the run unless spec.objects.skipUnsupported); `not selected` (it belongs to a table
 * the selection leaves out).
 */
export type ObjectStatus = 'migrated' | 'unsupported' | 'not selected';

export interface InventoryEntry {
  /** `table`, `view`, `materialized view`, `function`, `trigger`, `rule`, `policy`, `grant`, ... */
  kind: string;
  /** As SQL names it, e.g. `orders`, `f(integer)`, `r1 on orders`. */
  name: string;
  status: ObjectStatus;
  reason?: string;
}

/** An object's inventory key: its kind and name. */
export const keyOf = (o: { kind: string; name: string }): string => `${o.kind} ${o.name}`;

/** A source object before classification: what it hangs on and what it needs. */
export interface RawObject {
  kind: string;
  name: string;
  /** Key of the relation it belongs to (triggers, rules, policies, statistics objects). */
  on?: string | null;
  /** Keys of the schema's objects it depends on (a view's relations and functions, a trigger's function). */
  deps?: string[];
  /** A reason known at extraction that ferry cannot migrate it (a rule, an aggregate, a C function). */
  unsupported?: string | null;
}

export interface ViewDef {
  key: string;
  name: string;
  materialized: boolean;
  /** pg_get_viewdef (pretty), without the trailing semicolon. */
  query: string;
  /** reloptions, e.g. `security_barrier=true`, `check_option=cascaded`. */
  options: string[];
  /** A materialized view that holds data on the source is refreshed after the load. */
  populated: boolean;
  /** pg_get_indexdef of a materialized view's indexes. */
  indexes: { name: string; definition: string }[];
  /** Names of the views it reads (for ordering). */
  uses: string[];
}

export interface FunctionDef {
  key: string;
  kind: 'function' | 'procedure';
  name: string;
  /** regprocedure text, unqualified: `f(integer)`. */
  signature: string;
  /** pg_get_functiondef with the name unqualified and CREATE instead of CREATE OR REPLACE. */
  definition: string;
  /** A SQL-standard body (BEGIN ATOMIC) is parsed at creation: it is created after the tables. */
  atomic: boolean;
}

export interface TriggerDef {
  key: string;
  table: string;
  name: string;
  /** pg_get_triggerdef. */
  definition: string;
  /** pg_trigger.tgenabled: O (origin, the default), D (disabled), R (replica), A (always). */
  enabled: 'O' | 'D' | 'R' | 'A';
}

export interface PolicyDef {
  key: string;
  table: string;
  name: string;
  permissive: boolean;
  /** pg_policy.polcmd: r SELECT, a INSERT, w UPDATE, d DELETE, * ALL. */
  cmd: 'r' | 'a' | 'w' | 'd' | '*';
  /** Role names; empty means PUBLIC. */
  roles: string[];
  using: string | null;
  check: string | null;
}

export interface GrantDef {
  /** `TABLE`, `SEQUENCE`, `FUNCTION`, `PROCEDURE`, `TYPE` or `SCHEMA`. */
  type: string;
  /** The object as SQL names it (quoted, unqualified; a signature for routines); null for the schema. */
  object: string | null;
  /** Inventory key of the object, to follow its fate. */
  key: string;
  column: string | null;
  /** null: the object's ACL is explicit but grants nothing beyond the owner (PUBLIC's default revoked). */
  privilege: string | null;
  /** null is PUBLIC. */
  grantee: string | null;
  grantable: boolean;
}

export interface CommentDef {
  /** What COMMENT ON names, unqualified: `TABLE "orders"`, `COLUMN "orders"."id"`, `FUNCTION f(integer)`. */
  target: string;
  key: string;
  text: string;
}

export interface ExtensionDef {
  name: string;
  /** The schema it lives in on the source; null when that is the migrated schema (it goes to the target schema). */
  schema: string | null;
  /** What needs it, when the source is not PostgreSQL (`the spatial columns places.p, ...`), for Checks' messages. */
  neededBy?: string;
}

export interface SchemaObjects {
  inventory: InventoryEntry[];
  extensions: ExtensionDef[];
  /** CREATE COLLATION statements, unqualified. */
  collations: { key: string; name: string; definition: string }[];
  functions: FunctionDef[];
  /** In dependency order. */
  views: ViewDef[];
  triggers: TriggerDef[];
  /** Tables with ENABLE (and FORCE) ROW LEVEL SECURITY; key is the table's. */
  rowSecurity: { key: string; table: string; enabled: boolean; forced: boolean }[];
  policies: PolicyDef[];
  grants: GrantDef[];
  comments: CommentDef[];
}

/** The objects of a schema of another engine's source: what it holds, the comments and the extensions its columns need, nothing to recreate. */
export const inventoryOnly = (
  inventory: InventoryEntry[],
  comments: CommentDef[],
  extensions: ExtensionDef[] = [],
): SchemaObjects => ({
  inventory,
  extensions,
  collations: [],
  functions: [],
  views: [],
  triggers: [],
  rowSecurity: [],
  policies: [],
  grants: [],
  comments,
});

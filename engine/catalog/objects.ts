// Reading every object of the source schema from pg_catalog: the inventory (whatever the schema holds,
// each with what it hangs on and what it needs) and the definitions of what ferry recreates. Runs in
// extractCatalog's transaction, with search_path = the source schema, so pg_get_viewdef,
// pg_get_triggerdef, pg_get_expr and the reg* casts render the schema's objects unqualified.
// Objects that belong to an extension are the extension's: they are not listed, the extension is.
import type pg from 'pg';
import { classify, orderViews, settle, unqualifyFunctionDef } from './objects-ddl.ts';
import type {
  CommentDef,
  ExtensionDef,
  FunctionDef,
  GrantDef,
  PolicyDef,
  RawObject,
  SchemaObjects,
  TriggerDef,
  ViewDef,
} from './objects-types.ts';
import type { Catalog } from './types.ts';

/**
 * Not a member of an extension, nor part of another object (a range type's constructors, say):
 * those come with what they belong to. Identity sequences are part of their column and are listed
 * anyway (`deptypes` 'e' only), since grants and comments name them.
 */
const own = (catalog: string, oid: string, deptypes = "'e', 'i'") =>
  `NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = '${catalog}'::regclass AND e.objid = ${oid} AND e.deptype IN (${deptypes}))`;

const REL_KIND = `CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'v' THEN 'view'
  WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence' WHEN 'f' THEN 'foreign table' END`;
const PROC_KIND = `CASE p.prokind WHEN 'a' THEN 'aggregate' WHEN 'p' THEN 'procedure' ELSE 'function' END`;
const TYPE_KIND = `CASE t.typtype WHEN 'd' THEN 'domain' ELSE 'type' END`;

/** Relations and routines of the schema with their inventory keys, for dependencies. */
const NAMED = `
  rel AS (SELECT c.oid, c.relkind, ${REL_KIND} AS kind, ${REL_KIND} || ' ' || c.relname AS key, c.relname AS name
            FROM pg_class c WHERE c.relnamespace = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
             AND ${own('pg_class', 'c.oid', "'e'")}),
  fn AS (SELECT p.oid, ${PROC_KIND} || ' ' || p.oid::regprocedure::text AS key
           FROM pg_proc p WHERE p.pronamespace = $1 AND ${own('pg_proc', 'p.oid')}),
  named AS (SELECT 'pg_class'::regclass::oid AS cls, oid, key FROM rel UNION ALL SELECT 'pg_proc'::regclass::oid, oid, key FROM fn)`;

/** Kinds ferry does not recreate, listed with why. */
const NOT_MIGRATED: [catalog: string, nspColumn: string, kind: string, name: string][] = [
  ['pg_operator', 'oprnamespace', 'operator', 'x.oid::regoperator::text'],
  ['pg_opclass', 'opcnamespace', 'operator class', 'x.opcname'],
  ['pg_opfamily', 'opfnamespace', 'operator family', 'x.opfname'],
  ['pg_ts_config', 'cfgnamespace', 'text search configuration', 'x.cfgname'],
  ['pg_ts_dict', 'dictnamespace', 'text search dictionary', 'x.dictname'],
  ['pg_ts_parser', 'prsnamespace', 'text search parser', 'x.prsname'],
  ['pg_ts_template', 'tmplnamespace', 'text search template', 'x.tmplname'],
  ['pg_conversion', 'connamespace', 'conversion', 'x.conname'],
];

async function rawObjects(c: pg.ClientBase, nsp: number, version: number): Promise<RawObject[]> {
  const clone = version >= 13 ? 't.tgparentid = 0' : 'true';
  const { rows } = await c.query<RawObject & { ord: number }>(
    `WITH ${NAMED}
     SELECT 1 AS ord, r.kind, r.name,
            (SELECT o.key FROM pg_depend d JOIN rel o ON o.oid = d.refobjid
              WHERE r.relkind = 'S' AND d.classid = 'pg_class'::regclass AND d.objid = r.oid
                AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') LIMIT 1) AS "on",
            array(SELECT DISTINCT n.key FROM pg_rewrite w
                    JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = w.oid
                    JOIN named n ON n.cls = d.refclassid AND n.oid = d.refobjid
                   WHERE w.ev_class = r.oid AND d.refobjid <> r.oid ORDER BY 1) AS deps,
            CASE WHEN r.relkind = 'f' THEN 'foreign tables are not migrated' END AS unsupported
       FROM rel r
     UNION ALL
     SELECT 2, ${PROC_KIND}, p.oid::regprocedure::text, NULL, '{}',
            CASE WHEN p.prokind = 'a' THEN 'aggregates are not migrated'
                 WHEN l.lanname IN ('c', 'internal') THEN 'written in ' || l.lanname || ': only an extension can bring it'
            END
       FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
      WHERE p.pronamespace = $1 AND ${own('pg_proc', 'p.oid')}
     UNION ALL
     SELECT 3, ${TYPE_KIND}, t.typname, NULL, '{}',
            CASE WHEN t.typtype IN ('b', 'p') THEN 'base types are not migrated' END
       FROM pg_type t LEFT JOIN pg_class k ON k.oid = t.typrelid
      WHERE t.typnamespace = $1 AND ${own('pg_type', 't.oid')} AND t.typtype <> 'm'
        AND NOT EXISTS (SELECT 1 FROM pg_type a WHERE a.typarray = t.oid) AND (t.typrelid = 0 OR k.relkind = 'c')
     UNION ALL
     SELECT 4, 'collation', x.collname, NULL, '{}', NULL FROM pg_collation x
      WHERE x.collnamespace = $1 AND ${own('pg_collation', 'x.oid')}
     UNION ALL
     SELECT 5, 'trigger', t.tgname || ' on ' || r.name, r.key,
            array(SELECT n.key FROM fn n WHERE n.oid = t.tgfoid), NULL
       FROM pg_trigger t JOIN rel r ON r.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid
      WHERE NOT t.tgisinternal AND ${clone}
        AND p.pronamespace::regnamespace::text NOT LIKE 'ferry\\_%' -- ferry's own change recording
     UNION ALL
     SELECT 6, 'rule', w.rulename || ' on ' || r.name, r.key, '{}', 'rules are not migrated'
       FROM pg_rewrite w JOIN rel r ON r.oid = w.ev_class WHERE w.rulename <> '_RETURN'
     UNION ALL
     SELECT 7, 'policy', p.polname || ' on ' || r.name, r.key, '{}', NULL
       FROM pg_policy p JOIN rel r ON r.oid = p.polrelid
     UNION ALL
     SELECT 8, 'statistics object', s.stxname, (SELECT r.key FROM rel r WHERE r.oid = s.stxrelid), '{}',
            'statistics objects are not migrated'
       FROM pg_statistic_ext s WHERE s.stxnamespace = $1
     ${NOT_MIGRATED.map(
       ([cat, col, kind, name], i) =>
         `UNION ALL SELECT ${9 + i}, '${kind}', ${name}, NULL, '{}', '${kind}s are not migrated'
            FROM ${cat} x WHERE x.${col} = $1 AND ${own(cat, 'x.oid')}`,
     ).join('\n')}
     ORDER BY 1, 3`,
    [nsp],
  );
  return rows.map(({ ord: _ord, ...r }) => r);
}

/** Extensions the selected tables, the schema's routines, types and views use (through pg_depend), and those installed in the schema. */
async function extensions(c: pg.ClientBase, nsp: number, rels: number[]): Promise<ExtensionDef[]> {
  const { rows } = await c.query<ExtensionDef>(
    `WITH RECURSIVE users(cls, oid) AS (
       SELECT 'pg_class'::regclass::oid, oid FROM pg_class WHERE oid = ANY($2)
       UNION SELECT 'pg_class'::regclass::oid, oid FROM pg_class WHERE relnamespace = $1 AND relkind IN ('v', 'm')
       UNION SELECT 'pg_class'::regclass::oid, indexrelid FROM pg_index WHERE indrelid = ANY($2)
       UNION SELECT 'pg_rewrite'::regclass::oid, w.oid FROM pg_rewrite w JOIN pg_class k ON k.oid = w.ev_class
              WHERE k.relnamespace = $1 AND k.relkind IN ('v', 'm')
       UNION SELECT 'pg_attrdef'::regclass::oid, oid FROM pg_attrdef WHERE adrelid = ANY($2)
       UNION SELECT 'pg_constraint'::regclass::oid, oid FROM pg_constraint WHERE conrelid = ANY($2)
       UNION SELECT 'pg_proc'::regclass::oid, oid FROM pg_proc WHERE pronamespace = $1
       UNION SELECT 'pg_type'::regclass::oid, oid FROM pg_type WHERE typnamespace = $1
     ), used(cls, oid) AS (
       SELECT d.refclassid, d.refobjid FROM pg_depend d JOIN users u ON u.cls = d.classid AND u.oid = d.objid
       UNION SELECT 'pg_type'::regclass::oid, t.typelem FROM used JOIN pg_type t ON t.oid = used.oid
              WHERE used.cls = 'pg_type'::regclass AND t.typelem <> 0
     )
     SELECT DISTINCT x.extname AS name, CASE WHEN x.extnamespace <> $1 THEN (SELECT n.nspname::text FROM pg_namespace n WHERE n.oid = x.extnamespace) END AS schema
       FROM pg_extension x
      WHERE x.extnamespace = $1
         OR EXISTS (SELECT 1 FROM used JOIN pg_depend e ON e.classid = used.cls AND e.objid = used.oid
                     WHERE e.deptype = 'e' AND e.refobjid = x.oid)
      ORDER BY 1`,
    [nsp, rels],
  );
  return rows.filter((r) => r.name !== 'plpgsql'); // every database has it
}

async function collations(c: pg.ClientBase, nsp: number): Promise<SchemaObjects['collations']> {
  // to_jsonb: the locale columns differ between versions (colliculocale, colllocale, collicurules).
  const { rows } = await c.query<{ name: string; c: Record<string, string | boolean | null> }>(
    `SELECT x.collname AS name, to_jsonb(x) AS c FROM pg_collation x WHERE x.collnamespace = $1 AND ${own('pg_collation', 'x.oid')} ORDER BY 1`,
    [nsp],
  );
  return rows.map(({ name, c: x }) => ({
    key: `collation ${name}`,
    name,
    definition: collationDdl(name, x),
  }));
}

/** CREATE COLLATION from a pg_collation row (any version's columns). */
export function collationDdl(name: string, x: Record<string, string | boolean | null>): string {
  const quote = (s: string) => `'${s.replaceAll("'", "''")}'`;
  const provider = x.collprovider === 'i' ? 'icu' : x.collprovider === 'b' ? 'builtin' : 'libc';
  const locale = (x.colllocale ?? x.colliculocale) as string | null;
  const parts = [`provider = ${provider}`];
  if (provider === 'libc')
    parts.push(`lc_collate = ${quote(String(x.collcollate))}`, `lc_ctype = ${quote(String(x.collctype))}`);
  else parts.push(`locale = ${quote(String(locale))}`);
  if (x.collicurules) parts.push(`rules = ${quote(String(x.collicurules))}`);
  if (x.collisdeterministic === false) parts.push('deterministic = false');
  return `CREATE COLLATION "${name.replaceAll('"', '""')}" (${parts.join(', ')})`;
}

async function functions(
  c: pg.ClientBase,
  nsp: number,
  schema: string,
  version: number,
): Promise<FunctionDef[]> {
  const { rows } = await c.query<{
    name: string;
    kind: 'function' | 'procedure';
    signature: string;
    def: string;
    atomic: boolean;
  }>(
    `SELECT p.proname AS name, CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END AS kind,
            p.oid::regprocedure::text AS signature, pg_get_functiondef(p.oid) AS def,
            ${version >= 14 ? 'p.prosqlbody IS NOT NULL' : 'false'} AS atomic
       FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
      WHERE p.pronamespace = $1 AND p.prokind IN ('f', 'p', 'w') AND l.lanname NOT IN ('c', 'internal')
        AND ${own('pg_proc', 'p.oid')}
      ORDER BY p.proname, p.oid`,
    [nsp],
  );
  return rows.map((r) => ({
    key: `${r.kind} ${r.signature}`,
    kind: r.kind,
    name: r.name,
    signature: r.signature,
    definition: unqualifyFunctionDef(r.def, schema, r.name, r.kind),
    atomic: r.atomic,
  }));
}

async function views(c: pg.ClientBase, nsp: number): Promise<ViewDef[]> {
  const { rows } = await c.query<ViewDef & { query: string }>(
    `SELECT CASE c.relkind WHEN 'm' THEN 'materialized view ' ELSE 'view ' END || c.relname AS key,
            c.relname AS name, c.relkind = 'm' AS materialized, pg_get_viewdef(c.oid, true) AS query,
            coalesce(c.reloptions, '{}') AS options, c.relispopulated AS populated,
            coalesce((SELECT json_agg(json_build_object('name', x.relname, 'definition', pg_get_indexdef(i.indexrelid, 0, true))
                                      ORDER BY x.relname)
                        FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid WHERE i.indrelid = c.oid), '[]') AS indexes,
            array(SELECT DISTINCT u.relname::text FROM pg_rewrite w
                    JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = w.oid AND d.refclassid = 'pg_class'::regclass
                    JOIN pg_class u ON u.oid = d.refobjid
                   WHERE w.ev_class = c.oid AND u.oid <> c.oid AND u.relnamespace = $1 AND u.relkind IN ('v', 'm')) AS uses
       FROM pg_class c WHERE c.relnamespace = $1 AND c.relkind IN ('v', 'm') AND ${own('pg_class', 'c.oid')}
      ORDER BY c.relname`,
    [nsp],
  );
  return orderViews(rows.map((r) => ({ ...r, query: r.query.trim().replace(/;$/, '') })));
}

async function triggers(c: pg.ClientBase, nsp: number, version: number): Promise<TriggerDef[]> {
  const { rows } = await c.query<TriggerDef>(
    `SELECT 'trigger ' || t.tgname || ' on ' || r.relname AS key, r.relname AS "table", t.tgname AS name,
            pg_get_triggerdef(t.oid) AS definition, t.tgenabled::text AS enabled
       FROM pg_trigger t JOIN pg_class r ON r.oid = t.tgrelid
      WHERE r.relnamespace = $1 AND NOT t.tgisinternal ${version >= 13 ? 'AND t.tgparentid = 0' : ''}
      ORDER BY r.relname, t.tgname`,
    [nsp],
  );
  return rows;
}

async function rowSecurity(c: pg.ClientBase, nsp: number): Promise<SchemaObjects['rowSecurity']> {
  const { rows } = await c.query<SchemaObjects['rowSecurity'][number]>(
    `SELECT ${REL_KIND} || ' ' || c.relname AS key, c.relname AS "table", c.relrowsecurity AS enabled,
            c.relforcerowsecurity AS forced
       FROM pg_class c WHERE c.relnamespace = $1 AND (c.relrowsecurity OR c.relforcerowsecurity) ORDER BY c.relname`,
    [nsp],
  );
  return rows;
}

async function policies(c: pg.ClientBase, nsp: number): Promise<PolicyDef[]> {
  const { rows } = await c.query<PolicyDef>(
    `SELECT 'policy ' || p.polname || ' on ' || r.relname AS key, r.relname AS "table", p.polname AS name,
            p.polpermissive AS permissive, p.polcmd::text AS cmd,
            array(SELECT a.rolname::text FROM unnest(p.polroles) o JOIN pg_roles a ON a.oid = o ORDER BY 1) AS roles,
            pg_get_expr(p.polqual, p.polrelid) AS "using", pg_get_expr(p.polwithcheck, p.polrelid) AS "check"
       FROM pg_policy p JOIN pg_class r ON r.oid = p.polrelid
      WHERE r.relnamespace = $1 ORDER BY r.relname, p.polname`,
    [nsp],
  );
  return rows;
}

async function grants(c: pg.ClientBase, nsp: number): Promise<GrantDef[]> {
  // The owner's own privileges are left out: on the target the migration's role owns the objects.
  const { rows } = await c.query<GrantDef>(
    `WITH acls AS (
       SELECT CASE c.relkind WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END AS type, quote_ident(c.relname) AS object,
              ${REL_KIND} || ' ' || c.relname AS key, NULL::text AS "column", c.relacl AS acl, c.relowner AS owner
         FROM pg_class c WHERE c.relnamespace = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND c.relacl IS NOT NULL
       UNION ALL
       SELECT 'TABLE', quote_ident(c.relname), ${REL_KIND} || ' ' || c.relname, a.attname, a.attacl, c.relowner
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        WHERE c.relnamespace = $1 AND a.attacl IS NOT NULL AND a.attnum > 0 AND NOT a.attisdropped
       UNION ALL
       SELECT upper(${PROC_KIND}), p.oid::regprocedure::text, ${PROC_KIND} || ' ' || p.oid::regprocedure::text,
              NULL, p.proacl, p.proowner
         FROM pg_proc p WHERE p.pronamespace = $1 AND p.proacl IS NOT NULL
       UNION ALL
       SELECT 'TYPE', t.oid::regtype::text, ${TYPE_KIND} || ' ' || t.typname, NULL, t.typacl, t.typowner
         FROM pg_type t WHERE t.typnamespace = $1 AND t.typacl IS NOT NULL
       UNION ALL
       SELECT 'SCHEMA', NULL, 'schema', NULL, n.nspacl, n.nspowner FROM pg_namespace n WHERE n.oid = $1 AND n.nspacl IS NOT NULL
     )
     -- An explicit ACL with nothing but the owner's entries (REVOKE ALL FROM PUBLIC) still yields a row,
     -- privilege null: the object's PUBLIC default is revoked on the target too.
     SELECT o.type, o.object, o.key, o."column", x.privilege_type AS privilege,
            CASE WHEN x.grantee <> 0 THEN pg_get_userbyid(x.grantee)::text END AS grantee,
            coalesce(x.is_grantable, false) AS grantable
       FROM acls o LEFT JOIN LATERAL (SELECT * FROM aclexplode(o.acl) a WHERE a.grantee <> o.owner) x ON true
      WHERE x.privilege_type IS NOT NULL OR (o.type <> 'SCHEMA' AND o."column" IS NULL)
      ORDER BY o.type, o.object, o."column" NULLS FIRST, 6 NULLS FIRST, 5`,
    [nsp],
  );
  return rows;
}

async function comments(c: pg.ClientBase, nsp: number, rels: number[]): Promise<CommentDef[]> {
  const { rows } = await c.query<CommentDef>(
    `SELECT * FROM (
       SELECT CASE WHEN d.objsubid <> 0 THEN 'COLUMN ' || quote_ident(c.relname) || '.' || quote_ident(a.attname)
                   ELSE upper(${REL_KIND}) || ' ' || quote_ident(c.relname) END AS target,
              ${REL_KIND} || ' ' || c.relname AS key, d.description AS text
         FROM pg_description d JOIN pg_class c ON c.oid = d.objoid AND d.classoid = 'pg_class'::regclass
         LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = d.objsubid
        WHERE c.relnamespace = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
       UNION ALL
       SELECT 'INDEX ' || quote_ident(x.relname), ${REL_KIND} || ' ' || c.relname, d.description
         FROM pg_description d JOIN pg_index i ON i.indexrelid = d.objoid AND d.classoid = 'pg_class'::regclass
         JOIN pg_class x ON x.oid = i.indexrelid JOIN pg_class c ON c.oid = i.indrelid
        WHERE c.relnamespace = $1
       UNION ALL
       SELECT upper(${PROC_KIND}) || ' ' || p.oid::regprocedure::text, ${PROC_KIND} || ' ' || p.oid::regprocedure::text, d.description
         FROM pg_description d JOIN pg_proc p ON p.oid = d.objoid AND d.classoid = 'pg_proc'::regclass WHERE p.pronamespace = $1
       UNION ALL
       SELECT upper(${TYPE_KIND}) || ' ' || t.oid::regtype::text, ${TYPE_KIND} || ' ' || t.typname, d.description
         FROM pg_description d JOIN pg_type t ON t.oid = d.objoid AND d.classoid = 'pg_type'::regclass WHERE t.typnamespace = $1
       UNION ALL
       SELECT 'CONSTRAINT ' || quote_ident(k.conname) || ' ON ' ||
              CASE WHEN k.conrelid <> 0 THEN quote_ident(c.relname) ELSE 'DOMAIN ' || k.contypid::regtype::text END,
              CASE WHEN k.conrelid <> 0 THEN ${REL_KIND} || ' ' || c.relname
                   ELSE (SELECT ${TYPE_KIND} || ' ' || t.typname FROM pg_type t WHERE t.oid = k.contypid) END,
              d.description
         FROM pg_description d JOIN pg_constraint k ON k.oid = d.objoid AND d.classoid = 'pg_constraint'::regclass
         LEFT JOIN pg_class c ON c.oid = k.conrelid
        WHERE k.connamespace = $1 AND (k.contype <> 'f' OR k.confrelid = ANY($2)) -- FKs out of the selection are not created
       UNION ALL
       SELECT 'TRIGGER ' || quote_ident(t.tgname) || ' ON ' || quote_ident(c.relname), 'trigger ' || t.tgname || ' on ' || c.relname, d.description
         FROM pg_description d JOIN pg_trigger t ON t.oid = d.objoid AND d.classoid = 'pg_trigger'::regclass
         JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relnamespace = $1
       UNION ALL
       SELECT 'POLICY ' || quote_ident(p.polname) || ' ON ' || quote_ident(c.relname), 'policy ' || p.polname || ' on ' || c.relname, d.description
         FROM pg_description d JOIN pg_policy p ON p.oid = d.objoid AND d.classoid = 'pg_policy'::regclass
         JOIN pg_class c ON c.oid = p.polrelid WHERE c.relnamespace = $1
       UNION ALL
       SELECT 'COLLATION ' || quote_ident(x.collname), 'collation ' || x.collname, d.description
         FROM pg_description d JOIN pg_collation x ON x.oid = d.objoid AND d.classoid = 'pg_collation'::regclass
        WHERE x.collnamespace = $1
     ) s ORDER BY 1`,
    [nsp, rels],
  );
  return rows;
}

/** Enums, domains, composite and range types of the schema: every one is created, used by a selected column or not. */
export async function schemaTypeRoots(c: pg.ClientBase, nsp: number): Promise<number[]> {
  const { rows } = await c.query<{ oid: number }>(
    `SELECT t.oid::int AS oid FROM pg_type t LEFT JOIN pg_class k ON k.oid = t.typrelid
      WHERE t.typnamespace = $1 AND t.typtype IN ('e', 'd', 'r', 'c') AND (t.typrelid = 0 OR k.relkind = 'c')
        AND ${own('pg_type', 't.oid')}`,
    [nsp],
  );
  return rows.map((r) => r.oid);
}

/**
 * The schema's objects, classified against the extracted tables, with the definitions of those
 * that are migrated. `catalog` is the table part of the catalog, already extracted.
 */
export async function extractObjects(
  c: pg.ClientBase,
  nsp: number,
  rels: number[],
  catalog: Omit<Catalog, 'objects'>,
): Promise<SchemaObjects> {
  const version = catalog.serverVersion;
  const raw = await rawObjects(c, nsp, version);
  const sequences = new Set([
    ...catalog.sequences.map((s) => s.name),
    ...catalog.tables.flatMap((t) => t.identitySequences.flatMap((s) => (s.sequence ? [s.sequence] : []))),
  ]);
  const inventory = classify(raw, { tables: new Set(catalog.tables.map((t) => t.name)), sequences });
  const exts = await extensions(c, nsp, rels);
  return settle({
    inventory: [
      ...inventory,
      ...exts.map((e) => ({ kind: 'extension', name: e.name, status: 'migrated' as const })),
    ],
    extensions: exts,
    collations: await collations(c, nsp),
    functions: await functions(c, nsp, catalog.schema, version),
    views: await views(c, nsp),
    triggers: await triggers(c, nsp, version),
    rowSecurity: await rowSecurity(c, nsp),
    policies: await policies(c, nsp),
    grants: await grants(c, nsp),
    comments: await comments(c, nsp, rels),
  });
}

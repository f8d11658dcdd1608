// Checks for the schema's objects besides the tables: nothing selected that ferry cannot migrate
// (unless spec.objects.skipUnsupported), every role a grant or policy names exists on the target,
// every extension the objects need is there or may be created, and no view, routine or collation of
// the same name is in the way. Read-only on both sides.
import { multiSchema, targetSchemaOf } from '../api/settings.ts';
import { catalogSchemas, objectsOf, withObjects } from '../catalog/schemas.ts';
import { describeUnsupported, rolesNamed, settle, withoutMissingRoles } from '../catalog/objects-ddl.ts';
import type { SchemaObjects } from '../catalog/objects-types.ts';
import type { Catalog } from '../catalog/types.ts';
import type { Client } from '../db/connect.ts';
import { quoteIdent } from '../db/ident.ts';
import { CheckError } from './checks.ts';
import type { Context } from './context.ts';

interface ExtensionRow {
  name: string;
  installedIn: string | null;
  available: boolean;
  trusted: boolean;
  superuser: boolean;
  mayCreate: boolean;
}

/** A needed extension missing on the target is created by PreProcessing when the role may; otherwise the DBA's statement is named. */
async function checkExtensions(c: Client, ctx: Context, o: SchemaObjects, schema: string): Promise<void> {
  if (!o.extensions.length) return;
  const { rows } = await c.query<ExtensionRow>(
    `SELECT e.name, (SELECT n.nspname FROM pg_namespace n WHERE n.oid = x.extnamespace)::text AS "installedIn",
            EXISTS (SELECT 1 FROM pg_available_extensions a WHERE a.name = e.name) AS available,
            coalesce((SELECT bool_or(v.trusted) FROM pg_available_extension_versions v WHERE v.name = e.name), false) AS trusted,
            (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser,
            has_database_privilege(current_database(), 'CREATE') AS "mayCreate"
       FROM unnest($1::text[]) e(name) LEFT JOIN pg_extension x ON x.extname = e.name`,
    [o.extensions.map((e) => e.name)],
  );
  const problems: string[] = [];
  for (const e of o.extensions) {
    const r = rows.find((x) => x.name === e.name)!;
    const where = e.schema ?? schema;
    const statement = `CREATE EXTENSION IF NOT EXISTS ${quoteIdent(e.name)} WITH SCHEMA ${quoteIdent(where)};`;
    const named = `extension ${e.name}${e.neededBy ? ` (for ${e.neededBy})` : ''}`;
    if (r.installedIn !== null) {
      if (r.installedIn !== where)
        problems.push(
          `${named} is installed in schema ${r.installedIn} on the target, the migrated objects expect it in ${where}`,
        );
    } else if (!r.available)
      problems.push(
        `${named} is not available on the target server: install its package, then a DBA must run: ${statement}`,
      );
    else if (!(r.superuser || (r.trusted && r.mayCreate)))
      problems.push(
        `${named} is missing on the target and ${ctx.settings.target.user} may not create it; a DBA must run: ${statement}`,
      );
  }
  if (problems.length) throw new CheckError(problems.join('; '));
}

async function checkConflicts(c: Client, schema: string, o: SchemaObjects): Promise<void> {
  const { rows } = await c.query<{ what: string }>(
    `SELECT 'a relation named ' || c.relname AS what FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = ANY($2)
     UNION ALL
     SELECT 'a routine named ' || p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = $1 AND p.proname = ANY($3)
     UNION ALL
     SELECT 'a collation named ' || k.collname FROM pg_collation k JOIN pg_namespace n ON n.oid = k.collnamespace
      WHERE n.nspname = $1 AND k.collname = ANY($4)
     ORDER BY 1`,
    [
      schema,
      o.views.flatMap((v) => [v.name, ...v.indexes.map((i) => i.name)]),
      o.functions.map((f) => f.name),
      o.collations.map((k) => k.name),
    ],
  );
  if (rows.length)
    throw new CheckError(
      `target schema ${schema} already has ${rows.map((r) => r.what).join(', ')}; drop it or choose another target schema`,
    );
}

/**
 * The catalog with the objects as they will be migrated: what cannot be (a role missing on the
 * target included) refuses the run naming each, or with spec.objects.skipUnsupported is left out
 * and stays in the inventory for the report.
 */
export async function checkObjects(c: Client | undefined, ctx: Context, catalog: Catalog): Promise<Catalog> {
  let out = catalog;
  for (const source of catalogSchemas(catalog)) {
    const objects = objectsOf(catalog, source);
    if (objects) out = withObjects(out, source, await checkSchemaObjects(c, ctx, source, objects));
  }
  return out;
}

/** Without a target connection (ferry export) only what no target can change is checked: the import checks the rest there. */
async function checkSchemaObjects(
  c: Client | undefined,
  ctx: Context,
  source: string,
  found: SchemaObjects,
): Promise<SchemaObjects> {
  const schema = targetSchemaOf(ctx.settings, source);
  const present = c
    ? (
        await c.query<{ name: string }>(
          'SELECT rolname::text AS name FROM pg_roles WHERE rolname = ANY($1)',
          [rolesNamed(found)],
        )
      ).rows.map((r) => r.name)
    : rolesNamed(found);
  const objects = settle(withoutMissingRoles(found, new Set(present), schema));
  const unsupported = describeUnsupported(objects.inventory);
  if (unsupported.length && !ctx.settings.skipUnsupported)
    throw new CheckError(
      `the source schema${multiSchema(ctx.settings) ? ` ${source}` : ''} holds objects ferry cannot migrate: ${unsupported.join('; ')}. ` +
        'Leave them out, or set spec.objects.skipUnsupported: true to migrate without them',
    );
  for (const u of unsupported)
    ctx.log.warn({ object: u }, `not migrated (spec.objects.skipUnsupported): ${u}`);
  if (!c) return objects;
  await checkExtensions(c, ctx, objects, schema);
  await checkConflicts(c, schema, objects);
  return objects;
}

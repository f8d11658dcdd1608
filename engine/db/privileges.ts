// Asks the server which of the needed privileges the current user holds (has_*_privilege: direct
// grants, PUBLIC, inherited roles and superuser all count). Read-only.
import {
  missingGrants,
  type Held,
  type Need,
  type Privilege,
  type SideGrants,
} from '../phases/privileges.ts';
import { describeEndpoint, type Client, type Endpoint } from './connect.ts';

export async function heldPrivileges(
  c: Client,
  needs: readonly Need[],
): Promise<{ role: string; held: Held[] }> {
  const asked = needs.flatMap((n, i) =>
    n.privileges.map((p) => ({ i, k: n.kind, s: n.schema ?? '', n: n.name, p })),
  );
  const { rows } = await c.query<{ i: number; p: Privilege; ok: boolean }>(
    `SELECT x.i, x.p,
            CASE x.k WHEN 'database' THEN has_database_privilege(x.n, x.p)
                     WHEN 'schema' THEN has_schema_privilege(x.n, x.p)
                     WHEN 'table' THEN has_table_privilege(format('%I.%I', x.s, x.n), x.p)
                     WHEN 'sequence' THEN has_sequence_privilege(format('%I.%I', x.s, x.n), x.p) END AS ok
       FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::text[]) AS x(i, k, s, n, p)`,
    (['i', 'k', 's', 'n', 'p'] as const).map((key) => asked.map((a) => a[key])),
  );
  const { rows: who } = await c.query<{ role: string }>('SELECT current_user AS role');
  return {
    role: who[0]!.role,
    held: needs.map((n, i) => ({ ...n, held: rows.filter((r) => r.i === i && r.ok).map((r) => r.p) })),
  };
}

/** The GRANTs this endpoint's role lacks for the given needs. */
export async function missingGrantsOn(c: Client, e: Endpoint, needs: readonly Need[]): Promise<SideGrants> {
  const { role, held } = await heldPrivileges(c, needs);
  return { where: describeEndpoint(e), role, grants: missingGrants(role, held) };
}

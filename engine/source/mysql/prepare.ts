// What Preparation asks of a MySQL/MariaDB source: a supported server, a migration the source can
// hold ferry's state for, and the privileges of the migration user, with the GRANTs that supply
// what is missing. Privileges are read from information_schema (global, database and, for the
// migrated database, table grants of the user and its enabled roles).
import type { Connection } from 'mysql2';
import { multiSchema, type Settings } from '../../api/settings.ts';
import { describeEndpoint, type Endpoint } from '../../db/connect.ts';
import { ConfigError } from '../../db/password.ts';
import type { Prepared } from '../dialect.ts';
import { versionNumber } from './catalog.ts';
import { rows } from './connect.ts';
import { storeNameMax } from './fence.ts';

export const MIN_MARIADB = 100600;
export const MIN_MYSQL = 80000;

export interface Server {
  version: string;
  mariadb: boolean;
}

export async function server(c: Connection): Promise<Server> {
  const [r] = await rows(c, 'SELECT VERSION() AS v');
  const version = r!['v']!;
  return { version, mariadb: /mariadb/i.test(version) };
}

/** What the migration needs of the user: per database (or `*` for global) the privileges. */
export interface MysqlNeed {
  /** `*`: global (ON *.*). */
  database: string;
  privileges: readonly string[];
  /** How the GRANT names the database: a pattern such as `ferry\_%` covers every migration's store. */
  grantOn?: string;
}

export function mysqlNeeds(database: string, store: string): MysqlNeed[] {
  return [
    // Reading, the fence and recording triggers, and the metadata-lock probe for writers at the fence.
    { database, privileges: ['SELECT', 'TRIGGER', 'LOCK TABLES'] },
    // ferry's state store, a database of its own.
    {
      database: store,
      privileges: ['CREATE', 'DROP', 'SELECT', 'INSERT', 'UPDATE', 'DELETE', 'ALTER'],
      grantOn: 'ferry\\_%',
    },
    // InnoDB's table ids (a TRUNCATE behind the triggers' back) and the transactions at the fence.
    { database: '*', privileges: ['PROCESS'] },
  ];
}

/** The GRANT statements supplying what `held` lacks of `needs`. Pure. */
export function missingMysqlGrants(
  user: string,
  needs: readonly MysqlNeed[],
  held: (database: string, privilege: string) => boolean,
): string[] {
  return needs.flatMap((n) => {
    const lacking = n.privileges.filter((p) => !held(n.database, p));
    if (!lacking.length) return [];
    const on = n.database === '*' ? '*.*' : `\`${(n.grantOn ?? n.database).replaceAll('`', '``')}\`.*`;
    return [`GRANT ${lacking.join(', ')} ON ${on} TO ${user};`];
  });
}

/** `'ferry'@'%'` from CURRENT_USER()'s `ferry@%`. */
export function grantee(currentUser: string): string {
  const at = currentUser.lastIndexOf('@');
  const q = (s: string) => `'${s.replaceAll("'", "''")}'`;
  return `${q(currentUser.slice(0, at))}@${q(currentUser.slice(at + 1))}`;
}

/** Global and database privileges the user holds (directly or through its enabled roles), and its name. */
async function privileges(
  c: Connection,
): Promise<{ user: string; held: (database: string, privilege: string) => boolean }> {
  const [who] = await rows(c, 'SELECT CURRENT_USER() AS u');
  const global = new Set(
    (await rows(c, 'SELECT PRIVILEGE_TYPE AS p FROM information_schema.USER_PRIVILEGES')).map((r) => r['p']!),
  );
  const schema = await rows(
    c,
    'SELECT TABLE_SCHEMA AS s, PRIVILEGE_TYPE AS p FROM information_schema.SCHEMA_PRIVILEGES',
  );
  // Database grants name patterns (`ferry\_%`): LIKE, with its escapes, decides which they cover.
  const like = (pattern: string, name: string) =>
    new RegExp(
      `^${pattern.replace(/\\(.)|([%_])|([^\\%_])/g, (_, esc: string, wild: string, ch: string) =>
        esc !== undefined
          ? esc.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
          : wild === '%'
            ? '.*'
            : wild === '_'
              ? '.'
              : ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
      )}$`,
      's',
    ).test(name);
  return {
    user: grantee(who!['u']!),
    held: (database, p) =>
      global.has(p) ||
      global.has('ALL PRIVILEGES') ||
      (database !== '*' && schema.some((r) => r['p'] === p && like(r['s']!, database))),
  };
}

export async function prepare(c: Connection, e: Endpoint, s: Settings, store: string): Promise<Prepared> {
  const srv = await server(c);
  const n = versionNumber(srv.version);
  if (srv.mariadb ? n < MIN_MARIADB : n < MIN_MYSQL)
    throw new ConfigError(
      `${describeEndpoint(e)}: ${srv.mariadb ? 'MariaDB' : 'MySQL'} ${srv.version} is not supported ` +
        `(MariaDB 10.6 or MySQL 8.0 or newer)`,
    );
  if (multiSchema(s))
    throw new ConfigError('spec.schemas: a mysql source migrates one database (spec.source.database)');
  if (s.source.schema !== s.source.database)
    throw new ConfigError(
      `spec.source.schema: a MySQL database is its own schema; leave it out or set it to ${s.source.database} (got ${s.source.schema})`,
    );
  const [count] = await rows(
    c,
    'SELECT CAST(COUNT(*) AS CHAR) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?',
    [s.source.database],
  );
  if (store.length > storeNameMax(Number(count!['n'])))
    throw new ConfigError(
      `metadata.name: ${s.name} is too long for a mysql source: ferry's database ${store} and its triggers must fit MySQL's 64 characters`,
    );
  const { user, held } = await privileges(c);
  const grants = missingMysqlGrants(user, mysqlNeeds(s.source.database, store), held);
  // With a binary log, only SUPER may create triggers unless the server trusts their creators.
  const [log] = await rows(
    c,
    'SELECT CAST(@@log_bin AS CHAR) AS b, CAST(@@log_bin_trust_function_creators AS CHAR) AS t',
  );
  if (log!['b'] === '1' && log!['t'] === '0' && !held('*', 'SUPER'))
    grants.push('SET GLOBAL log_bin_trust_function_creators = 1; -- and in the server configuration');
  return {
    server: `${srv.mariadb ? 'MariaDB' : 'MySQL'} ${srv.version}`,
    missing: { where: describeEndpoint(e), role: user, grants },
  };
}

// The source dialect a migration speaks, chosen by spec.source.engine. An engine without a dialect
// is refused before anything connects.
import type { Settings } from '../api/settings.ts';
import { endpoint } from '../db/connect.ts';
import type { Logger } from '../log.ts';
import type { SourceDialect } from './dialect.ts';
import { MssqlDialect } from './mssql/dialect.ts';
import { MysqlDialect } from './mysql/dialect.ts';
import { PostgresDialect } from './postgres/dialect.ts';

/**
 * `password` and `rootCert` come from callers that read them themselves (the operator, from Secrets);
 * `offline` says why this process never connects to the source (ferry import of a system move).
 */
export function dialectOf(
  settings: Settings,
  shadow: string,
  log: Logger,
  password?: string,
  rootCert?: string,
  offline?: string,
): SourceDialect {
  const engine = settings.source.engine;
  const source = () => endpoint('source', settings.source, settings.name, password, rootCert, offline);
  switch (engine) {
    case 'postgres':
      return new PostgresDialect(source(), settings, shadow, log);
    case 'mysql':
      return new MysqlDialect(source(), settings, shadow, log);
    case 'mssql':
      return new MssqlDialect(source(), settings, shadow, log);
  }
}

// What every source dialect is built from: the source's endpoint, the migration's settings, the name
// of ferry's state store on the source, and the log.
import type { Settings } from '../api/settings.ts';
import { describeEndpoint, type Endpoint } from '../db/connect.ts';
import type { Logger } from '../log.ts';

export abstract class DialectBase {
  /** `source user@host:port/database`, for messages. */
  readonly where: string;
  readonly endpoint: Endpoint;
  readonly settings: Settings;
  /** ferry's state store: the shadow schema (PostgreSQL), the database (MySQL) `ferry_<migration>`. */
  readonly shadow: string;
  readonly log: Logger;

  constructor(endpoint: Endpoint, settings: Settings, shadow: string, log: Logger) {
    this.endpoint = endpoint;
    this.settings = settings;
    this.shadow = shadow;
    this.log = log;
    this.where = describeEndpoint(endpoint);
  }
}

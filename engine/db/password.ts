// Where a password comes from. Inside a transfer Pod the operator puts the Secret's value in
// FERRY_<ROLE>_PASSWORD; the CLI reads an environment variable or a file the manifest names.
// Errors name the source of the password, never its value.
import { readFileSync } from 'node:fs';
import type { PasswordSource } from '../api/migration.ts';

export type Role = 'source' | 'target';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export const passwordEnvVar = (role: Role) => `FERRY_${role.toUpperCase()}_PASSWORD`;

export function resolvePassword(
  role: Role,
  from: PasswordSource | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string {
  const injected = env[passwordEnvVar(role)];
  if (injected !== undefined) return injected;
  // Only a system move's stage goes without, and it never connects to that side.
  if (!from) throw new ConfigError(`spec.${role}.password: required to connect to the ${role}`);
  if (from.env !== undefined) {
    const v = env[from.env];
    if (v === undefined)
      throw new ConfigError(`spec.${role}.password.env: environment variable ${from.env} is not set`);
    return v;
  }
  if (from.file !== undefined) {
    try {
      return readFileSync(from.file, 'utf8').replace(/\r?\n$/, '');
    } catch (e) {
      throw new ConfigError(
        `spec.${role}.password.file: cannot read ${from.file}: ${(e as NodeJS.ErrnoException).code ?? e}`,
      );
    }
  }
  const ref = from.secretKeyRef;
  throw new ConfigError(
    `spec.${role}.password.secretKeyRef: Secret ${ref?.name}/${ref?.key} is only readable in a cluster; ` +
      `outside one, set ${passwordEnvVar(role)} or use password.env or password.file`,
  );
}

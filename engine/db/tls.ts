// TLS to the databases: what each sslMode checks, and where the CA comes from. Inside a transfer Pod
// the operator puts the CA of a Secret or ConfigMap in FERRY_<ROLE>_SSLROOTCERT; the CLI reads the
// file the manifest names.
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { RootCertSource, SslMode } from '../api/migration.ts';
import { ConfigError, type Role } from './password.ts';

export const rootCertEnvVar = (role: Role) => `FERRY_${role.toUpperCase()}_SSLROOTCERT`;

export const checksCertificate = (mode: SslMode) => mode === 'verify-ca' || mode === 'verify-full';

/** The CA (PEM) to check the server certificate against; none: Node.js's public CAs. */
export function resolveRootCert(
  role: Role,
  from: RootCertSource | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const injected = env[rootCertEnvVar(role)];
  if (injected !== undefined) return injected;
  if (!from) return undefined;
  if (from.file !== undefined) {
    try {
      return readFileSync(from.file, 'utf8');
    } catch (e) {
      throw new ConfigError(
        `spec.${role}.sslRootCert.file: cannot read ${from.file}: ${(e as NodeJS.ErrnoException).code ?? e}`,
      );
    }
  }
  const [kind, ref] = from.secretKeyRef ? ['Secret', from.secretKeyRef] : ['ConfigMap', from.configMapKeyRef];
  throw new ConfigError(
    `spec.${role}.sslRootCert: ${kind} ${ref?.name}/${ref?.key} is only readable in a cluster; ` +
      `outside one, set ${rootCertEnvVar(role)} or use sslRootCert.file`,
  );
}

/**
 * The driver's TLS options. require encrypts but takes any certificate (a man in the middle is not
 * detected); verify-ca checks the chain up to the CA but not the name; verify-full checks both, the
 * name against the host the manifest gives (DNS name or IP address in the subjectAltName).
 */
export function tlsOptions(mode: SslMode, ca: string | undefined): false | ConnectionOptions {
  switch (mode) {
    case 'disable':
      return false;
    case 'require':
      return { rejectUnauthorized: false };
    case 'verify-ca':
      return { rejectUnauthorized: true, ca, checkServerIdentity: () => undefined };
    case 'verify-full':
      return { rejectUnauthorized: true, ca };
  }
}

const UNTRUSTED = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
]);

/** A TLS failure in words naming what was checked, or undefined for other errors. */
export function explainTls(role: Role, host: string, err: unknown): string | undefined {
  const code = (err as { code?: string }).code ?? '';
  const msg = err instanceof Error ? err.message : String(err);
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID')
    return `the server's certificate does not name host ${host} (sslMode verify-full checks the host name): ${msg}`;
  if (UNTRUSTED.has(code))
    return `the server's certificate is not signed by a trusted CA (spec.${role}.sslRootCert, or Node.js's public CAs without one): ${code}`;
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID')
    return `the server's certificate is not valid now: ${code}`;
  if (/does not support SSL/i.test(msg))
    return `the server does not accept TLS connections (spec.${role}.sslMode asks for TLS)`;
  return undefined;
}

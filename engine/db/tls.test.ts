import { describe, expect, it } from 'vitest';
import { resolveRootCert, tlsOptions } from './tls.ts';

describe('TLS settings', () => {
  it('takes the CA a transfer Pod was given before the manifest’s source', () => {
    const env = { FERRY_TARGET_SSLROOTCERT: 'PEM' };
    expect(resolveRootCert('target', { secretKeyRef: { name: 'ca', key: 'ca.crt' } }, env)).toBe('PEM');
    expect(resolveRootCert('source', undefined, env)).toBeUndefined();
  });

  it('names the field when the CA cannot be read', () => {
    expect(() => resolveRootCert('source', { file: '/nonexistent/ca.pem' }, {})).toThrow(
      'spec.source.sslRootCert.file: cannot read /nonexistent/ca.pem: ENOENT',
    );
    expect(() => resolveRootCert('target', { configMapKeyRef: { name: 'ca', key: 'ca.crt' } }, {})).toThrow(
      'spec.target.sslRootCert: ConfigMap ca/ca.crt is only readable in a cluster; outside one, set FERRY_TARGET_SSLROOTCERT or use sslRootCert.file',
    );
  });

  it('checks the certificate in verify-ca and verify-full only, the host name in verify-full only', () => {
    expect(tlsOptions('disable', 'CA')).toBe(false);
    expect(tlsOptions('require', 'CA')).toEqual({ rejectUnauthorized: false });
    const ca = tlsOptions('verify-ca', 'CA') as { checkServerIdentity: () => unknown };
    expect(ca).toMatchObject({ rejectUnauthorized: true, ca: 'CA' });
    expect(ca.checkServerIdentity()).toBeUndefined();
    expect(tlsOptions('verify-full', 'CA')).toEqual({ rejectUnauthorized: true, ca: 'CA' });
  });
});

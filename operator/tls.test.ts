import { describe, expect, it } from 'vitest';
import type { Migration } from './kube.ts';
import { rootCertEnv } from './tls.ts';

const migration = (source: object, target: object) =>
  ({ metadata: { name: 'm', namespace: 'ns' }, spec: { source, target } }) as unknown as Migration;

describe('transfer Pod CA environment', () => {
  it('hands each checking side its CA from the Secret or ConfigMap the spec names', () => {
    expect(
      rootCertEnv(
        migration(
          { sslMode: 'verify-full', sslRootCert: { secretKeyRef: { name: 'db-ca', key: 'ca.crt' } } },
          {
            sslMode: 'verify-ca',
            sslRootCert: { configMapKeyRef: { name: 'kube-root-ca.crt', key: 'ca.crt' } },
          },
        ),
      ),
    ).toEqual([
      { name: 'FERRY_SOURCE_SSLROOTCERT', valueFrom: { secretKeyRef: { name: 'db-ca', key: 'ca.crt' } } },
      {
        name: 'FERRY_TARGET_SSLROOTCERT',
        valueFrom: { configMapKeyRef: { name: 'kube-root-ca.crt', key: 'ca.crt' } },
      },
    ]);
  });

  it('gives none where no certificate is checked or no CA is named', () => {
    expect(rootCertEnv(migration({ sslMode: 'verify-full' }, { sslMode: 'require' }))).toEqual([]);
  });
});

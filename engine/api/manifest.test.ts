import { describe, expect, it } from 'vitest';
import { parseManifest } from './manifest.ts';
import { parseQuantity, resolveSettings } from './settings.ts';
import { problems } from '../../test/support/manifest.ts';

const base = `
apiVersion: ferry.dev/v1alpha1
kind: Migration
metadata: { name: demo }
spec:
  source: { engine: postgres, host: 127.0.0.1, port: 5432, database: app, user: app, password: { env: SRC_PW } }
  target: { engine: postgres, host: 127.0.0.1, port: 5433, database: app, user: app, password: { env: DST_PW } }
`;

describe('manifest', () => {
  it('accepts a minimal manifest and fills every default', () => {
    const s = resolveSettings(parseManifest(base, 'm.yaml'));
    expect(s).toMatchObject({
      name: 'demo',
      mode: 'Standard',
      method: 'Pipe',
      parallelism: 4,
      tableGroups: 4,
      validation: 'Checksum',
      include: ['*'],
      exclude: [],
      splitAboveBytes: 16 * 1024 ** 3,
    });
    expect(s.source.schema).toBe('public');
    expect(s.target.schema).toBe('public');
  });

  it('takes a MySQL database as its own schema, the target schema named after it', () => {
    const s = resolveSettings(
      parseManifest(
        base.replace('engine: postgres, host: 127.0.0.1, port: 5432', 'engine: mysql, host: 127.0.0.1'),
        'm.yaml',
      ),
    );
    expect(s.source).toMatchObject({ engine: 'mysql', port: 3306, database: 'app', schema: 'app' });
    expect(s.target.schema).toBe('app');
  });

  it('ignores other documents in the file, such as Secrets', () => {
    const s = parseManifest(`apiVersion: v1\nkind: Secret\nmetadata: {name: x}\n---\n${base}`, 'm.yaml');
    expect(s.metadata.name).toBe('demo');
  });

  it('names a misspelled field and suggests the right one', () => {
    expect(problems(`${base}  transfer: { parallelsim: 4 }\n`)).toEqual([
      'spec.transfer.parallelsim: unknown field (did you mean parallelism?)',
    ]);
  });

  it('names a bad enum value with the allowed ones', () => {
    expect(problems(`${base}  mode: Fast\n`)).toContain(
      'spec.mode: must be one of Standard, DowntimeOptimized (got "Fast")',
    );
  });

  it('takes spec.objects.skipUnsupported (default false) and names a wrong value or a misspelling', () => {
    expect(resolveSettings(parseManifest(base, 'm.yaml')).skipUnsupported).toBe(false);
    expect(
      resolveSettings(parseManifest(`${base}  objects: { skipUnsupported: true }\n`, 'm.yaml'))
        .skipUnsupported,
    ).toBe(true);
    expect(problems(`${base}  objects: { skipUnsupported: yes please }\n`).join('\n')).toMatch(
      /spec\.objects\.skipUnsupported: .*boolean/,
    );
    expect(problems(`${base}  objects: { skipUnsuported: true }\n`)).toEqual([
      'spec.objects.skipUnsuported: unknown field (did you mean skipUnsupported?)',
    ]);
  });

  it('names out-of-range numbers and missing fields', () => {
    expect(problems(`${base}  transfer: { parallelism: 0 }\n`).join('\n')).toMatch(
      /spec\.transfer\.parallelism: .*1/,
    );
    expect(
      problems(
        base.replace(
          'database: app, user: app, password: { env: SRC_PW } ',
          'user: app, password: { env: SRC_PW } ',
        ),
      ),
    ).toContain('spec.source.database: required');
  });

  it('refuses an inline password and asks for exactly one password source', () => {
    expect(problems(base.replace('password: { env: SRC_PW }', 'password: secret'))[0]).toMatch(
      /^spec\.source\.password: /,
    );
    expect(problems(base.replace('password: { env: SRC_PW }', 'password: { env: A, file: /x }'))).toContain(
      'spec.source.password: give exactly one of secretKeyRef, env, file',
    );
  });

  it('takes sslMode verify-ca/verify-full with a CA from one source, and a CA only where it is checked', () => {
    const src = (tls: string) =>
      base.replace('password: { env: SRC_PW } }', `password: { env: SRC_PW }, ${tls} }`);
    const ok = parseManifest(src('sslMode: verify-full, sslRootCert: { file: /etc/ca.pem }'), 'm.yaml');
    expect(resolveSettings(ok).source).toMatchObject({
      sslMode: 'verify-full',
      sslRootCert: { file: '/etc/ca.pem' },
    });
    expect(resolveSettings(ok).target).toMatchObject({ sslMode: 'disable', sslRootCert: undefined });
    expect(
      problems(src('sslMode: verify-ca, sslRootCert: { configMapKeyRef: { name: ca, key: ca.crt } }')),
    ).toEqual([]);
    expect(problems(src('sslMode: verify-full'))).toEqual([]);
    expect(
      problems(src('sslMode: require, sslRootCert: { secretKeyRef: { name: ca, key: ca.crt } }')),
    ).toEqual([
      'spec.source.sslRootCert: only used with sslMode verify-ca or verify-full (got sslMode "require", which does not check the certificate)',
    ]);
    expect(
      problems(src('sslMode: verify-full, sslRootCert: { file: /a, configMapKeyRef: { name: ca, key: k } }')),
    ).toContain('spec.source.sslRootCert: give exactly one of secretKeyRef, configMapKeyRef, file');
    expect(problems(src('sslMode: verify'))[0]).toBe(
      'spec.source.sslMode: must be one of disable, require, verify-ca, verify-full (got "verify")',
    );
  });

  it('requires exactly one Migration document', () => {
    expect(problems('apiVersion: v1\nkind: Secret\n')).toEqual([
      'expected exactly one document of kind Migration, found 0',
    ]);
  });

  it('refuses a splitAbove that would cut tables into a chunk per row, naming the field once', () => {
    for (const q of ['0', '0Mi', '000Ki', '1k', '65535'])
      expect(problems(`${base}  transfer: { splitAbove: '${q}' }\n`), q).toEqual([
        `spec.transfer.splitAbove: must be at least 64Ki (got ${q}); smaller would cut tables into about one chunk per row`,
      ]);
    expect(problems(`${base}  transfer: { splitAbove: 64Ki }\n`)).toEqual([]);
    expect(problems(`${base}  transfer: { splitAbove: 1Mi }\n`)).toEqual([]);
    expect(problems(`${base}  transfer: { splitAbove: lots }\n`)).toEqual([
      expect.stringMatching(/^spec\.transfer\.splitAbove: /),
    ]);
  });

  it('bounds chunkRows, parallelism and tableGroups', () => {
    const bad = {
      'chunkRows: 0': /spec\.transfer\.chunkRows: .*1000/,
      'chunkRows: 999': /spec\.transfer\.chunkRows: .*1000/,
      'chunkRows: 1.5': /spec\.transfer\.chunkRows: /,
      'parallelism: 65': /spec\.transfer\.parallelism: .*64/,
      'parallelism: -1': /spec\.transfer\.parallelism: .*1/,
      'tableGroups: 0': /spec\.transfer\.tableGroups: .*1/,
      'tableGroups: 257': /spec\.transfer\.tableGroups: .*256/,
    };
    for (const [field, message] of Object.entries(bad))
      expect(problems(`${base}  transfer: { ${field} }\n`).join('\n'), field).toMatch(message);
    expect(problems(`${base}  transfer: { chunkRows: 1000, parallelism: 64, tableGroups: 256 }\n`)).toEqual(
      [],
    );
  });

  it('passes metadata.uid through: the operator records it as the owner', () => {
    const s = resolveSettings(
      parseManifest(base.replace('{ name: demo }', '{ name: demo, namespace: a, uid: u-1 }'), 'm.yaml'),
    );
    expect([s.namespace, s.uid]).toEqual(['a', 'u-1']);
    expect(resolveSettings(parseManifest(base, 'm.yaml')).uid).toBeUndefined();
  });

  it('parses quantities', () => {
    expect(parseQuantity('256Mi')).toBe(268435456);
    expect(parseQuantity('2G')).toBe(2e9);
    expect(parseQuantity('1000')).toBe(1000);
  });
});

describe('manifest: dump volume and system move', () => {
  const noPassword = (role: 'source' | 'target') =>
    base.replace(role === 'source' ? ', password: { env: SRC_PW }' : ', password: { env: DST_PW }', '');
  const move = (stage: string, more = '') =>
    `  transfer: { method: Dump, volume: { claimName: ferry-dump } }\n  systemMove: { stage: ${stage}${more} }\n`;

  it('takes a volume instead of dumpDir (in a cluster), not both', () => {
    const s = resolveSettings(
      parseManifest(
        `${base}  transfer: { method: Dump, volume: { claimName: ferry-dump, path: a/b } }\n`,
        'm',
      ),
    );
    expect(s.dumpDir).toBeUndefined();
    expect(
      problems(`${base}  transfer: { method: Dump, dumpDir: /d, volume: { claimName: ferry-dump } }\n`),
    ).toEqual(['spec.transfer.volume: give dumpDir (ferry CLI) or volume (in a cluster), not both']);
    expect(problems(`${base}  transfer: { volume: { claimName: ferry-dump } }\n`)).toEqual([
      'spec.transfer.volume: only used with method Dump (got method "Pipe")',
    ]);
    // A path that could leave the volume.
    expect(
      problems(`${base}  transfer: { method: Dump, volume: { claimName: ferry-dump, path: ../x } }\n`),
    ).toHaveLength(1);
  });

  it('refuses the Dump method for a mysql source, naming why', () => {
    const mysql = base.replace(
      'engine: postgres, host: 127.0.0.1, port: 5432',
      'engine: mysql, host: 127.0.0.1',
    );
    expect(problems(`${mysql}  transfer: { method: Dump, dumpDir: /d }\n`)).toEqual([
      'spec.transfer.method: Dump needs a postgres source (a mysql source cannot yet export a chunk with its digest from one snapshot); use method Pipe',
    ]);
    expect(problems(`${mysql}  transfer: { method: Pipe }\n`)).toEqual([]);
  });

  it('goes without the password of the side the stage never connects to, and only that one', () => {
    expect(resolveSettings(parseManifest(`${noPassword('source')}${move('Import')}`, 'm')).systemMove).toBe(
      'Import',
    );
    expect(problems(`${noPassword('target')}${move('Export')}`)).toEqual([]);
    expect(problems(`${noPassword('source')}${move('Export')}`)).toEqual([
      'spec.source.password: required (only spec.systemMove.stage Import, which never connects to the source, goes without)',
    ]);
    expect(problems(noPassword('target'))).toEqual([
      'spec.target.password: required (only spec.systemMove.stage Export, which never connects to the target, goes without)',
    ]);
  });

  it('needs method Dump and mode Standard, and a confirmation only on the Export side', () => {
    expect(problems(`${base}  systemMove: { stage: Export }\n`)).toEqual([
      'spec.systemMove: a system move carries a dump from one side to the other: it needs spec.transfer.method: Dump',
    ]);
    expect(problems(`${base}${move('Import')}  mode: DowntimeOptimized\n`)).toEqual([
      'spec.systemMove: mode DowntimeOptimized cannot be moved: its replay needs both databases up to the cutover; use mode Standard',
    ]);
    expect(problems(`${base}${move('Import', ', importCompleted: abc')}`)).toEqual([
      'spec.systemMove.importCompleted: only the Export stage waits for the confirmation of its import',
    ]);
    expect(problems(`${base}${move('Export', ', importCompleted: abc')}`)).toEqual([]);
    expect(problems(`${base}${move('Sideways')}`)).toContain(
      'spec.systemMove.stage: must be one of Export, Import (got "Sideways")',
    );
  });
});

// The Argo CD health checks, run by a real Lua interpreter the way Argo CD runs them, on the
// objects of each kind's testdata (Argo CD's resource_customizations layout: health_test.yaml lists
// input and expected health), plus the harness itself and the generated argocd-cm.yaml.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { MIGRATION_PHASES, TableGroupStatus } from '../../../engine/api/status.ts';
import {
  HEALTH_CODES,
  KINDS,
  argoHealth,
  argocdConfigMap,
  customizationDir,
  healthScript,
  luaString,
  luaValue,
  runHealthLua,
  runLua,
  type HealthStatus,
  type Kind,
} from './health.ts';

interface HealthTest {
  healthStatus: HealthStatus;
  inputPath: string;
}

const healthTests = (kind: Kind): HealthTest[] =>
  (parse(readFileSync(join(customizationDir(kind), 'health_test.yaml'), 'utf8')) as { tests: HealthTest[] })
    .tests;
const input = (kind: Kind, path: string): Record<string, unknown> =>
  parse(readFileSync(join(customizationDir(kind), path), 'utf8')) as Record<string, unknown>;

/** Prints the UTF-8 bytes of a Lua string expression as hex. */
const luaBytes = (expression: string) =>
  runLua(`local s = ${expression} for i = 1, #s do io.write(string.format("%02x", s:byte(i))) end`);

describe.each(KINDS)('%s health.lua', (kind) => {
  const tests = healthTests(kind);

  it.each(tests.map((t) => [t.inputPath, t] as const))('%s', (path, t) => {
    expect(argoHealth(kind, input(kind, path))).toEqual({
      status: t.healthStatus.status,
      message: t.healthStatus.message ?? '',
    });
  });

  it('every testdata file is in health_test.yaml and every input exists, once', () => {
    const listed = tests.map((t) => t.inputPath).sort();
    const files = readdirSync(join(customizationDir(kind), 'testdata'))
      .map((f) => `testdata/${f}`)
      .sort();
    expect(listed).toEqual(files);
    expect(new Set(listed).size).toBe(listed.length);
  });

  it('the testdata are objects of this kind', () => {
    for (const t of tests)
      expect(input(kind, t.inputPath), t.inputPath).toMatchObject({ apiVersion: 'ferry.dev/v1alpha1', kind });
  });

  it('never fails on partial or malformed objects', () => {
    const odd: object[] = [
      {},
      { metadata: 'x', spec: 7, status: 'x' },
      { status: {} },
      { status: { conditions: 'x', phases: 'x', tables: 'x', progress: 'x', lastError: 'x' } },
      { status: { conditions: [{}, 'x', { type: 'Degraded', status: 'True' }], phases: [{}] } },
      {
        status: {
          conditions: [{ type: 'CutoverReady', status: 'True', reason: 'WaitingForCutoverApproval' }],
        },
      },
      { status: { phase: 'Failed', lastError: {} } },
      { status: { phase: 'Failed', lastError: { message: 'x', table: 3, phase: {} } } },
      { status: { phase: 'Running', tables: [{}, 'x', { chunksDone: 'y' }], attempts: 'z' } },
      { metadata: { generation: '2' }, status: { observedGeneration: 1, phase: 'Execution' } },
    ];
    const phases = [...MIGRATION_PHASES, 'Running', 'Succeeded', 'Bogus'];
    for (const phase of phases)
      odd.push({ status: { phase } }, { metadata: { generation: 1 }, status: { phase } });
    for (const obj of odd) {
      const h = argoHealth(kind, obj);
      expect(
        HEALTH_CODES.filter((c) => c !== 'Unknown'),
        JSON.stringify(obj),
      ).toContain(h.status);
    }
  });
});

describe('Migration health by phase', () => {
  // Each phase as the operator writes it: observed generation current, no condition but Ready.
  const expected: Record<(typeof MIGRATION_PHASES)[number], string> = {
    Pending: 'Progressing',
    Preparation: 'Progressing',
    Extraction: 'Progressing',
    Configuration: 'Progressing',
    Checks: 'Progressing',
    PreProcessing: 'Progressing',
    Execution: 'Progressing',
    PostProcessing: 'Progressing',
    Exported: 'Suspended',
    Completed: 'Healthy',
    Failed: 'Degraded',
    RollingBack: 'Progressing',
    RolledBack: 'Healthy',
  };
  it.each([...MIGRATION_PHASES])('%s', (phase) => {
    const obj = {
      metadata: { generation: 4 },
      status: {
        phase,
        observedGeneration: 4,
        conditions: [{ type: 'Ready', status: 'False', message: 'm' }],
      },
    };
    expect(argoHealth('Migration', obj).status).toBe(expected[phase]);
  });

  it('every TableGroup phase of the schema is covered by the testdata', () => {
    const schema = TableGroupStatus.properties.phase as unknown as { anyOf: { const: string }[] };
    const covered = new Set(
      healthTests('TableGroup').map(
        (t) =>
          (input('TableGroup', t.inputPath).status as { phase?: string } | undefined)?.phase ?? 'Pending',
      ),
    );
    expect([...covered].sort()).toEqual(schema.anyOf.map((v) => v.const).sort());
  });
});

describe('Lua harness', () => {
  it.each([
    ['empty', ''],
    ['quotes', `he said "no" and 'yes'`],
    ['backslashes', 'C:\\data\\new \\" \\\\'],
    ['line breaks and tabs', 'a\nb\r\nc\td\n'],
    ['NUL and control bytes', 'a\u0000b\u0001\u001f\u007f'],
    ['escapes followed by digits', '\n123\u00000'],
    ['non-ASCII', 'Jürgen aus Köln – 日本語 😀'],
    ['Lua syntax', ']]--[==[ ${x} %s \\z'],
  ])('luaString keeps the bytes: %s', (_, text) => {
    expect(luaString(text)).toMatch(/^"[\x20-\x7e]*"$/);
    expect(luaBytes(luaString(text))).toBe(Buffer.from(text, 'utf8').toString('hex'));
  });

  it('luaValue builds the table Argo CD builds: nulls absent, integers print as integers', () => {
    const value = {
      n: 3,
      f: 42.5,
      neg: -7,
      big: 1843210000,
      t: true,
      s: 'x"y',
      'odd key "\n': 1,
      gone: null,
      list: [1, null, 'b'],
      empty: {},
      nested: { deeper: [{ a: 'z' }] },
    };
    const out = runLua(
      `local v = ${luaValue(value)}
       print(tostring(v.n), tostring(v.f), tostring(v.neg), tostring(v.big), tostring(v.t), v.s, v["odd key \\"\\n"],
         tostring(v.gone), #v.list, v.list[2], next(v.empty) == nil, v.nested.deeper[1].a)`,
    );
    expect(out).toBe(
      ['3', '42.5', '-7', '1843210000', 'true', 'x"y', '1', 'nil', '2', 'b', 'true', 'z'].join('\t') + '\n',
    );
  });

  it('gives the script only what Argo CD opens: no string or math library, no string methods, no io', () => {
    const obj = { metadata: { name: 'shop' } };
    const run = (expression: string) =>
      runHealthLua(`return { status = "Healthy", message = tostring(${expression}) }`, obj);
    expect(run('obj.metadata.name')).toEqual({ status: 'Healthy', message: 'shop' });
    expect(run('string')).toEqual({ status: 'Healthy', message: 'nil' });
    expect(run('math')).toEqual({ status: 'Healthy', message: 'nil' });
    expect(run('io')).toEqual({ status: 'Healthy', message: 'nil' });
    expect(run('table.concat({ "a", "b" }, "-")')).toEqual({ status: 'Healthy', message: 'a-b' });
    expect(() => run('obj.metadata.name:upper()')).toThrow(/health.lua:1:/);
  });

  it('treats the result as Argo CD does', () => {
    const obj = {};
    expect(runHealthLua('return { status = "Fine" }', obj)).toEqual({
      status: 'Unknown',
      message: 'Lua returned an invalid health status',
    });
    expect(runHealthLua('return {}', obj)).toEqual({
      status: 'Unknown',
      message: 'Lua returned an invalid health status',
    });
    expect(runHealthLua('hs = { status = "Healthy" } return hs', obj)).toEqual({
      status: 'Healthy',
      message: '',
    });
    expect(runHealthLua('print("noise") return { status = "Degraded", message = "m" }', obj)).toEqual({
      status: 'Degraded',
      message: 'm',
    });
    expect(() => runHealthLua('return "Healthy"', obj)).toThrow(
      /expect table output from Lua script, not string/,
    );
    expect(() => runHealthLua('return { status = 1 }', obj)).toThrow(/status is a number/);
    expect(() => runHealthLua('error("boom")', obj)).toThrow(/boom/);
    expect(() => runHealthLua('return {', obj)).toThrow(/health.lua/);
  });

  it('passes the object as JSON, as the apiserver sends it', () => {
    const when = new Date('2025-03-14T09:12:03Z');
    expect(
      runHealthLua('return { status = "Healthy", message = obj.metadata.creationTimestamp }', {
        metadata: { creationTimestamp: when, skipped: undefined },
      }),
    ).toEqual({ status: 'Healthy', message: '2025-03-14T09:12:03.000Z' });
  });
});

describe('examples/argocd/argocd-cm.yaml', () => {
  it('holds each health.lua byte for byte under its argocd-cm key', () => {
    const cm = parse(argocdConfigMap()) as {
      kind: string;
      metadata: { name: string };
      data: Record<string, string>;
    };
    expect(cm).toMatchObject({ kind: 'ConfigMap', metadata: { name: 'argocd-cm' } });
    expect(cm.data).toEqual(
      Object.fromEntries(
        KINDS.map((k) => [`resource.customizations.health.ferry.dev_${k}`, healthScript(k)]),
      ),
    );
  });
});

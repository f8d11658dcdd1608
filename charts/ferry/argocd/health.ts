// Runs ferry's Argo CD health checks (ferry.dev/<Kind>/health.lua beside this file, laid out like
// Argo CD's resource_customizations) with a real Lua interpreter, the way Argo CD runs them: the
// live object as the global `obj`, only the libraries Argo CD opens for a script from argocd-cm
// (base, table and a few os functions: no string, no math, no string methods), the chunk's return
// value as the health. Also renders examples/argocd/argocd-cm.yaml from the same scripts.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export type Kind = 'Migration' | 'TableGroup';
export const KINDS: readonly Kind[] = ['Migration', 'TableGroup'];

export interface HealthStatus {
  status: string;
  message: string;
}

/** The health codes Argo CD accepts from a script; anything else becomes Unknown. */
export const HEALTH_CODES = ['Healthy', 'Progressing', 'Degraded', 'Suspended', 'Missing', 'Unknown'];

export const ROOT = resolve(import.meta.dirname, '../../..');
export const ARGOCD_CM = 'examples/argocd/argocd-cm.yaml';
const INTERPRETERS = ['lua5.4', 'lua5.3', 'lua'];
const TIMEOUT_MS = 10_000;

export const customizationDir = (kind: Kind) => join(import.meta.dirname, 'ferry.dev', kind);
export const healthScript = (kind: Kind) => readFileSync(join(customizationDir(kind), 'health.lua'), 'utf8');

/**
 * A Lua string literal for any text: its UTF-8 bytes, printable ASCII as is, every other byte (and
 * `"` and `\`) as a three-digit decimal escape, which every Lua version reads the same way and a
 * following digit cannot extend.
 */
export function luaString(text: string): string {
  let out = '"';
  for (const byte of Buffer.from(text, 'utf8')) {
    out +=
      byte >= 0x20 && byte < 0x7f && byte !== 0x22 && byte !== 0x5c
        ? String.fromCharCode(byte)
        : `\\${String(byte).padStart(3, '0')}`;
  }
  return `${out}"`;
}

/**
 * A Lua expression for a JSON value, built as Argo CD builds `obj` (util/lua decodeValue): objects
 * and arrays become tables, a null member is absent, a null array element is dropped (gopher-lua's
 * Append ignores nil). Integers are written as integers so that tostring() prints `3`, not `3.0`,
 * as gopher-lua does.
 */
export function luaValue(value: unknown): string {
  if (value === null || value === undefined) return 'nil';
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return luaString(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`no JSON number: ${value}`);
    return Object.is(value, -0) ? '0' : String(value);
  }
  if (Array.isArray(value))
    return `{${value
      .filter((v) => v !== null && v !== undefined)
      .map(luaValue)
      .join(', ')}}`;
  if (typeof value === 'object')
    return `{${Object.entries(value)
      .filter(([, v]) => v !== null && v !== undefined)
      .map(([k, v]) => `[${luaString(k)}] = ${luaValue(v)}`)
      .join(', ')}}`;
  throw new Error(`no JSON value: ${typeof value}`);
}

let interpreter: string | undefined;

/** The first Lua interpreter on PATH (lua5.4, lua5.3, lua). */
export function luaInterpreter(): string {
  if (interpreter) return interpreter;
  for (const candidate of INTERPRETERS) {
    const r = spawnSync(candidate, ['-v'], { encoding: 'utf8' });
    if (!r.error && r.status === 0) return (interpreter = candidate);
  }
  throw new Error(`no Lua interpreter (tried ${INTERPRETERS.join(', ')}): apt-get install lua5.4`);
}

/** Runs a Lua chunk (given on standard input) and returns what it printed; throws on a Lua error. */
export function runLua(source: string): string {
  const lua = luaInterpreter();
  const r = spawnSync(lua, ['-'], { input: source, encoding: 'utf8', timeout: TIMEOUT_MS });
  if (r.error) throw new Error(`${lua}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${lua} exited ${r.status ?? r.signal}: ${r.stderr.trim()}`);
  return r.stdout;
}

// Runs after `local SCRIPT, OBJ = <health.lua as a string>, <the object>`, in Lua 5.1 (setfenv) as
// well as 5.2+ (load with an environment). The script gets a fresh
// environment with what Argo CD opens; `print` goes to standard error so that it cannot be taken
// for the result. Results travel hex-encoded: any bytes, no quoting.
const DRIVER = `
local sbyte, sformat, concat = string.byte, string.format, table.concat
local function hex(s)
  local out = {}
  for i = 1, #s do out[i] = sformat("%02x", sbyte(s, i)) end
  return concat(out)
end
local env = {}
for _, name in ipairs({ "assert", "error", "getmetatable", "ipairs", "next", "pairs", "pcall", "rawequal",
  "rawget", "rawset", "select", "setmetatable", "tonumber", "tostring", "type", "xpcall", "_VERSION" }) do
  env[name] = _G[name]
end
env.unpack = table.unpack or unpack
env.table = {}
for k, v in pairs(table) do env.table[k] = v end
env.os = { time = os.time, date = os.date, clock = os.clock, difftime = os.difftime }
env.print = function(...)
  local parts = { ... }
  for i = 1, select("#", ...) do parts[i] = tostring(parts[i]) end
  io.stderr:write(concat(parts, "\\t"), "\\n")
end
env._G = env
env.obj = OBJ
local chunk, err
if setfenv then
  chunk, err = loadstring(SCRIPT, "=health.lua")
  if chunk then setfenv(chunk, env) end
else
  chunk, err = load(SCRIPT, "=health.lua", "t", env)
end
if not chunk then
  io.write("ERR ", hex(tostring(err)), "\\n")
  return
end
local strings = getmetatable("")
local index = strings.__index
strings.__index = nil
local ok, hs = pcall(chunk)
strings.__index = index
if not ok then
  io.write("ERR ", hex(tostring(hs)), "\\n")
elseif type(hs) ~= "table" then
  io.write("TYPE ", type(hs), "\\n")
else
  io.write("OK ", type(hs.status), " ", hex(tostring(hs.status)), " ", type(hs.message), " ", hex(tostring(hs.message)), "\\n")
end
`;

const unhex = (s: string) => Buffer.from(s, 'hex').toString('utf8');

/**
 * Runs a health script on an object like Argo CD does (util/lua ExecuteHealthLua): a Lua error or a
 * result that is not a table with a string status (and a string message or none) is an error; a
 * status that is not a health code is Unknown with Argo CD's message.
 */
export function runHealthLua(script: string, obj: object): HealthStatus {
  // The object as the apiserver sends it: JSON (Dates become strings, undefined members vanish).
  const json: unknown = JSON.parse(JSON.stringify(obj));
  const out = runLua(`local SCRIPT, OBJ = ${luaString(script)}, ${luaValue(json)}\n${DRIVER}`)
    .trim()
    .split(' ');
  if (out[0] === 'ERR') throw new Error(`health.lua: ${unhex(out[1] ?? '')}`);
  if (out[0] === 'TYPE') throw new Error(`expect table output from Lua script, not ${out[1]}`);
  const [ok, statusType, status, messageType, message] = out;
  if (ok !== 'OK' || out.length !== 5)
    throw new Error(`unexpected output of the Lua driver: ${out.join(' ')}`);
  if (statusType !== 'string' && statusType !== 'nil')
    throw new Error(`health.lua: status is a ${statusType}, not a string`);
  if (messageType !== 'string' && messageType !== 'nil')
    throw new Error(`health.lua: message is a ${messageType}, not a string`);
  const code = statusType === 'string' ? unhex(status!) : '';
  if (!HEALTH_CODES.includes(code))
    return { status: 'Unknown', message: 'Lua returned an invalid health status' };
  return { status: code, message: messageType === 'string' ? unhex(message!) : '' };
}

/** Argo CD's health of a live Migration or TableGroup, from ferry's health.lua for that kind. */
export function argoHealth(kind: Kind, obj: object): HealthStatus {
  return runHealthLua(healthScript(kind), obj);
}

/** examples/argocd/argocd-cm.yaml: the argocd-cm keys with each kind's health.lua inlined. */
export function argocdConfigMap(): string {
  const lines = [
    '# Generated by `npm run generate` from charts/ferry/argocd/ferry.dev/*/health.lua. Do not edit.',
    '# The health checks of ferry.dev Migration and TableGroup for Argo CD, as argocd-cm keys. Merge them',
    '# into the ConfigMap of your Argo CD installation (a patch keeps its other keys):',
    '#   kubectl -n argocd patch configmap argocd-cm --patch-file examples/argocd/argocd-cm.yaml',
    '# (with the argo-cd Helm chart, put the two keys under configs.cm instead). The scripts use only',
    "# Lua's base library, so they need no resource.customizations.useOpenLibs key.",
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    '  name: argocd-cm',
    '  namespace: argocd',
    '  labels:',
    '    app.kubernetes.io/name: argocd-cm',
    '    app.kubernetes.io/part-of: argocd',
    'data:',
  ];
  for (const kind of KINDS) {
    const script = healthScript(kind);
    if (!script.endsWith('\n') || script.endsWith('\n\n') || /^\s|\t|\r| \n/.test(script))
      throw new Error(
        `${kind}/health.lua: no leading blank, tab, CR or trailing blank; one final newline (it becomes a YAML block)`,
      );
    lines.push(`  resource.customizations.health.ferry.dev_${kind}: |`);
    for (const line of script.slice(0, -1).split('\n')) lines.push(line ? `    ${line}` : '');
  }
  return `${lines.join('\n')}\n`;
}

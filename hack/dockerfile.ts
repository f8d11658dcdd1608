// Reading and emulating a Dockerfile without Docker (none runs on ferry's CI): the instructions,
// .dockerignore matching, and a build that applies WORKDIR, COPY, ENV and RUN to a directory per
// stage. The base image's own files are not there: the emulation checks what *we* add.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join, posix, relative } from 'node:path';
import picomatch from 'picomatch';

export interface Instruction {
  line: number;
  op: string;
  args: string;
}

/** Instructions with continuation lines joined and comments dropped, each with its first line number. */
export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let current: { line: number; text: string } | undefined;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!current && (line === '' || line.startsWith('#'))) return;
    if (current && line.startsWith('#')) return;
    const continued = line.endsWith('\\');
    const body = continued ? line.slice(0, -1).trim() : line;
    current = current ? { ...current, text: `${current.text} ${body}` } : { line: i + 1, text: body };
    if (continued) return;
    const m = /^(\S+)\s*(.*)$/.exec(current.text)!;
    out.push({ line: current.line, op: m[1]!.toUpperCase(), args: m[2]!.trim() });
    current = undefined;
  });
  return out;
}

export interface Stage {
  index: number;
  name?: string;
  image: string;
  from: Instruction;
  instructions: Instruction[];
}

const expand = (s: string, vars: Record<string, string>) =>
  s.replace(/\$\{(\w+)\}|\$(\w+)/g, (all, a?: string, b?: string) => vars[(a ?? b)!] ?? all);

/** The stages, with `${ARG}` defaults declared before the first FROM expanded in their images. */
export function stages(instructions: Instruction[]): Stage[] {
  const args: Record<string, string> = {};
  const out: Stage[] = [];
  for (const ins of instructions) {
    if (ins.op === 'ARG' && out.length === 0) {
      const [k, v] = ins.args.split('=', 2);
      if (v !== undefined) args[k!] = v;
    } else if (ins.op === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (!m) throw new Error(`line ${ins.line}: cannot read FROM ${ins.args}`);
      out.push({ index: out.length, name: m[2], image: expand(m[1]!, args), from: ins, instructions: [] });
    } else if (out.length) out[out.length - 1]!.instructions.push(ins);
  }
  return out;
}

/** Pinned: a digest, or a tag naming an exact release (x.y.z), never `latest` or a moving major. */
export const isPinned = (image: string) =>
  /@sha256:[a-f0-9]{64}$/.test(image) || /:[^:/@]*\d+\.\d+\.\d+[^:/@]*$/.test(image);

/** The JSON array of an exec-form ENTRYPOINT/CMD/RUN, or undefined for the shell form. */
export function execForm(args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  const v = JSON.parse(args) as unknown;
  return Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : undefined;
}

export interface Copy {
  from?: string;
  sources: string[];
  dest: string;
}

export function copyArgs(args: string): Copy {
  const words = args.split(/\s+/);
  let from: string | undefined;
  while (words[0]?.startsWith('--')) {
    const flag = words.shift()!;
    if (flag.startsWith('--from=')) from = flag.slice('--from='.length);
  }
  return { from, sources: words.slice(0, -1), dest: words[words.length - 1]! };
}

/** `K=V K2="V 2"` pairs (the legacy `K V` form too). */
export function envPairs(args: string): [string, string][] {
  if (!/^\S+=/.test(args)) {
    const [k, ...rest] = args.split(/\s+/);
    return [[k!, rest.join(' ')]];
  }
  return [...args.matchAll(/(\w+)=("(?:[^"\\]|\\.)*"|\S*)/g)].map((m) => [
    m[1]!,
    m[2]!.startsWith('"') ? (JSON.parse(m[2]!) as string) : m[2]!,
  ]);
}

/** Whether .dockerignore excludes a path of the context (Docker's rules: last match wins, `!` re-includes). */
export function dockerignore(text: string): (path: string) => boolean {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const p = posix.normalize((negate ? l.slice(1) : l).replace(/^\/+/, '')).replace(/\/$/, '');
      return { negate, match: picomatch([p, `${p}/**`], { dot: true }) };
    });
  return (path) => {
    let excluded = false;
    for (const r of rules) if (r.match(path)) excluded = !r.negate;
    return excluded;
  };
}

export interface BuiltStage {
  root: string;
  workdir: string;
  env: Record<string, string>;
  user?: string;
  entrypoint?: string[];
  cmd?: string[];
}

export interface EmulateOptions {
  context: string;
  dockerfile: string;
  ignore: string;
  /** Where the stages' directories go. */
  out: string;
  /** Runs a RUN command (shell form) in a directory of the stage. */
  run: (command: string, cwd: string) => void;
}

/** Copies a context path, leaving out what .dockerignore excludes. */
function copyFromContext(context: string, src: string, to: string, excluded: (p: string) => boolean): void {
  const from = join(context, src);
  if (statSync(from).isDirectory()) {
    mkdirSync(to, { recursive: true });
    for (const e of readdirSync(from)) {
      const rel = relative(context, join(from, e));
      if (!excluded(rel)) copyFromContext(context, rel, join(to, e), excluded);
    }
  } else cpSync(from, to);
}

export function emulateBuild(o: EmulateOptions): BuiltStage[] {
  const excluded = dockerignore(o.ignore);
  const built: BuiltStage[] = [];
  const all = stages(parseDockerfile(o.dockerfile));
  for (const s of all) {
    const root = join(o.out, `stage-${s.index}`);
    mkdirSync(root, { recursive: true });
    const st: BuiltStage = { root, workdir: '/', env: {} };
    const inRoot = (p: string) => join(root, posix.resolve(st.workdir, p));
    for (const ins of s.instructions) {
      const at = `line ${ins.line} (${ins.op} ${ins.args})`;
      if (ins.op === 'WORKDIR') {
        st.workdir = posix.resolve(st.workdir, ins.args);
        mkdirSync(join(root, st.workdir), { recursive: true });
      } else if (ins.op === 'ENV') {
        for (const [k, v] of envPairs(ins.args))
          st.env[k] = expand(v, { ...st.env, PATH: st.env['PATH'] ?? '' });
      } else if (ins.op === 'USER') st.user = ins.args;
      else if (ins.op === 'ENTRYPOINT') st.entrypoint = execForm(ins.args);
      else if (ins.op === 'CMD') st.cmd = execForm(ins.args);
      else if (ins.op === 'COPY') {
        const c = copyArgs(ins.args);
        const intoDir = c.dest.endsWith('/') || c.sources.length > 1;
        for (const src of c.sources) {
          const target = intoDir ? join(inRoot(c.dest), posix.basename(src)) : inRoot(c.dest);
          if (c.from) {
            const fromStage = all.find((x) => x.name === c.from || String(x.index) === c.from);
            const prior = fromStage && built[fromStage.index];
            if (!prior) throw new Error(`${at}: no earlier stage ${c.from}`);
            const path = join(prior.root, src);
            if (!existsSync(path)) throw new Error(`${at}: ${src} does not exist after stage ${c.from}`);
            cpSync(path, target, { recursive: true, verbatimSymlinks: true });
          } else {
            if (!existsSync(join(o.context, src)))
              throw new Error(`${at}: ${src} is not in the build context`);
            if (excluded(src)) throw new Error(`${at}: ${src} is excluded by .dockerignore`);
            copyFromContext(o.context, src, target, excluded);
          }
        }
      } else if (ins.op === 'RUN') {
        // Only commands confined to the working directory can run outside a container.
        if (execForm(ins.args) || /(^|[\s=])\//.test(ins.args))
          throw new Error(`${at}: the build test runs only shell-form commands without absolute paths`);
        o.run(ins.args, join(root, st.workdir));
      } else if (!['LABEL', 'ARG', 'EXPOSE', 'STOPSIGNAL'].includes(ins.op))
        throw new Error(`${at}: ${ins.op} is not emulated by the build test`);
    }
    built.push(st);
  }
  return built;
}

/** A command on the stage's PATH, as the container would find it. */
export function which(st: BuiltStage, command: string): string | undefined {
  if (command.includes('/')) return existsSync(join(st.root, command)) ? join(st.root, command) : undefined;
  for (const dir of (st.env['PATH'] ?? '').split(':')) {
    const p = join(st.root, dir, command);
    if (dir.startsWith('/') && existsSync(p)) return p;
  }
  return undefined;
}

export const sh = (command: string, cwd: string, env: NodeJS.ProcessEnv) =>
  execFileSync('sh', ['-c', command], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });

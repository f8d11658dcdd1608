// Reading and emulating a Dockerfile without Docker (none runs on ferry's CI): the instructions,
// .dockerignore matching, and a build that applies WORKDIR, COPY, ENV and RUN to a directory per
// stage. The base image's own files are not there: the emulation checks what *we* add.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
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
    // Comments and blank lines are dropped, also between the continuation lines of one instruction.
    if (line === '' || line.startsWith('#')) return;
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

const unquote = (v: string) => (/^"(?:[^"\\]|\\.)*"$/.test(v) ? (JSON.parse(v) as string) : v);

const expand = (s: string, vars: Record<string, string>) =>
  s.replace(/\$\{(\w+)\}|\$(\w+)/g, (all, a?: string, b?: string) => vars[(a ?? b)!] ?? all);

/** The stages, with `${ARG}` defaults declared before the first FROM expanded in their images. */
export function stages(instructions: Instruction[]): Stage[] {
  const args: Record<string, string> = {};
  const out: Stage[] = [];
  for (const ins of instructions) {
    if (ins.op === 'ARG' && out.length === 0) {
      const eq = ins.args.indexOf('=');
      if (eq > 0) args[ins.args.slice(0, eq)] = unquote(ins.args.slice(eq + 1));
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

/** The JSON array of an exec-form ENTRYPOINT/CMD/RUN, or undefined for the shell form (as Docker
 * reads it: what does not parse as a JSON array of strings, `RUN [ -f x ]` say, is the shell form). */
export function execForm(args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  try {
    const v = JSON.parse(args) as unknown;
    return Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : undefined;
  } catch {
    return undefined;
  }
}

export interface Copy {
  from?: string;
  chown?: string;
  sources: string[];
  dest: string;
}

/** `COPY [--from=stage] [--chown=u:g] [--chmod=m] [--link] src... dest`, or its JSON form after the flags. */
export function copyArgs(args: string): Copy {
  let rest = args.trim();
  const flags: Record<string, string> = {};
  for (let m; (m = /^--([\w-]+)(?:=(\S*))?\s+/.exec(rest)); rest = rest.slice(m[0].length))
    flags[m[1]!] = m[2] ?? '';
  const words = execForm(rest) ?? rest.split(/\s+/);
  if (words.length < 2) throw new Error(`COPY ${args}: needs a source and a destination`);
  return { from: flags['from'], chown: flags['chown'], sources: words.slice(0, -1), dest: words.at(-1)! };
}

/** `K=V K2="V 2"` pairs of ENV and LABEL (the legacy `K V` form too). */
export function envPairs(args: string): [string, string][] {
  if (!/^\S+=/.test(args)) {
    const [k, ...rest] = args.split(/\s+/);
    return [[k!, rest.join(' ')]];
  }
  return [...args.matchAll(/([^\s=]+)=("(?:[^"\\]|\\.)*"|\S*)/g)].map((m) => [
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
  /** Runs a RUN command (shell form) in a directory of the stage, with the stage's ENV so far. */
  run: (command: string, cwd: string, env: Record<string, string>) => void;
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
          let path: string;
          if (c.from) {
            const fromStage = all.find((x) => x.name === c.from || String(x.index) === c.from);
            const prior = fromStage && built[fromStage.index];
            if (!prior) throw new Error(`${at}: no earlier stage ${c.from}`);
            path = join(prior.root, posix.resolve(prior.workdir, src));
            if (!existsSync(path)) throw new Error(`${at}: ${src} does not exist after stage ${c.from}`);
          } else {
            path = join(o.context, src);
            if (!existsSync(path)) throw new Error(`${at}: ${src} is not in the build context`);
            if (excluded(posix.normalize(src))) throw new Error(`${at}: ${src} is excluded by .dockerignore`);
          }
          // As Docker does: a directory's contents go into the destination, not the directory itself;
          // a file goes into the destination when that is a directory (ends in / or takes several sources).
          const dir = statSync(path).isDirectory();
          const target = !dir && intoDir ? join(inRoot(c.dest), posix.basename(src)) : inRoot(c.dest);
          mkdirSync(dir ? target : dirname(target), { recursive: true });
          if (c.from) cpSync(path, target, { recursive: true, verbatimSymlinks: true });
          else copyFromContext(o.context, posix.normalize(src), target, excluded);
        }
      } else if (ins.op === 'RUN') {
        // Only commands confined to the working directory can run outside a container.
        if (execForm(ins.args) || /(^|[\s=])\//.test(ins.args))
          throw new Error(`${at}: the build test runs only shell-form commands without absolute paths`);
        try {
          o.run(ins.args, join(root, st.workdir), { ...st.env });
        } catch (e) {
          const err = e as Error & { stderr?: string };
          throw new Error(`${at} failed: ${err.stderr?.trim() || err.message}`, { cause: e });
        }
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

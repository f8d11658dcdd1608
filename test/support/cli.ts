// Running the real `ferry` CLI from tests, as a user would.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { expect } from 'vitest';

export const FERRY = resolve(import.meta.dirname, '../../bin/ferry');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function startFerry(
  args: string[],
  env: Record<string, string>,
): { child: ChildProcess; done: Promise<CliResult> } {
  const child = spawn(FERRY, args, {
    env: { ...process.env, FERRY_LOG_JSON: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliResult>((res) =>
    child.on('close', (code, signal) => res({ code, signal, stdout, stderr })),
  );
  return { child, done };
}

export const ferry = (args: string[], env: Record<string, string>) => startFerry(args, env).done;

/** Whether a process is paused: 'T' once SIGSTOP took effect (FERRY_FAULT_SIGNAL=SIGSTOP). */
export function stopped(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] === 'T';
  } catch {
    return false; // gone
  }
}

/** Waits for ferry to stop at a fault point (FERRY_FAULT_SIGNAL=SIGSTOP); fails with its output when it ended instead. */
export async function untilStopped(run: ReturnType<typeof startFerry>, point: string): Promise<void> {
  let stderr = '';
  let ended: string | undefined;
  run.child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  void run.done.then((r) => (ended = `ferry ended (${r.code}) before ${point}: ${r.stderr}`));
  const there = () => stderr.includes(`fault point ${point} reached`) && stopped(run.child.pid!);
  for (let i = 0; i < 1200 && !there() && !ended; i++) await new Promise((r) => setTimeout(r, 50));
  expect(ended).toBeUndefined();
  expect(there(), `ferry stopped at ${point}`).toBe(true);
}

/** `ferry run` of `file`, its log, and a wait (up to 2 minutes) for a line of it. */
export function startWatched(file: string, env: Record<string, string>) {
  const run = startFerry(['run', '-f', file], env);
  let stderr = '';
  run.child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const until = async (text: string) => {
    for (let i = 0; i < 1200 && !stderr.includes(text); i++) await new Promise((r) => setTimeout(r, 100));
    expect(stderr).toContain(text);
  };
  return { run, stderr: () => stderr, until };
}

/**
 * `ferry run` of a DowntimeOptimized manifest, approving the cutover with `ferry cutover` once
 * `ready` (given the run's log so far) says the run waits for it, until the run ends (killed or
 * completed: nothing, or no need, to approve) or takes the approval: a server restarting under
 * `ferry cutover` fails it, and the run would otherwise wait for approval forever.
 */
export function runApprovingWhen(
  file: string,
  env: Record<string, string>,
  ready: (log: string) => Promise<boolean>,
): { child: ChildProcess; done: Promise<CliResult>; stderr: () => string } {
  const run = startFerry(['run', '-f', file], env);
  let stderr = '';
  let ended = false;
  run.child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const approving = (async () => {
    while (!ended) {
      if ((await ready(stderr)) && (await ferry(['cutover', '-f', file], env)).code === 0) return;
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  const done = run.done.then(async (result) => {
    ended = true;
    await approving;
    return result;
  });
  return { child: run.child, done, stderr: () => stderr };
}

/** `ferry run` of a DowntimeOptimized manifest, approving the cutover once the run says it waits for it. */
export const runApprovingWhenAsked = (file: string, env: Record<string, string>) =>
  runApprovingWhen(file, env, async (log) => log.includes('waiting for cutover approval'));

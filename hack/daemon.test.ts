import { describe, expect, it } from 'vitest';
import { DaemonExited, launchOnPort } from './daemon.ts';

describe('launchOnPort', () => {
  it('picks another free port when the daemon exits because its port was taken', async () => {
    const ports: number[] = [];
    await launchOnPort(
      undefined,
      (p) => ports.push(p),
      async () => {
        if (ports.length < 3) throw new DaemonExited('port taken');
      },
    );
    expect(ports).toHaveLength(3);
    expect(ports.every((p) => p > 0)).toBe(true);
  });

  it('keeps a fixed port, and any other failure, as the error', async () => {
    const exited = () => Promise.reject(new DaemonExited('port taken'));
    await expect(launchOnPort(5432, () => {}, exited)).rejects.toThrow('port taken');
    let tries = 0;
    const broken = () => Promise.reject(new Error(`bad setting ${++tries}`));
    await expect(launchOnPort(undefined, () => {}, broken)).rejects.toThrow('bad setting 1');
  });

  it('gives up after five exits', async () => {
    let tries = 0;
    const exited = () => Promise.reject(new DaemonExited(`exit ${++tries}`));
    await expect(launchOnPort(undefined, () => {}, exited)).rejects.toThrow('exit 5');
  });
});

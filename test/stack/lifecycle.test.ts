// The stack CLI leaves nothing behind: Ctrl-C, SIGKILL of its parent, and up/down as a daemon.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually } from './helpers/poll.ts';
import { repoRoot } from './paths.ts';
import { isAlive } from './process.ts';
import { readState, redisPing, type StackInfo } from './stack.ts';

const cli = join(repoRoot, 'test', 'stack', 'cli.ts');
const scratch = mkdtempSync(join(tmpdir(), 'nodeheal-lifecycle-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function stackCli(stateFile: string, args: string[]) {
  return spawn(process.execPath, [cli, ...args], {
    env: { ...process.env, NODEHEAL_STACK_STATE: stateFile },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

async function waitForState(stateFile: string): Promise<StackInfo> {
  return await eventually('the stack state file', () => readState(stateFile), 120_000);
}

async function allGone(pids: number[]): Promise<void> {
  await eventually(`pids ${pids.join(',')} to exit`, () => pids.every((p) => !isAlive(p)), 15_000);
}

describe('stack teardown', () => {
  it.each([
    ['SIGINT (Ctrl-C)', 'SIGINT' as const],
    ['SIGTERM', 'SIGTERM' as const],
    ['SIGKILL of the parent (kernel parent-death signal)', 'SIGKILL' as const],
  ])('a foreground stack stopped by %s leaves no process running', async (_label, signal) => {
    const stateFile = join(scratch, `${signal}.json`);
    const child = stackCli(stateFile, ['up', '--foreground', '--parts', 'redis,kube']);
    const info = await waitForState(stateFile);
    const pids = Object.values(info.pids);
    // redis, etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok
    expect(Object.keys(info.pids)).toHaveLength(6);
    expect(pids.every(isAlive)).toBe(true);
    const exited = new Promise<void>((r) => child.on('exit', () => r()));
    child.kill(signal);
    await exited;
    await allGone(pids);
    rmSync(info.runDir, { recursive: true, force: true });
  });
});

describe('stack CLI as a daemon', () => {
  it('up returns once ready, env points a shell at it, down stops it', () => {
    const stateFile = join(scratch, 'daemon.json');
    const env = { ...process.env, NODEHEAL_STACK_STATE: stateFile };
    const run = (args: string[]) =>
      spawnSync(process.execPath, [cli, ...args], { env, encoding: 'utf8', timeout: 120_000 });

    const up = run(['up', '--parts', 'redis']);
    expect(up.status, up.stderr).toBe(0);
    const info = readState(stateFile)!;
    const pid = info.pids.redis!;
    expect(isAlive(pid)).toBe(true);

    const exports = run(['env']);
    expect(exports.status).toBe(0);
    expect(exports.stdout).toContain(`export NODEHEAL_REDIS_URL='${info.redisUrl}'`);
    const shell = spawnSync('bash', ['-c', `${exports.stdout}\necho "$NODEHEAL_REDIS_URL"`], {
      encoding: 'utf8',
    });
    expect(shell.stdout.trim()).toBe(info.redisUrl);

    expect(run(['status']).status).toBe(0);
    expect(run(['up', '--parts', 'redis']).status).toBe(1); // one stack at a time

    const down = run(['down']);
    expect(down.status, down.stderr).toBe(0);
    expect(isAlive(pid)).toBe(false);
    expect(existsSync(stateFile)).toBe(false);
    expect(existsSync(info.runDir)).toBe(false);
    expect(run(['status']).status).toBe(1);
  });

  it('redis from a daemonised stack answers PING while up', async () => {
    const stateFile = join(scratch, 'ping.json');
    const env = { ...process.env, NODEHEAL_STACK_STATE: stateFile };
    const up = spawnSync(process.execPath, [cli, 'up', '--parts', 'redis'], {
      env,
      encoding: 'utf8',
    });
    expect(up.status, up.stderr).toBe(0);
    const info = readState(stateFile)!;
    expect(await redisPing(info.redisPort!)).toBe(true);
    spawnSync(process.execPath, [cli, 'down'], { env });
    expect(await redisPing(info.redisPort!)).toBeUndefined();
  });
});

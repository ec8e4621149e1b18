// `nodeheal status [NODE]` as a process against the stack's real Redis: it prints the saved heals
// (table, per-node transitions, JSON) and exits 0; with Redis unreachable it says so and exits 1
// within a few seconds.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { HealRecord } from '../../src/heal/index.ts';
import { redisHealStore, type HealStore } from '../../src/store/heal-store.ts';
import { producerConnection } from '../../src/queue/redis-connection.ts';
import type { HealDetail, HealListView } from '../../src/status/index.ts';
import { repoRoot } from '../stack/paths.ts';
import { abandoned, escalatedToReboot, healedByKubelet, MIN } from '../unit/status/fixtures.ts';

const stack = inject('stack');
const RUN = randomBytes(4).toString('hex');
const node = `st-cli-${RUN}`;
const other = `st-cli-other-${RUN}`;
const main = join(repoRoot, 'src', 'main.ts');

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs `node src/main.ts …` with only the given NODEHEAL_ variables set. */
function nodeheal(args: string[], env: Record<string, string>): Promise<Result> {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('NODEHEAL_')),
  );
  const started = Date.now();
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [main, ...args], {
      cwd: repoRoot,
      env: { ...clean, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('error', reject);
    child.once('close', (status) => {
      clearTimeout(timer);
      resolvePromise({ status, stdout, stderr, ms: Date.now() - started });
    });
  });
}

let redis: Redis;
let store: HealStore;
let env: Record<string, string>;
let running: HealRecord;
let healed: HealRecord;
let elsewhere: HealRecord;

beforeAll(async () => {
  expect(stack.redisUrl, 'the stack provides Redis').toBeDefined();
  env = { NODEHEAL_REDIS_URL: stack.redisUrl ?? '' };
  redis = producerConnection(stack.redisUrl ?? '', 2000);
  await redis.connect();
  store = redisHealStore(redis);
  const now = Date.now();
  healed = healedByKubelet({ id: `heal-${RUN}-old`, node, base: now - 30 * MIN });
  elsewhere = abandoned({ id: `heal-${RUN}-other`, node: other, base: now - 20 * MIN });
  running = escalatedToReboot({ id: `heal-${RUN}-now`, node, base: now - 2 * MIN });
  for (const record of [healed, elsewhere, running]) await store.save(record);
});

afterAll(async () => {
  if (!redis) return;
  const multi = redis.multi();
  for (const record of [healed, elsewhere, running]) {
    if (!record) continue;
    multi.del(`nodeheal:record:${record.id}`);
    multi.zrem('nodeheal:records', record.id);
    multi.zrem(`nodeheal:records:node:${record.node}`, record.id);
  }
  await multi.exec();
  await redis.quit();
});

describe('nodeheal status', () => {
  it('prints a table of the newest heals and exits 0', async () => {
    const result = await nodeheal(['status', '--limit', '500'], env);
    expect(result.status, result.stderr).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines.some((l) => /^ID\s+NODE\s+FAULT\s+STATUS\s+STEP\s+UPDATED/.test(l))).toBe(true);
    const row = (id: string) => lines.find((l) => l.startsWith(`${id} `)) ?? '';
    expect(row(running.id)).toMatch(
      new RegExp(
        `^${running.id}\\s+${node}\\s+node-not-ready\\s+running\\s+reboot \\(2/3, acting\\)\\s+\\S+Z \\(`,
      ),
    );
    expect(row(healed.id)).toMatch(/\shealed\s+restart-kubelet \(1\/3\)\s/);
    expect(row(elsewhere.id)).toMatch(new RegExp(`\\s${other}\\s+node-not-ready\\s+abandoned\\s`));
    // Newest first.
    expect(result.stdout.indexOf(running.id)).toBeLessThan(result.stdout.indexOf(elsewhere.id));
    expect(result.stdout.indexOf(elsewhere.id)).toBeLessThan(result.stdout.indexOf(healed.id));
  });

  it("prints one node's heals with their transitions", async () => {
    const result = await nodeheal(['status', node], env);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain(`node ${node}: 2 heals, 1 running`);
    expect(result.stdout).toContain(
      `${running.id}  node-not-ready  running  step reboot (2/3, acting)`,
    );
    expect(result.stdout).toContain(
      'ladder: restart-kubelet [done, failure] → reboot [current] → replace [pending]',
    );
    expect(result.stdout).toMatch(
      /escalated\s+1\. restart-kubelet\s+acting → pending\s+Escalated:/,
    );
    expect(result.stdout).toContain('outcome: restart-kubelet worked');
    expect(result.stdout).not.toContain(elsewhere.id);
  });

  it('prints JSON with --json', async () => {
    const list = await nodeheal(['status', '--json', '--limit', '500'], env);
    expect(list.status, list.stderr).toBe(0);
    const view = JSON.parse(list.stdout) as HealListView;
    expect(view.heals.find((h) => h.id === running.id)).toMatchObject({
      node,
      status: 'running',
      step: 'reboot',
    });

    const one = await nodeheal(['status', node, '--json'], env);
    expect(one.status, one.stderr).toBe(0);
    const nodeView = JSON.parse(one.stdout) as { current: HealDetail; heals: HealDetail[] };
    expect(nodeView.current.id).toBe(running.id);
    expect(nodeView.heals.map((h) => h.id)).toEqual([running.id, healed.id]);
    expect(nodeView.heals[0]?.transitions).toEqual(running.transitions);
  });

  it('says so for a node without heals', async () => {
    const result = await nodeheal(['status', `st-none-${RUN}`], env);
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(`no heals recorded for node st-none-${RUN}\n`);
  });

  it.each([
    ['an invalid node name', ['status', 'Not_A_Node'], 'invalid node name'],
    ['a bad --limit', ['status', '--limit', '0'], '--limit'],
  ])('exits 1 for %s', async (_name, args, message) => {
    const result = await nodeheal(args, env);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(message);
  });

  it('exits 1 with a clear message, credentials hidden, when Redis is unreachable', async () => {
    const result = await nodeheal(['status'], {
      NODEHEAL_REDIS_URL: 'redis://user:s3cret@127.0.0.1:1',
    });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(
      /^nodeheal status: Redis at redis:\/\/\*\*\*:\*\*\*@127\.0\.0\.1:1 is unreachable: .*ECONNREFUSED/,
    );
    expect(result.stderr).not.toContain('s3cret');
    expect(result.ms).toBeLessThan(10_000);
  });
});

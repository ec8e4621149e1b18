// Step hooks with a veto, against a real hook process (test/fixtures/hook-server.ts, standing
// in for a database operator or a change-ticket system) that verifies nodeheal's signatures with
// its own code: a 409 holds a drain before anything is done on the node (the status API shows
// gate `hook` and the hook's reason, Retry-After honoured), a 423 holds a replace of a running
// heal, a 200 lets each go; post-hooks are told each step's result; a hook that is too slow or
// down holds the step as unsure, and the heal goes on once it answers again.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { HOOK_API_VERSION, signHookRequest } from '../../src/hooks/index.ts';
import { keys } from '../../src/store/keys.ts';
import type { BlockedNote } from '../../src/store/heal-store.ts';
import { nodehealEvents } from '../stack/helpers/events.ts';
import { setNodeCondition } from '../stack/helpers/faults.ts';
import { adminClients, type KubeClients } from '../stack/helpers/kube.ts';
import { eventually } from '../stack/helpers/poll.ts';
import { createNodePool } from '../stack/helpers/pool.ts';
import { podsOnNode, poolWithWorkload } from '../stack/helpers/workloads.ts';
import { repoRoot } from '../stack/paths.ts';
import { freePort } from '../stack/ports.ts';
import { sleep } from '../stack/wait.ts';
import { startHarness, type Harness } from './support/heal-harness.ts';
import { nodehealKubeconfig } from './support/nodeheal-identity.ts';

const stack = inject('stack');
const deadlock = { condition: 'KernelDeadlock', status: 'true' };
let kube: KubeClients;
let harness: Harness;
let dir: string;
let secret: string;
let hookPort: number;
let hook: ChildProcess | undefined;
let hookOutput = '';

interface Received {
  path: string;
  verified: boolean;
  why?: string;
  headers: Record<string, string>;
  body: {
    apiVersion: string;
    phase: 'pre' | 'post';
    hook: string;
    healId: string;
    node: string;
    pool: string;
    fault: string;
    step: number;
    action: string;
    pods: { namespace: string; name: string; ownerKind: string | null }[];
    result?: { outcome: string; detail: string };
  };
  at: number;
}

async function startHookServer(): Promise<void> {
  const child = spawn(process.execPath, [join(repoRoot, 'test', 'fixtures', 'hook-server.ts')], {
    env: {
      ...process.env,
      HOOK_SERVER_PORT: String(hookPort),
      HOOK_SERVER_SECRET_FILE: join(dir, 'hook-secret'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  hook = child;
  child.stdout?.on('data', (d: Buffer) => (hookOutput += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (hookOutput += d.toString()));
  await eventually(`hook server (${hookOutput.slice(-300)})`, () =>
    hookOutput.includes(`listening ${hookPort}`),
  );
}

async function stopHookServer(): Promise<void> {
  const child = hook;
  hook = undefined;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

const hookUrl = (path: string) => `http://127.0.0.1:${hookPort}${path}`;

async function answer(answers: {
  default?: Record<string, unknown>;
  byAction?: Record<string, Record<string, unknown>>;
}): Promise<void> {
  const res = await fetch(hookUrl('/control'), { method: 'POST', body: JSON.stringify(answers) });
  expect(res.status).toBe(200);
}

async function received(node: string): Promise<Received[]> {
  const all = (await (await fetch(hookUrl('/received'))).json()) as Received[];
  return all.filter((r) => r.body?.node === node);
}

async function healApi(id: string) {
  return (await (await fetch(`${harness.serveUrl}/heals/${id}`)).json()) as {
    status: string;
    gate?: string | null;
    stepIndex?: number;
    blocked: BlockedNote | null;
  };
}

/** When nodeheal's ServiceAccount asked to evict a pod of `namespace` (the audit log). */
function evictionAttempts(namespace: string): number {
  const log = stack.auditLog;
  if (!log) throw new Error('the stack keeps no audit log');
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter((line) => line.includes('"eviction"'))
    .map((line) => JSON.parse(line) as { verb?: string; objectRef?: Record<string, string> })
    .filter(
      (e) =>
        e.verb === 'create' &&
        e.objectRef?.subresource === 'eviction' &&
        e.objectRef.namespace === namespace,
    ).length;
}

beforeAll(async () => {
  kube = adminClients(stack);
  const identity = await nodehealKubeconfig(kube, stack);
  dir = mkdtempSync(join(tmpdir(), 'nodeheal-hooks-'));
  secret = randomBytes(32).toString('hex');
  writeFileSync(join(dir, 'hook-secret'), `${secret}\n`);
  hookPort = await freePort();
  await startHookServer();
  harness = await startHarness({
    kubeconfig: identity.path,
    ladders: {
      'kernel-deadlock': [
        { action: 'drain', timeout: '120s' },
        { action: 'replace', timeout: '120s' },
      ],
    },
    workerEnv: {
      NODEHEAL_HOOKS: JSON.stringify([
        { name: 'db-operator', url: hookUrl('/hooks/nodeheal?team=db'), timeoutMs: 1000 },
        // Never asked: no node of the tests is in its pool.
        { name: 'elsewhere', url: hookUrl('/hooks/elsewhere'), pools: ['no-such-pool'] },
      ]),
      NODEHEAL_HOOK_SECRET_FILE: join(dir, 'hook-secret'),
    },
  });
});

afterAll(async () => {
  await harness?.stop();
  await stopHookServer();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('pre-hook veto', () => {
  it('a 409 holds the drain with its reason, a 423 holds the replace; 200 lets each go; post-hooks told', async () => {
    const reason = 'db-0 is the primary on this node: failover first';
    await answer({ default: { status: 409, reason, json: true, retryAfter: '2' } });
    const { pool, nodes, namespace } = await poolWithWorkload(kube, 'hk', {
      size: 3,
      replicas: 3,
      minAvailable: 1,
      spread: true,
    });
    const victim = nodes[0]!;
    const podsBefore = (await podsOnNode(kube, victim)).map((p) => p.metadata?.uid).sort();
    expect(podsBefore.length).toBeGreaterThan(0);
    await setNodeCondition(kube, victim, 'KernelDeadlock', 'True');
    await harness.fire(victim, 'NodeKernelDeadlock', deadlock);

    // Asked, held, and asked again (the heal is held before it starts: nothing is on the node).
    const asked = await eventually(
      'the pre-hook asked twice about the drain',
      async () => {
        const pre = (await received(victim)).filter((r) => r.body.phase === 'pre');
        return pre.length >= 2 ? pre : undefined;
      },
      60_000,
    );
    const first = asked[0]!;
    expect(first.verified, first.why).toBe(true);
    expect(first.path).toBe('/hooks/nodeheal?team=db');
    expect(first.headers['x-nodeheal-hook']).toBe('db-operator');
    expect(first.headers['x-nodeheal-signature-scheme']).toBe('nodeheal-hook-v1');
    const healId = first.body.healId;
    expect(first.body).toMatchObject({
      apiVersion: HOOK_API_VERSION,
      phase: 'pre',
      hook: 'db-operator',
      node: victim,
      pool,
      fault: 'kernel-deadlock',
      step: 0,
      action: 'drain',
    });
    // The pods a drain would evict: the workload's pods on the node, with their controller.
    const onNode = (await podsOnNode(kube, victim)).map(
      (p) => `${p.metadata?.namespace}/${p.metadata?.name} ReplicaSet`,
    );
    expect(first.body.pods.map((p) => `${p.namespace}/${p.name} ${p.ownerKind}`)).toEqual(
      onNode.sort(),
    );
    expect(first.body.pods.every((p) => p.namespace === namespace)).toBe(true);
    // Retry-After: 2 is honoured (the defer period alone would ask again after 1 s).
    expect(asked[1]!.at - first.at).toBeGreaterThanOrEqual(1900);

    const held = await healApi(healId);
    expect(held.status).toBe('waiting');
    expect(held.blocked?.gate).toBe('hook');
    expect(held.blocked?.detail).toBe(`hook db-operator holds the step: ${reason}`);
    expect((held.blocked?.retryAt ?? 0) - (held.blocked?.at ?? 0)).toBeGreaterThanOrEqual(1900);
    expect(
      await harness.workerMetric('nodeheal_safety_blocked_total', { gate: 'hook' }),
    ).toBeGreaterThan(0);

    // Nothing happened to the node: not cordoned, no eviction asked, its pods still there.
    await sleep(2000);
    const node = await kube.core.readNode({ name: victim });
    expect(node.spec?.unschedulable ?? false).toBe(false);
    expect(evictionAttempts(namespace)).toBe(0);
    expect((await podsOnNode(kube, victim)).map((p) => p.metadata?.uid).sort()).toEqual(podsBefore);
    expect(await harness.store.get(healId)).toBeUndefined();

    // The drain may go; the replace is locked by a change freeze.
    await answer({
      default: { status: 200 },
      byAction: { replace: { status: 423, reason: 'change freeze CHG-1234', retryAfter: '1' } },
    });
    const running = await eventually(
      'the drain done and the replace held by the hook',
      async () => {
        const record = await harness.store.get(healId);
        return record?.gate === 'hook' && record.stepIndex === 1 ? record : undefined;
      },
      90_000,
    );
    expect(running.status).toBe('running');
    const api = await healApi(healId);
    expect(api).toMatchObject({ status: 'running', gate: 'hook', stepIndex: 1 });
    expect(api.blocked?.detail).toBe('hook db-operator holds the step: change freeze CHG-1234');
    expect(evictionAttempts(namespace)).toBeGreaterThan(0);
    expect((await nodehealEvents(kube, victim)).map((e) => e.reason)).toContain('NodeDrained');
    expect((await nodehealEvents(kube, victim)).map((e) => e.reason)).not.toContain('NodeReplaced');
    const drainPost = await eventually('the post-hook told of the drain', async () =>
      (await received(victim)).find((r) => r.body.phase === 'post' && r.body.action === 'drain'),
    );
    expect(drainPost.verified).toBe(true);
    expect(drainPost.body).toMatchObject({
      healId,
      step: 0,
      result: { outcome: 'done', detail: 'drained' },
    });
    // The pods the pre-hook was told of, when it let the drain go.
    expect(drainPost.body.pods).toEqual(first.body.pods);

    await answer({ default: { status: 200 } });
    const done = await harness.finishedHeal(victim, 120_000);
    expect(done.id).toBe(healId);
    expect(done.status, JSON.stringify(done.transitions.map((t) => t.detail))).toBe('healed');
    const replacePost = await eventually('the post-hook told of the replace', async () =>
      (await received(victim)).find((r) => r.body.phase === 'post' && r.body.action === 'replace'),
    );
    // Read once the last hook call (the replace's post-hook, never awaited by the heal) is in.
    const all = await received(victim);
    expect(replacePost.body).toMatchObject({ healId, step: 1, result: { outcome: 'done' } });
    // Every request nodeheal sent verified; the hook of another pool was never asked.
    expect(all.every((r) => r.verified)).toBe(true);
    expect(all.every((r) => r.path === '/hooks/nodeheal?team=db')).toBe(true);
    // Pre-hooks for the drain (held, then let go), then for the replace.
    const pre = all.filter((r) => r.body.phase === 'pre');
    expect(pre.filter((r) => r.body.action === 'drain').length).toBeGreaterThanOrEqual(3);
    expect(pre.filter((r) => r.body.action === 'replace').length).toBeGreaterThanOrEqual(2);
  });

  it('the hook refuses a request signed with another secret, or not signed', async () => {
    const body = JSON.stringify({ apiVersion: HOOK_API_VERSION, phase: 'pre', node: 'forged' });
    const timestamp = Date.now();
    const path = '/hooks/nodeheal?team=db';
    const send = (signature: string) =>
      fetch(hookUrl(path), {
        method: 'POST',
        headers: {
          'x-nodeheal-timestamp': String(timestamp),
          'x-nodeheal-signature': signature,
        },
        body,
      });
    const wrong = signHookRequest(randomBytes(32).toString('hex'), {
      method: 'POST',
      path,
      timestamp,
      body,
    });
    const refused = await send(wrong);
    expect(refused.status).toBe(401);
    expect(await refused.text()).toBe('bad signature');
    expect((await send('')).status).toBe(401);
    // The right secret passes: the recipe nodeheal signs by is the one the hook checks.
    const right = signHookRequest(secret, { method: 'POST', path, timestamp, body });
    expect((await send(right)).status).toBe(200);
  });
});

describe('a hook that does not answer', () => {
  it('too slow, then down: the drain is held as unsure; it goes on once the hook answers', async () => {
    await answer({ default: { status: 200, delayMs: 3000 } });
    const [pool] = [`hu-${randomBytes(3).toString('hex')}`];
    const [victim] = await createNodePool(kube, { name: pool, size: 2 });
    await setNodeCondition(kube, victim!, 'KernelDeadlock', 'True');
    await harness.fire(victim!, 'NodeKernelDeadlock', deadlock);

    const note = async (): Promise<BlockedNote | undefined> => {
      const ids = await harness.redis.keys(keys.blocked('*'));
      for (const key of ids) {
        const raw = await harness.redis.get(key);
        const parsed = raw ? (JSON.parse(raw) as BlockedNote) : undefined;
        if (parsed?.node === victim) return parsed;
      }
      return undefined;
    };
    const slow = await eventually(
      'held: the hook is too slow',
      async () => {
        const n = await note();
        return n?.detail.includes('no answer within 1000 ms') ? n : undefined;
      },
      60_000,
    );
    expect(slow.gate).toBe('hook');
    expect(slow.detail).toBe(
      'hook db-operator unsure (no answer within 1000 ms): held, when unsure nodeheal does nothing',
    );

    await stopHookServer();
    const down = await eventually(
      'held: the hook is down',
      async () => {
        const n = await note();
        return n?.detail.includes('ECONNREFUSED') ? n : undefined;
      },
      60_000,
    );
    expect(down.gate).toBe('hook');
    expect(down.detail).toMatch(/^hook db-operator unsure \(connection error: ECONNREFUSED\)/);
    const api = await healApi(down.healId);
    expect(api.status).toBe('waiting');
    expect(api.blocked?.gate).toBe('hook');
    expect(api.blocked?.detail).toContain('unsure');
    // Nothing done to the node meanwhile.
    expect((await kube.core.readNode({ name: victim! })).spec?.unschedulable ?? false).toBe(false);
    expect(await harness.store.get(down.healId)).toBeUndefined();

    // Back, answering 200: the heal starts and drains (the backoff is at most a few seconds here).
    await startHookServer();
    const done = await harness.finishedHeal(victim!, 120_000);
    expect(done.id).toBe(down.healId);
    expect(done.status, JSON.stringify(done.transitions.map((t) => t.detail))).toBe('healed');
    const told = await eventually('post-hooks told after the hook came back', async () => {
      const posts = (await received(victim!)).filter((r) => r.body.phase === 'post');
      return posts.length >= 2 ? posts : undefined;
    });
    expect(told.map((r) => [r.body.action, r.body.result?.outcome])).toEqual([
      ['drain', 'done'],
      ['replace', 'done'],
    ]);
  });
});

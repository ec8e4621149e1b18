import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it, vi } from 'vitest';
import { hooksSchema, type HookReply, type HookRequestBody } from '../../../src/hooks/index.ts';
import { silentLogger } from '../../../src/log/index.ts';
import type { ExternalGateContext } from '../../../src/safety/index.ts';
import { stepHooks } from '../../../src/worker/index.ts';

const NOW = Date.parse('2026-12-01T12:00:00Z');

function appPod(name: string): V1Pod {
  return {
    metadata: {
      name,
      namespace: 'data',
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: 'u', controller: true },
      ],
    },
    status: { phase: 'Running' },
  };
}

function context(o: Partial<ExternalGateContext> = {}): ExternalGateContext {
  return {
    healId: 'heal-1',
    node: { metadata: { name: 'n1' } },
    pool: 'db',
    action: 'drain',
    step: 1,
    fault: 'kernel-deadlock',
    alertLabels: {},
    ...o,
  };
}

function setup(replies: HookReply[], o: { listPods?: () => Promise<V1Pod[]> } = {}) {
  const calls: { hook: string; body: HookRequestBody }[] = [];
  let clock = NOW;
  const ok: HookReply = { kind: 'response', status: 200, body: '', retryAfter: null };
  const call = vi.fn((hook: { name: string }, body: HookRequestBody): Promise<HookReply> => {
    calls.push({ hook: hook.name, body });
    return Promise.resolve(replies.shift() ?? ok);
  });
  const hooks = stepHooks({
    hooks: hooksSchema.parse([
      { name: 'dbop', url: 'http://dbop/hook', pools: ['db'] },
      { name: 'audit', url: 'http://audit/hook', phases: ['post'] },
    ]),
    call,
    listPods: o.listPods ?? (() => Promise.resolve([appPod('db-0'), appPod('db-1')])),
    logger: silentLogger(),
    now: () => clock,
    backoff: { baseMs: 1000, maxMs: 4000 },
  });
  return { hooks, calls, tick: (ms: number) => (clock += ms) };
}

const veto = (body: string, retryAfter: string | null = null): HookReply => ({
  kind: 'response',
  status: 409,
  body,
  retryAfter,
});

describe('stepHooks pre-hooks', () => {
  it('are one gate per pre-hook, for disruptive steps only', () => {
    const { hooks } = setup([]);
    expect(hooks.gates.map((g) => [g.gate, g.name])).toEqual([['hook', 'hook dbop']]);
    const gate = hooks.gates[0]!;
    expect(['reboot', 'drain', 'replace'].every((a) => gate.appliesTo(a as 'drain'))).toBe(true);
    expect(['cordon', 'restart-kubelet'].some((a) => gate.appliesTo(a as 'drain'))).toBe(false);
  });

  it('ask with the heal and its pods; a 2xx lets the step go', async () => {
    const { hooks, calls } = setup([]);
    expect(await hooks.gates[0]!.check(context())).toBeUndefined();
    expect(calls).toHaveLength(1);
    expect(calls[0]!.body).toMatchObject({
      phase: 'pre',
      hook: 'dbop',
      healId: 'heal-1',
      node: 'n1',
      pool: 'db',
      step: 1,
      action: 'drain',
      fault: 'kernel-deadlock',
      pods: [
        { namespace: 'data', name: 'db-0', ownerKind: 'StatefulSet', ownerName: 'db' },
        { namespace: 'data', name: 'db-1', ownerKind: 'StatefulSet', ownerName: 'db' },
      ],
    });
  });

  it('are not asked about other pools', async () => {
    const { hooks, calls } = setup([]);
    expect(await hooks.gates[0]!.check(context({ pool: 'web' }))).toBeUndefined();
    expect(calls).toEqual([]);
  });

  it('hold on a veto with the reason, backing off per hold; Retry-After wins; a go resets', async () => {
    const { hooks, tick } = setup([
      veto('primary here'),
      veto('primary here'),
      veto('{"reason":"failover running"}', '7'),
      veto('primary here'),
      veto('primary here'),
      veto('primary here'),
      { kind: 'response', status: 204, body: '', retryAfter: null },
      veto('again'),
    ]);
    const gate = hooks.gates[0]!;
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      const hold = await gate.check(context());
      expect(hold?.gate).toBe('hook');
      delays.push(hold!.retryAt! - NOW - i * 10);
      tick(10);
    }
    expect(delays).toEqual([1000, 2000, 7000, 4000, 4000, 4000]);
    expect(await gate.check(context())).toBeUndefined();
    const hold = await gate.check(context());
    expect(hold).toEqual({
      gate: 'hook',
      detail: 'hook dbop holds the step: again',
      retryAt: NOW + 60 + 1000,
    });
  });

  it('hold as unsure on any other answer, and when the pods cannot be listed', async () => {
    const { hooks } = setup([{ kind: 'no-answer', reason: 'connection error: ECONNREFUSED' }]);
    const hold = await hooks.gates[0]!.check(context());
    expect(hold?.detail).toBe(
      'hook dbop unsure (connection error: ECONNREFUSED): held, when unsure nodeheal does nothing',
    );
    const broken = setup([], { listPods: () => Promise.reject(new Error('apiserver down')) });
    const held = await broken.hooks.gates[0]!.check(context({ healId: 'heal-2' }));
    expect(held?.detail).toMatch(
      /^hook dbop unsure \(pods on the node not listed: apiserver down\)/,
    );
    expect(broken.calls).toEqual([]);
  });
});

describe('stepHooks post-hooks', () => {
  it('are told the result with the pods the pre-hooks were told of; never throw', async () => {
    let listed = 0;
    const { hooks, calls } = setup(
      [
        { kind: 'response', status: 200, body: '', retryAfter: null },
        { kind: 'no-answer', reason: 'no answer within 5000 ms' },
        { kind: 'response', status: 500, body: '', retryAfter: null },
      ],
      {
        listPods: () => {
          listed += 1;
          return Promise.resolve(listed === 1 ? [appPod('db-0')] : []);
        },
      },
    );
    expect(await hooks.gates[0]!.check(context())).toBeUndefined();
    hooks.afterStep(
      context(),
      { kind: 'step-done', step: 1, detail: 'drained', cordonedByUs: true },
      false,
    );
    await vi.waitFor(() => expect(calls).toHaveLength(3));
    const posts = calls.slice(1);
    expect(posts.map((c) => c.hook).sort()).toEqual(['audit', 'dbop']);
    for (const post of posts) {
      expect(post.body).toMatchObject({
        phase: 'post',
        action: 'drain',
        result: { outcome: 'done', detail: 'drained' },
        pods: [{ namespace: 'data', name: 'db-0' }],
      });
    }
    expect(listed).toBe(1);
  });

  it('are told nothing about a step that is not disruptive, and only those of the pool', async () => {
    const { hooks, calls } = setup([]);
    hooks.afterStep(
      context({ action: 'cordon' }),
      { kind: 'step-done', step: 1, detail: 'x', cordonedByUs: true },
      false,
    );
    hooks.afterStep(
      context({ pool: 'web', step: 2, action: 'replace' }),
      { kind: 'step-failed', step: 2, detail: 'no provider', permanent: true },
      false,
    );
    await vi.waitFor(() => expect(calls).toHaveLength(1));
    expect(calls[0]).toMatchObject({
      hook: 'audit',
      body: {
        pool: 'web',
        result: { outcome: 'failed', detail: 'no provider' },
        // No pre-hook asked about this step: the pods on the node now.
        pods: [{ name: 'db-0' }, { name: 'db-1' }],
      },
    });
  });
});

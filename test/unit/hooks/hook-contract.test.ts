import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  classifyReply,
  holdDetail,
  HOOK_API_VERSION,
  hookApplies,
  hookRequestBody,
  hooksSchema,
  MAX_REASON_CHARS,
  MAX_RETRY_AFTER_MS,
  parseRetryAfter,
  podsToEvict,
  reasonOf,
  retryDelayMs,
  stepResult,
  type HookReply,
  type HookVerdict,
} from '../../../src/hooks/index.ts';

const NOW = Date.parse('2026-12-01T12:00:00Z');

function pod(
  name: string,
  o: {
    namespace?: string;
    owner?: string;
    ownerName?: string;
    mirror?: boolean;
    phase?: string;
    deleting?: boolean;
  } = {},
): V1Pod {
  return {
    metadata: {
      name,
      namespace: o.namespace ?? 'default',
      ...(o.owner
        ? {
            ownerReferences: [
              {
                apiVersion: 'apps/v1',
                kind: o.owner,
                name: o.ownerName ?? `${name}-owner`,
                uid: `${name}-uid`,
                controller: true,
              },
            ],
          }
        : {}),
      ...(o.mirror ? { annotations: { 'kubernetes.io/config.mirror': 'x' } } : {}),
      ...(o.deleting ? { deletionTimestamp: new Date(NOW) } : {}),
    },
    spec: { containers: [] },
    status: { phase: o.phase ?? 'Running' },
  };
}

describe('podsToEvict', () => {
  it('lists what a drain would evict, with the controller, sorted', () => {
    const pods = [
      pod('web-1', { namespace: 'shop', owner: 'ReplicaSet', ownerName: 'web-7d' }),
      pod('db-0', { namespace: 'data', owner: 'StatefulSet', ownerName: 'db' }),
      pod('bare', { namespace: 'data' }),
      pod('agent', { namespace: 'kube-system', owner: 'DaemonSet' }),
      pod('static', { namespace: 'kube-system', mirror: true }),
      pod('job-done', { namespace: 'shop', owner: 'Job', phase: 'Succeeded' }),
      pod('going', { namespace: 'shop', owner: 'ReplicaSet', deleting: true }),
    ];
    expect(podsToEvict(pods)).toEqual([
      { namespace: 'data', name: 'bare', ownerKind: null, ownerName: null },
      { namespace: 'data', name: 'db-0', ownerKind: 'StatefulSet', ownerName: 'db' },
      { namespace: 'shop', name: 'web-1', ownerKind: 'ReplicaSet', ownerName: 'web-7d' },
    ]);
  });

  it('is empty for an empty node', () => {
    expect(podsToEvict([])).toEqual([]);
  });
});

describe('hookRequestBody', () => {
  const step = {
    healId: 'heal-1',
    node: 'n1',
    pool: 'db',
    fault: 'kernel-deadlock',
    step: 1,
    action: 'drain',
  };
  const pods = [{ namespace: 'data', name: 'db-0', ownerKind: 'StatefulSet', ownerName: 'db' }];

  it('carries the heal record and the pods (pre)', () => {
    expect(hookRequestBody('dbop', 'pre', step, pods, NOW)).toEqual({
      apiVersion: HOOK_API_VERSION,
      phase: 'pre',
      hook: 'dbop',
      ...step,
      pods,
      sentAt: '2026-12-01T12:00:00.000Z',
    });
  });

  it('adds the result (post)', () => {
    const body = hookRequestBody('dbop', 'post', step, pods, NOW, {
      outcome: 'done',
      detail: 'drained',
    });
    expect(body.result).toEqual({ outcome: 'done', detail: 'drained' });
    expect(body.phase).toBe('post');
  });
});

const response = (status: number, body = '', retryAfter: string | null = null): HookReply => ({
  kind: 'response',
  status,
  body,
  retryAfter,
});

describe('classifyReply', () => {
  it.each<[string, HookReply, HookVerdict]>([
    ['200 goes', response(200, 'ok'), { kind: 'go' }],
    ['204 goes', response(204), { kind: 'go' }],
    ['299 goes', response(299), { kind: 'go' }],
    [
      '409 with a text body vetoes with it',
      response(409, 'primary db-0 is on this node'),
      { kind: 'veto', reason: 'primary db-0 is on this node' },
    ],
    [
      '423 with a JSON reason vetoes with the reason',
      response(423, JSON.stringify({ reason: 'change freeze CHG-42', other: 1 })),
      { kind: 'veto', reason: 'change freeze CHG-42' },
    ],
    ['409 without a body says so', response(409), { kind: 'veto', reason: 'answered 409' }],
    [
      '409 with Retry-After seconds',
      response(409, 'busy', '30'),
      { kind: 'veto', reason: 'busy', retryAfterMs: 30_000 },
    ],
    [
      '500 is unsure, with what it said',
      response(500, 'boom'),
      { kind: 'unsure', reason: 'answered 500: boom' },
    ],
    ['403 is unsure', response(403), { kind: 'unsure', reason: 'answered 403' }],
    ['a redirect is unsure', response(302), { kind: 'unsure', reason: 'answered 302' }],
    [
      '503 with Retry-After is unsure, retried then',
      response(503, '', '5'),
      { kind: 'unsure', reason: 'answered 503', retryAfterMs: 5000 },
    ],
    [
      'no answer is unsure',
      { kind: 'no-answer', reason: 'no answer within 1000 ms' },
      { kind: 'unsure', reason: 'no answer within 1000 ms' },
    ],
  ])('%s', (_name, reply, verdict) => {
    expect(classifyReply(reply, NOW)).toEqual(verdict);
  });
});

describe('reasonOf', () => {
  it.each<[string, string, string | undefined]>([
    ['text', 'busy', 'busy'],
    ['JSON reason', '{"reason":"freeze"}', 'freeze'],
    ['JSON without reason: the text', '{"ok":false}', '{"ok":false}'],
    ['JSON with a non-string reason: the text', '{"reason":5}', '{"reason":5}'],
    ['control characters and runs of space', 'a\n\tb\u0000  c', 'a b c'],
    ['empty', '  \n', undefined],
    ['empty JSON reason', '{"reason":""}', undefined],
  ])('%s', (_name, body, reason) => {
    expect(reasonOf(body)).toBe(reason);
  });

  it('cuts long reasons', () => {
    const reason = reasonOf('x'.repeat(1000))!;
    expect(reason).toHaveLength(MAX_REASON_CHARS);
    expect(reason.endsWith('…')).toBe(true);
  });
});

describe('parseRetryAfter', () => {
  it.each<[string, string | null, number | undefined]>([
    ['absent', null, undefined],
    ['empty', '', undefined],
    ['seconds', '120', 120_000],
    ['zero', '0', 0],
    ['an HTTP date', new Date(NOW + 90_000).toUTCString(), 90_000],
    ['a past date', new Date(NOW - 90_000).toUTCString(), 0],
    ['capped', String(10 * 24 * 3600), MAX_RETRY_AFTER_MS],
    ['garbage', 'soon', undefined],
    ['negative', '-5', undefined],
  ])('%s', (_name, header, ms) => {
    expect(parseRetryAfter(header, NOW)).toBe(ms);
  });
});

describe('retryDelayMs', () => {
  const backoff = { baseMs: 1000, maxMs: 10_000 };
  it.each<[number, number | undefined, number]>([
    [1, undefined, 1000],
    [2, undefined, 2000],
    [3, undefined, 4000],
    [4, undefined, 8000],
    [5, undefined, 10_000],
    [500, undefined, 10_000],
    [3, 30_000, 30_000],
    [1, 0, 0],
  ])('hold %i, Retry-After %s: %i ms', (attempt, retryAfterMs, ms) => {
    expect(retryDelayMs(attempt, backoff, retryAfterMs)).toBe(ms);
  });
});

describe('holdDetail', () => {
  it('says veto or unsure, with the reason', () => {
    expect(holdDetail('dbop', { kind: 'veto', reason: 'primary here' })).toBe(
      'hook dbop holds the step: primary here',
    );
    expect(holdDetail('dbop', { kind: 'unsure', reason: 'connection error: ECONNREFUSED' })).toBe(
      'hook dbop unsure (connection error: ECONNREFUSED): held, when unsure nodeheal does nothing',
    );
  });
});

describe('stepResult', () => {
  it.each<[string, { kind: string; detail?: string }, boolean, ReturnType<typeof stepResult>]>([
    [
      'done',
      { kind: 'step-done', detail: 'drained' },
      false,
      { outcome: 'done', detail: 'drained' },
    ],
    [
      'failed',
      { kind: 'step-failed', detail: 'drain timed out' },
      false,
      { outcome: 'failed', detail: 'drain timed out' },
    ],
    ['node gone', { kind: 'node-gone' }, false, { outcome: 'failed', detail: 'the node was gone' }],
    [
      'interrupted',
      { kind: 'tick' },
      true,
      { outcome: 'failed', detail: 'interrupted (cancel or shutdown)' },
    ],
  ])('%s', (_name, observation, interrupted, result) => {
    expect(stepResult(observation, interrupted)).toEqual(result);
  });
});

describe('hooksSchema', () => {
  it('fills defaults', () => {
    expect(hooksSchema.parse([{ name: 'dbop', url: 'https://dbop.example/hook' }])).toEqual([
      { name: 'dbop', url: 'https://dbop.example/hook', timeoutMs: 5000, phases: ['pre', 'post'] },
    ]);
  });

  it.each<[string, unknown, RegExp]>([
    ['a bad name', [{ name: 'DB Op', url: 'http://x' }], /0\.name|lowercase/],
    ['a non-http URL', [{ name: 'a', url: 'ftp://x/y' }], /http/],
    ['an unknown key', [{ name: 'a', url: 'http://x', pool: ['db'] }], /pool/],
    ['an empty pool list', [{ name: 'a', url: 'http://x', pools: [] }], /pools/],
    ['an unknown phase', [{ name: 'a', url: 'http://x', phases: ['during'] }], /phases/],
    ['a tiny timeout', [{ name: 'a', url: 'http://x', timeoutMs: 5 }], /timeoutMs/],
    [
      'a duplicate name',
      [
        { name: 'a', url: 'http://x' },
        { name: 'a', url: 'http://y' },
      ],
      /duplicate hook a/,
    ],
  ])('refuses %s', (_name, input, message) => {
    const parsed = hooksSchema.safeParse(input);
    expect(parsed.success).toBe(false);
    const text = parsed.error!.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('\n');
    expect(text).toMatch(message);
  });

  it('applies a hook by pool and phase', () => {
    const [all, db] = hooksSchema.parse([
      { name: 'all', url: 'http://x', phases: ['post'] },
      { name: 'db', url: 'http://y', pools: ['db'] },
    ]);
    expect(hookApplies(all!, 'web', 'post')).toBe(true);
    expect(hookApplies(all!, 'web', 'pre')).toBe(false);
    expect(hookApplies(db!, 'db', 'pre')).toBe(true);
    expect(hookApplies(db!, 'web', 'pre')).toBe(false);
    expect(hookApplies(db!, '', 'post')).toBe(false);
  });
});

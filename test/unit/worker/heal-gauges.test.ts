// The per-node heal gauges' rules: which heals count as in progress, and when an abandoned heal
// stops needing a human.
import type { V1Node } from '@kubernetes/client-node';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { newHealRecord, type HealRecord } from '../../../src/heal/index.ts';
import { abandonedStillOpen, healsAbandoned } from '../../../src/worker/heal-gauges.ts';

const ended = Date.parse('2026-01-01T12:00:00Z');

function heal(patch: Partial<HealRecord> = {}): HealRecord {
  return {
    ...newHealRecord({
      id: 'h1',
      node: 'w1',
      fault: 'node-not-ready',
      pool: 'p',
      ladder: [{ action: 'reboot', timeoutMs: 60_000 }],
      faultStartedAt: ended - 600_000,
      now: new Date(ended - 300_000),
    }),
    status: 'abandoned',
    endedAt: ended,
    ...patch,
  };
}

function node(unschedulable: boolean, createdAt = '2025-06-01T00:00:00Z'): V1Node {
  return {
    metadata: { name: 'w1', creationTimestamp: new Date(createdAt) },
    spec: { unschedulable },
  };
}

describe('abandonedStillOpen', () => {
  it.each([
    ['abandoned, its cordon still on', heal({ cordonedByUs: true }), node(true), true],
    ['abandoned without a cordon of its own', heal(), node(false), true],
    ['abandoned, its cordon lifted by someone', heal({ cordonedByUs: true }), node(false), false],
    ['healed', heal({ status: 'healed' }), node(true), false],
    ['cancelled', heal({ status: 'cancelled' }), node(true), false],
    ['a dry run', heal({ dryRun: true }), node(true), false],
    ['a new Node under the name since', heal(), node(true, '2026-01-01T13:00:00Z'), false],
  ])('%s: %s', (_what, record, n, open) => {
    expect(abandonedStillOpen(record, n)).toBe(open);
  });
});

describe('healsAbandoned', () => {
  it("reads each existing node's newest heal; one that did not cordon, while its fault fires", async () => {
    const newest: Record<string, HealRecord> = {
      w1: heal({ cordonedByUs: true }),
      w2: heal({ node: 'w2', status: 'healed' }),
      w3: heal({ node: 'w3', key: 'w3|node-not-ready' }),
      w4: heal({ node: 'w4', key: 'w4|node-not-ready' }),
    };
    const histories: Record<string, unknown> = {
      'nodeheal:history:w3|node-not-ready': { active: [{ fingerprint: 'f', startsAt: 1 }] },
      'nodeheal:history:w4|node-not-ready': { active: [] },
    };
    const found = await healsAbandoned({
      redis: {
        get: (key: string) =>
          Promise.resolve(
            histories[key]
              ? JSON.stringify({ resolved: [], transitions: [], ...histories[key] })
              : null,
          ),
      } as unknown as Redis,
      store: {
        get: () => Promise.resolve(undefined),
        list: (options) =>
          Promise.resolve(newest[options?.node ?? ''] ? [newest[options!.node!]!] : []),
      },
      nodes: () =>
        Promise.resolve([
          node(true),
          { ...node(true), metadata: { name: 'w2' } },
          { ...node(false), metadata: { name: 'w3' } },
          { ...node(false), metadata: { name: 'w4' } },
          { ...node(true), metadata: { name: 'w5' } },
        ]),
    });
    expect(found).toEqual([
      { node: 'w1', fault: 'node-not-ready' },
      { node: 'w3', fault: 'node-not-ready' },
    ]);
  });
});

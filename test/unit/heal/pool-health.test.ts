// Pool health for storm mode, from the watched Nodes: grouped as the gates group them.
import type { V1Node } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { poolHealths } from '../../../src/heal/index.ts';
import { withPoolHealth } from '../../../src/worker/index.ts';
import { EMPTY_BUDGET_STATE } from '../../../src/safety/index.ts';

function node(name: string, pool: string | undefined, healthy: boolean): V1Node {
  return {
    metadata: { name, labels: pool ? { 'nodeheal.io/pool': pool } : {} },
    status: {
      conditions: [
        { type: 'Ready', status: healthy ? 'True' : 'Unknown' },
        { type: 'NetworkUnavailable', status: 'False' },
      ],
    },
  };
}

describe('poolHealths', () => {
  it('counts each labelled pool, and every node for pool default when some node has no label', () => {
    const nodes = [
      node('a1', 'a', true),
      node('a2', 'a', false),
      node('b1', 'b', false),
      node('x1', undefined, false),
    ];
    const healths = poolHealths(nodes, ['nodeheal.io/pool']);
    expect(Object.fromEntries(healths)).toEqual({
      a: { total: 2, unhealthy: 1 },
      b: { total: 1, unhealthy: 1 },
      default: { total: 4, unhealthy: 3 },
    });
  });

  it('has no default pool when every node has a pool label', () => {
    const healths = poolHealths([node('a1', 'a', true)], ['nodeheal.io/pool']);
    expect([...healths.keys()]).toEqual(['a']);
  });
});

describe('withPoolHealth', () => {
  const now = new Date('2026-12-02T07:00:00Z');
  const safety = { stormThreshold: 0.2, stormMinNodes: 2, stormCooldownMs: 20_000 };

  it('starts a storm when a pool crosses the threshold, and changes nothing when nothing moved', () => {
    const healths = new Map([['a', { total: 10, unhealthy: 4 }]]);
    const next = withPoolHealth(EMPTY_BUDGET_STATE, healths, now, safety);
    expect(next.pools).toEqual({ a: { total: 10, unhealthy: 4 } });
    expect(next.storms).toEqual({ a: { activeSince: now.getTime() } });
    expect(withPoolHealth(next, healths, new Date(now.getTime() + 2000), safety)).toBe(next);
  });

  it('keeps the storm through its cooldown after the pool recovers, then ends it', () => {
    const storming = withPoolHealth(
      EMPTY_BUDGET_STATE,
      new Map([['a', { total: 10, unhealthy: 4 }]]),
      now,
      safety,
    );
    const healthy = new Map([['a', { total: 10, unhealthy: 0 }]]);
    const recovering = withPoolHealth(storming, healthy, new Date(now.getTime() + 1000), safety);
    expect(recovering.storms.a?.activeSince).toBe(now.getTime());
    expect(recovering.storms.a?.recoveredAt).toBe(now.getTime() + 1000);
    const over = withPoolHealth(recovering, healthy, new Date(now.getTime() + 21_000), safety);
    expect(over.storms.a).toEqual({});
  });
});

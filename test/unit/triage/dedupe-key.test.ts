import { describe, expect, it } from 'vitest';
import { dedupeKey } from '../../../src/triage/index.ts';

describe('dedupeKey', () => {
  it.each([
    ['worker-1', 'node-not-ready', 'heal:worker-1:node-not-ready'],
    [
      'ip-10-0-1-17.eu-west-1.compute.internal',
      'disk-almost-full',
      'heal:ip-10-0-1-17.eu-west-1.compute.internal:disk-almost-full',
    ],
    ['worker-1', 'unknown', 'heal:worker-1:unknown'],
  ])('%s + %s → %s', (node, fault, key) => {
    expect(dedupeKey(node, fault)).toBe(key);
    expect(dedupeKey(node, { name: fault })).toBe(key);
  });

  it.each([
    ['worker-1', 'a', 'worker-2', 'a'],
    ['worker-1', 'a', 'worker-1', 'b'],
    ['worker-1', 'node-not-ready', 'worker-1-node', 'not-ready'],
  ])('%s/%s and %s/%s get different keys', (nodeA, faultA, nodeB, faultB) => {
    expect(dedupeKey(nodeA, faultA)).not.toBe(dedupeKey(nodeB, faultB));
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { eventName } from '../../../src/actions/kube-node-ops.ts';

// A DNS subdomain: what the apiserver accepts as an Event's name.
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

describe('eventName', () => {
  it('names the node first, like the kubelet, and the same key the same way every time', () => {
    expect(eventName('worker-1', 'heal-3/t0')).toMatch(/^worker-1\.nodeheal\.[0-9a-f]{20}$/);
    expect(eventName('worker-1', 'heal-3/t0')).toBe(eventName('worker-1', 'heal-3/t0'));
  });

  it('tells keys apart, and nodes apart', () => {
    expect(eventName('worker-1', 'heal-3/t0')).not.toBe(eventName('worker-1', 'heal-3/t1'));
    expect(eventName('worker-1', 'heal-3/t0')).not.toBe(eventName('worker-2', 'heal-3/t0'));
  });

  it('stays a valid name of at most 253 characters for any node name', () => {
    const label = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
    const node = fc
      .array(label, { minLength: 1, maxLength: 6 })
      .map((labels) => labels.join('.'))
      .filter((n) => n.length <= 253);
    fc.assert(
      fc.property(node, fc.string(), (n, key) => {
        const name = eventName(n, key);
        expect(name.length).toBeLessThanOrEqual(253);
        expect(name).toMatch(DNS_SUBDOMAIN);
      }),
    );
  });
});

import { describe, expect, it } from 'vitest';
import { buildNodeIndex, canonicalHost } from '../../../src/kube/node-index.ts';
import type { NodeLike } from '../../../src/kube/node-index.ts';

function node(name: string, addresses: Array<[string, string]>): NodeLike {
  return {
    metadata: { name },
    status: { addresses: addresses.map(([type, address]) => ({ type, address })) },
  };
}

const index = buildNodeIndex([
  node('worker-1', [
    ['InternalIP', '10.0.0.5'],
    ['ExternalIP', '203.0.113.5'],
    ['Hostname', 'worker-1.cluster.internal'],
    ['InternalDNS', 'ip-10-0-0-5.ec2.internal'],
    ['InternalIP', 'fd00::5'],
  ]),
  node('worker-2', [
    ['InternalIP', '10.0.0.6'],
    ['ExternalDNS', 'worker-2.example.com'],
    ['SomethingElse', '192.0.2.99'],
  ]),
  // Two nodes behind one NAT address: ambiguous, so it resolves to neither.
  node('worker-3', [['ExternalIP', '198.51.100.1']]),
  node('worker-4', [['ExternalIP', '198.51.100.1']]),
  // A Node whose Hostname is another Node's name: the name wins.
  node('worker-5', [['Hostname', 'worker-1']]),
  { metadata: {}, status: { addresses: [{ type: 'InternalIP', address: '10.0.0.99' }] } },
  { metadata: { name: 'bare' } },
]);

describe('buildNodeIndex', () => {
  it.each<[string, string, string | undefined]>([
    ['node name', 'worker-1', 'worker-1'],
    ['node name without addresses', 'bare', 'bare'],
    ['InternalIP', '10.0.0.5', 'worker-1'],
    ['ExternalIP', '203.0.113.5', 'worker-1'],
    ['Hostname', 'worker-1.cluster.internal', 'worker-1'],
    ['InternalDNS', 'ip-10-0-0-5.ec2.internal', 'worker-1'],
    ['ExternalDNS', 'worker-2.example.com', 'worker-2'],
    ['IPv6', 'fd00::5', 'worker-1'],
    ['IPv6 in brackets', '[fd00::5]', 'worker-1'],
    ['IPv6 uncompressed, upper case', 'FD00:0:0:0:0:0:0:5', 'worker-1'],
    ['hostname in upper case with root dot', 'WORKER-1.Cluster.Internal.', 'worker-1'],
    ['address type not indexed', '192.0.2.99', undefined],
    ['address shared by two nodes', '198.51.100.1', undefined],
    ['name wins over another node’s Hostname', 'worker-1', 'worker-1'],
    ['address of a node without a name', '10.0.0.99', undefined],
    ['unknown IP', '10.9.9.9', undefined],
    ['unknown hostname', 'worker-9', undefined],
    ['empty', '', undefined],
    ['prefix of a known name', 'worker', undefined],
  ])('%s: %s -> %s', (_name, host, expected) => {
    expect(index.byAddress(host)).toBe(expected);
  });

  it('an empty list resolves nothing', () => {
    expect(buildNodeIndex([]).byAddress('10.0.0.5')).toBeUndefined();
  });
});

describe('canonicalHost', () => {
  it.each([
    ['10.0.0.5', '10.0.0.5'],
    [' Host.Example. ', 'host.example'],
    ['[FD00::1]', 'fd00::1'],
    ['fd00:0000::0001', 'fd00::1'],
    ['not:an:ipv6:zz', 'not:an:ipv6:zz'],
  ])('%s -> %s', (input, expected) => {
    expect(canonicalHost(input)).toBe(expected);
  });
});

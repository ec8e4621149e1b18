// The client side of HostCommands without a network: its dry-run twin, the agent address of a
// Node, and the cases that fail before any request is sent.
import type { V1Node } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  agentEndpointForNode,
  agentHostCommands,
  dryRunHostCommands,
  type DryRunCall,
} from '../../../src/agent/index.ts';

const SECRET = 'c'.repeat(64);

describe('dryRunHostCommands', () => {
  it('answers ok without contacting anything and shows each call', async () => {
    const calls: DryRunCall[] = [];
    const commands = dryRunHostCommands({ onRun: (call) => calls.push(call) });
    const result = await commands.run('node-a', 'reboot', 'h1');
    expect(result).toEqual({
      outcome: 'ok',
      exitCode: 0,
      output: 'dry run: would ask the agent on node-a to run reboot (heal h1)',
      durationMs: 0,
    });
    expect(calls).toEqual([{ node: 'node-a', command: 'reboot', healId: 'h1' }]);
  });
});

describe('agentEndpointForNode', () => {
  const node = (addresses: { type: string; address: string }[]): V1Node => ({
    status: { addresses },
  });

  it.each([
    [[{ type: 'InternalIP', address: '10.0.3.7' }], 'http://10.0.3.7:9180'],
    [
      [
        { type: 'Hostname', address: 'worker-1' },
        { type: 'ExternalIP', address: '203.0.113.9' },
        { type: 'InternalIP', address: 'fd00::7' },
      ],
      'http://[fd00::7]:9180',
    ],
    [[{ type: 'Hostname', address: 'worker-1' }], undefined],
    [[], undefined],
  ])('maps %j to %s', (addresses, expected) => {
    expect(agentEndpointForNode(node(addresses), 9180)).toBe(expected);
  });
});

describe('agentHostCommands before any request', () => {
  it.each([
    [
      'no address is known',
      () => Promise.resolve(undefined),
      () => SECRET,
      /no agent address known/,
    ],
    [
      'looking the address up fails',
      () => Promise.reject(new Error('node cache not synced')),
      () => SECRET,
      /no address: node cache not synced/,
    ],
    [
      'the secret cannot be read',
      () => Promise.resolve('http://127.0.0.1:9'),
      () => {
        throw new Error('secret file missing');
      },
      /secret file missing/,
    ],
    ['the address is not a URL', () => Promise.resolve('not a url'), () => SECRET, /Invalid URL/],
  ])('is unreachable when %s', async (_label, endpointFor, secret, detail) => {
    const commands = agentHostCommands({ secret, endpointFor, timeoutMs: 1000 });
    const result = await commands.run('node-a', 'restart-kubelet', 'h1');
    expect(result.outcome).toBe('unreachable');
    expect(result.outcome === 'unreachable' ? result.detail : '').toMatch(detail);
  });

  it('is unreachable, not a throw, for a heal id it cannot sign', async () => {
    const commands = agentHostCommands({
      secret: () => SECRET,
      endpointFor: () => Promise.resolve('http://127.0.0.1:9'),
      timeoutMs: 1000,
    });
    const result = await commands.run('node-a', 'restart-kubelet', 'heal id with spaces');
    expect(result).toEqual({
      outcome: 'unreachable',
      detail: 'agent on node-a: cannot sign agent request: malformed healId',
    });
  });
});

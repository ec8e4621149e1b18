// Self-fence settings of `nodeheal agent`: off by default, NODEHEAL_AGENT_SELF_FENCE_* and the
// targets from env or flags, the in-cluster apiserver default, and errors naming flag and variable.
import { describe, expect, it } from 'vitest';
import { loadAgentConfig } from '../../../src/agent/index.ts';
import { DEFAULT_SELF_FENCE_SETTINGS } from '../../../src/safety/index.ts';

const env = {
  NODEHEAL_AGENT_SECRET_FILE: '/etc/nodeheal/agent/secret',
  NODEHEAL_AGENT_NODE: 'worker-1',
};
const inCluster = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };

describe('loadAgentConfig: self-fence', () => {
  it('is off by default, even in a cluster', async () => {
    expect((await loadAgentConfig({}, { ...env, ...inCluster })).selfFence).toBeUndefined();
    expect(
      (await loadAgentConfig({}, { ...env, ...inCluster, NODEHEAL_AGENT_SELF_FENCE: 'false' }))
        .selfFence,
    ).toBeUndefined();
  });

  it('on, in a cluster: the defaults and the in-cluster apiserver', async () => {
    expect(
      (await loadAgentConfig({}, { ...env, ...inCluster, NODEHEAL_AGENT_SELF_FENCE: 'true' }))
        .selfFence,
    ).toEqual({
      settings: DEFAULT_SELF_FENCE_SETTINGS,
      apiserver: { host: '10.96.0.1', port: 443 },
      peers: [],
      peersDns: undefined,
    });
    expect(
      (
        await loadAgentConfig(
          {},
          {
            ...env,
            KUBERNETES_SERVICE_HOST: 'fd00::1',
            KUBERNETES_SERVICE_PORT: '443',
            NODEHEAL_AGENT_SELF_FENCE: 'true',
          },
        )
      ).selfFence?.apiserver,
    ).toEqual({ host: 'fd00::1', port: 443 });
  });

  it('reads every variable, and flags win over them', async () => {
    const all = {
      ...env,
      ...inCluster,
      NODEHEAL_AGENT_SELF_FENCE: 'true',
      NODEHEAL_AGENT_SELF_FENCE_UNREACHABLE_SECONDS: '30',
      NODEHEAL_AGENT_SELF_FENCE_CHECK_INTERVAL_SECONDS: '2',
      NODEHEAL_AGENT_SELF_FENCE_PROBE_TIMEOUT_SECONDS: '0.5',
      NODEHEAL_AGENT_SELF_FENCE_REBOOT_SECONDS: '90',
      NODEHEAL_AGENT_APISERVER: 'api.example:6443',
      NODEHEAL_AGENT_PEERS: '10.0.0.2:9180, 10.0.0.3:9180,',
      NODEHEAL_AGENT_PEERS_DNS: 'nodeheal-agent-peers.nodeheal.svc.cluster.local.',
    };
    expect((await loadAgentConfig({}, all)).selfFence).toEqual({
      settings: {
        ...DEFAULT_SELF_FENCE_SETTINGS,
        unreachableSeconds: 30,
        checkIntervalSeconds: 2,
        probeTimeoutSeconds: 0.5,
        rebootSeconds: 90,
      },
      apiserver: { host: 'api.example', port: 6443 },
      peers: [
        { host: '10.0.0.2', port: 9180 },
        { host: '10.0.0.3', port: 9180 },
      ],
      peersDns: 'nodeheal-agent-peers.nodeheal.svc.cluster.local.',
    });
    const flags = (
      await loadAgentConfig(
        {
          selfFenceUnreachableSeconds: '3',
          selfFenceCheckIntervalSeconds: '0.5',
          selfFenceProbeTimeoutSeconds: '0.25',
          selfFenceRebootSeconds: '1',
          apiserver: '127.0.0.1:1',
          peers: '[::1]:2',
          peersDns: 'peers.local',
        },
        all,
      )
    ).selfFence;
    expect(flags).toMatchObject({
      settings: { unreachableSeconds: 3, checkIntervalSeconds: 0.5, rebootSeconds: 1 },
      apiserver: { host: '127.0.0.1', port: 1 },
      peers: [{ host: '::1', port: 2 }],
      peersDns: 'peers.local',
    });
    // --self-fence turns it on over NODEHEAL_AGENT_SELF_FENCE=false.
    expect(
      (
        await loadAgentConfig(
          { selfFence: true },
          { ...env, ...inCluster, NODEHEAL_AGENT_SELF_FENCE: 'false' },
        )
      ).selfFence,
    ).toBeDefined();
  });

  it.each<[Record<string, string>, string[]]>([
    [
      { NODEHEAL_AGENT_SELF_FENCE: 'yes' },
      ['NODEHEAL_AGENT_SELF_FENCE (--self-fence): expected true or false'],
    ],
    [
      { NODEHEAL_AGENT_SELF_FENCE: 'true' },
      ['NODEHEAL_AGENT_APISERVER (--apiserver): self-fence needs something to reach'],
    ],
    [
      {
        ...inCluster,
        NODEHEAL_AGENT_SELF_FENCE: 'true',
        NODEHEAL_AGENT_SELF_FENCE_UNREACHABLE_SECONDS: '1m',
      },
      [
        'NODEHEAL_AGENT_SELF_FENCE_UNREACHABLE_SECONDS (--self-fence-unreachable-seconds): expected seconds',
      ],
    ],
    [
      {
        ...inCluster,
        NODEHEAL_AGENT_SELF_FENCE: 'true',
        NODEHEAL_AGENT_SELF_FENCE_UNREACHABLE_SECONDS: '8',
        NODEHEAL_AGENT_SELF_FENCE_PROBE_TIMEOUT_SECONDS: '6',
      },
      [
        'NODEHEAL_AGENT_SELF_FENCE_PROBE_TIMEOUT_SECONDS (--self-fence-probe-timeout-seconds): must be at most checkIntervalSeconds',
        'NODEHEAL_AGENT_SELF_FENCE_UNREACHABLE_SECONDS (--self-fence-unreachable-seconds): must be at least twice checkIntervalSeconds',
      ],
    ],
    [{ NODEHEAL_AGENT_PEERS: '10.0.0.2' }, ['NODEHEAL_AGENT_PEERS (--peers): expected host:port']],
    [
      { NODEHEAL_AGENT_APISERVER: 'api' },
      ['NODEHEAL_AGENT_APISERVER (--apiserver): expected host:port'],
    ],
    [
      { NODEHEAL_AGENT_PEERS_DNS: 'bad name' },
      ['NODEHEAL_AGENT_PEERS_DNS (--peers-dns): expected a DNS name'],
    ],
  ])('refuses %j naming the variable and the flag', async (extra, messages) => {
    await expect(loadAgentConfig({}, { ...env, ...extra })).rejects.toThrow(
      expect.objectContaining({ code: 'AGENT_CONFIG_INVALID' }),
    );
    try {
      await loadAgentConfig({}, { ...env, ...extra });
    } catch (error) {
      for (const message of messages) expect((error as Error).message).toContain(message);
    }
  });
});

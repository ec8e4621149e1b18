// The options of `nodeheal agent`, in one table for both parsers of its command line: commander
// (src/cli/index.ts: help, errors, every other command) and agent-argv.ts (the agent's start
// without commander: about 1 MiB resident on every node, docs/benchmarks.md "Footprint").

export interface AgentOption {
  /** The key of the parsed options (commander's camelCase of the long flag). */
  readonly key: string;
  /** `--name <value>` takes a value; `--name` alone is a switch. */
  readonly flags: string;
  readonly description: string;
}

export const AGENT_OPTIONS: readonly AgentOption[] = [
  {
    key: 'listen',
    flags: '--listen <host:port>',
    description: 'authenticated command port (NODEHEAL_AGENT_LISTEN)',
  },
  {
    key: 'healthListen',
    flags: '--health-listen <host:port>',
    description: 'loopback /healthz, or off (NODEHEAL_AGENT_HEALTH_LISTEN)',
  },
  {
    key: 'secretFile',
    flags: '--secret-file <file>',
    description: 'shared HMAC secret (NODEHEAL_AGENT_SECRET_FILE)',
  },
  {
    key: 'catalog',
    flags: '--catalog <file>',
    description: 'host command catalog (NODEHEAL_AGENT_CATALOG)',
  },
  { key: 'node', flags: '--node <name>', description: "this node's name (NODEHEAL_AGENT_NODE)" },
  {
    key: 'stateDir',
    flags: '--state-dir <dir>',
    description: 'results kept across restarts (NODEHEAL_AGENT_STATE_DIR)',
  },
  {
    key: 'selfFence',
    flags: '--self-fence',
    description:
      'reboot this node when neither the apiserver nor a peer is reachable (NODEHEAL_AGENT_SELF_FENCE)',
  },
  {
    key: 'selfFenceUnreachableSeconds',
    flags: '--self-fence-unreachable-seconds <s>',
    description:
      'fence after this long without contact, default 60 (NODEHEAL_AGENT_SELF_FENCE_UNREACHABLE_SECONDS)',
  },
  {
    key: 'selfFenceCheckIntervalSeconds',
    flags: '--self-fence-check-interval-seconds <s>',
    description: 'probe this often, default 5 (NODEHEAL_AGENT_SELF_FENCE_CHECK_INTERVAL_SECONDS)',
  },
  {
    key: 'selfFenceProbeTimeoutSeconds',
    flags: '--self-fence-probe-timeout-seconds <s>',
    description:
      'give a probe this long, default 2 (NODEHEAL_AGENT_SELF_FENCE_PROBE_TIMEOUT_SECONDS)',
  },
  {
    key: 'selfFenceRebootSeconds',
    flags: '--self-fence-reboot-seconds <s>',
    description:
      'time the catalogued reboot takes, default 60 (NODEHEAL_AGENT_SELF_FENCE_REBOOT_SECONDS)',
  },
  {
    key: 'apiserver',
    flags: '--apiserver <host:port>',
    description: 'apiserver to probe, default in-cluster (NODEHEAL_AGENT_APISERVER)',
  },
  {
    key: 'peers',
    flags: '--peers <host:port,...>',
    description: 'peer agents to probe (NODEHEAL_AGENT_PEERS)',
  },
  {
    key: 'peersDns',
    flags: '--peers-dns <name>',
    description: 'DNS name of the peer agents (NODEHEAL_AGENT_PEERS_DNS)',
  },
];

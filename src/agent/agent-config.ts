// The node agent's configuration: command-line flags over NODEHEAL_AGENT_* environment
// variables, validated at start; a bad value exits non-zero with the flag and variable named.
// The self-fence settings are checked by src/safety's schema, loaded only when self-fence is on:
// the default agent loads neither src/safety nor zod (docs/benchmarks.md, "Footprint").
import type { SelfFenceSettings } from '../safety/index.ts';
import {
  Invalid,
  dnsName,
  healthListen,
  hostPort,
  hostPortList,
  nodeName,
  required,
  seconds,
  trueOrFalse,
  type HostPort,
} from './config-fields.ts';

export type { HostPort };

export class AgentConfigError extends Error {
  readonly code = 'AGENT_CONFIG_INVALID';
}

/** Flags of `nodeheal agent`; each overrides its environment variable. */
export interface AgentFlags {
  listen?: string | undefined;
  healthListen?: string | undefined;
  secretFile?: string | undefined;
  catalog?: string | undefined;
  node?: string | undefined;
  stateDir?: string | undefined;
  /** `--self-fence` (commander gives `true`), or the text of NODEHEAL_AGENT_SELF_FENCE. */
  selfFence?: boolean | string | undefined;
  selfFenceUnreachableSeconds?: string | undefined;
  selfFenceCheckIntervalSeconds?: string | undefined;
  selfFenceProbeTimeoutSeconds?: string | undefined;
  selfFenceRebootSeconds?: string | undefined;
  apiserver?: string | undefined;
  peers?: string | undefined;
  peersDns?: string | undefined;
}

/** The self-fence watchdog's configuration (docs/agent.md "Self-fence"). */
export interface SelfFenceConfig {
  settings: SelfFenceSettings;
  /** The apiserver, probed by TCP connect; undefined when neither set nor in-cluster. */
  apiserver: HostPort | undefined;
  /** Static peers (other nodes' agents). */
  peers: HostPort[];
  /** A DNS name resolved each check to the peers' IPs, probed on this agent's port. */
  peersDns: string | undefined;
}

export interface AgentConfig {
  listenHost: string;
  listenPort: number;
  /** Loopback address of the unauthenticated `/healthz`; undefined when turned off. */
  health: { host: string; port: number } | undefined;
  secretFile: string;
  catalog: string;
  node: string;
  /** Where results are kept across restarts (a hostPath); undefined keeps them in memory only. */
  stateDir: string | undefined;
  /** The self-fence watchdog; undefined when off (the default). */
  selfFence: SelfFenceConfig | undefined;
}

export const AGENT_DEFAULTS = {
  listen: '0.0.0.0:9180',
  healthListen: '127.0.0.1:9181',
  catalog: '/etc/nodeheal/agent/catalog.yaml',
} as const;

const FIELDS = {
  listen: { env: 'NODEHEAL_AGENT_LISTEN', flag: '--listen' },
  healthListen: { env: 'NODEHEAL_AGENT_HEALTH_LISTEN', flag: '--health-listen' },
  secretFile: { env: 'NODEHEAL_AGENT_SECRET_FILE', flag: '--secret-file' },
  catalog: { env: 'NODEHEAL_AGENT_CATALOG', flag: '--catalog' },
  node: { env: 'NODEHEAL_AGENT_NODE', flag: '--node' },
  stateDir: { env: 'NODEHEAL_AGENT_STATE_DIR', flag: '--state-dir' },
  selfFence: { env: 'NODEHEAL_AGENT_SELF_FENCE', flag: '--self-fence' },
  selfFenceUnreachableSeconds: {
    env: 'NODEHEAL_AGENT_SELF_FENCE_UNREACHABLE_SECONDS',
    flag: '--self-fence-unreachable-seconds',
  },
  selfFenceCheckIntervalSeconds: {
    env: 'NODEHEAL_AGENT_SELF_FENCE_CHECK_INTERVAL_SECONDS',
    flag: '--self-fence-check-interval-seconds',
  },
  selfFenceProbeTimeoutSeconds: {
    env: 'NODEHEAL_AGENT_SELF_FENCE_PROBE_TIMEOUT_SECONDS',
    flag: '--self-fence-probe-timeout-seconds',
  },
  selfFenceRebootSeconds: {
    env: 'NODEHEAL_AGENT_SELF_FENCE_REBOOT_SECONDS',
    flag: '--self-fence-reboot-seconds',
  },
  apiserver: { env: 'NODEHEAL_AGENT_APISERVER', flag: '--apiserver' },
  peers: { env: 'NODEHEAL_AGENT_PEERS', flag: '--peers' },
  peersDns: { env: 'NODEHEAL_AGENT_PEERS_DNS', flag: '--peers-dns' },
} as const;

/** Settings fields of the pure schema, by the agent field that carries them. */
const SETTINGS_FIELDS = {
  unreachableSeconds: 'selfFenceUnreachableSeconds',
  checkIntervalSeconds: 'selfFenceCheckIntervalSeconds',
  probeTimeoutSeconds: 'selfFenceProbeTimeoutSeconds',
  rebootSeconds: 'selfFenceRebootSeconds',
} as const;

/**
 * Resolves the agent configuration.
 *
 * - Each setting comes from its flag, else its environment variable, else its default:
 *   `NODEHEAL_AGENT_LISTEN` (`0.0.0.0:9180`), `NODEHEAL_AGENT_HEALTH_LISTEN` (`127.0.0.1:9181`,
 *   loopback only, or `off`), `NODEHEAL_AGENT_SECRET_FILE` (required),
 *   `NODEHEAL_AGENT_CATALOG` (`/etc/nodeheal/agent/catalog.yaml`), `NODEHEAL_AGENT_NODE`
 *   (required), `NODEHEAL_AGENT_STATE_DIR` (optional).
 * - Self-fence is off unless `NODEHEAL_AGENT_SELF_FENCE=true` (`--self-fence`); then its
 *   settings (`NODEHEAL_AGENT_SELF_FENCE_*_SECONDS`, defaults of `selfFenceSettingsSchema`) are
 *   checked by that schema, and at least one target must be known: `NODEHEAL_AGENT_APISERVER`
 *   (default `KUBERNETES_SERVICE_HOST:KUBERNETES_SERVICE_PORT`), `NODEHEAL_AGENT_PEERS` (comma
 *   list of host:port) or `NODEHEAL_AGENT_PEERS_DNS`. The targets are parsed even when it is
 *   off, so a typo is never silent.
 * - Errors name the flag and the variable of every bad setting at once.
 */
export async function loadAgentConfig(
  flags: AgentFlags = {},
  env: NodeJS.ProcessEnv = process.env,
): Promise<AgentConfig> {
  const pick = (key: keyof typeof FIELDS): string | undefined => {
    const value = flags[key] ?? env[FIELDS[key].env];
    return value === '' || typeof value === 'boolean' ? undefined : value;
  };
  const problems: string[] = [];
  const problem = (key: keyof typeof FIELDS, message: string) => {
    const field = FIELDS[key];
    problems.push(`${field.env} (${field.flag}): ${message}`);
  };
  const fail = () =>
    new AgentConfigError(`invalid agent configuration:\n  ${problems.join('\n  ')}`);
  /** The parsed value of a setting; a bad one is noted and read as undefined. */
  const read = <T>(key: keyof typeof FIELDS, parsed: T | Invalid): T | undefined => {
    if (!(parsed instanceof Invalid)) return parsed;
    problem(key, parsed.message);
    return undefined;
  };
  const optional = <T>(key: keyof typeof FIELDS, parse: (text: string) => T | Invalid) => {
    const text = pick(key);
    return text === undefined ? undefined : read(key, parse(text));
  };

  const listen = read('listen', hostPort(pick('listen') ?? AGENT_DEFAULTS.listen));
  const health = read(
    'healthListen',
    healthListen(pick('healthListen') ?? AGENT_DEFAULTS.healthListen),
  );
  const secretFile = read(
    'secretFile',
    required(pick('secretFile') ?? '', 'required: the file holding the shared agent secret'),
  );
  const catalog = pick('catalog') ?? AGENT_DEFAULTS.catalog;
  const node = read('node', nodeName(pick('node') ?? ''));
  const stateDir = pick('stateDir');
  const selfFenceOn = read(
    'selfFence',
    flags.selfFence === true ? true : trueOrFalse(pick('selfFence') ?? 'false'),
  );
  const given = {
    unreachableSeconds: optional('selfFenceUnreachableSeconds', seconds),
    checkIntervalSeconds: optional('selfFenceCheckIntervalSeconds', seconds),
    probeTimeoutSeconds: optional('selfFenceProbeTimeoutSeconds', seconds),
    rebootSeconds: optional('selfFenceRebootSeconds', seconds),
  };
  const apiserverText = pick('apiserver') ?? inClusterApiserver(env);
  const apiserver =
    apiserverText === undefined ? undefined : read('apiserver', hostPort(apiserverText));
  const peers = read('peers', hostPortList(pick('peers') ?? '')) ?? [];
  const peersDns = optional('peersDns', dnsName);
  if (problems.length > 0 || !listen || !health || !secretFile || !node) throw fail();

  let selfFence: SelfFenceConfig | undefined;
  if (selfFenceOn) {
    // Loaded here only: src/safety (and zod with it) costs the default agent nothing.
    const { selfFenceSettingsSchema } = await import('../safety/index.ts');
    const settings = selfFenceSettingsSchema.safeParse(given);
    if (!settings.success) {
      for (const issue of settings.error.issues) {
        problem(SETTINGS_FIELDS[issue.path[0] as keyof typeof SETTINGS_FIELDS], issue.message);
      }
    }
    if (apiserver === undefined && peers.length === 0 && peersDns === undefined) {
      problem(
        'apiserver',
        'self-fence needs something to reach: the apiserver (default from KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT), NODEHEAL_AGENT_PEERS or NODEHEAL_AGENT_PEERS_DNS',
      );
    }
    if (settings.success) selfFence = { settings: settings.data, apiserver, peers, peersDns };
  }
  if (problems.length > 0) throw fail();
  return {
    listenHost: listen.host,
    listenPort: listen.port,
    health: health === 'off' ? undefined : health,
    secretFile,
    catalog,
    node,
    stateDir,
    selfFence,
  };
}

/** `host:port` of the in-cluster apiserver (the Service env Kubernetes gives every pod). */
function inClusterApiserver(env: NodeJS.ProcessEnv): string | undefined {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) return undefined;
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

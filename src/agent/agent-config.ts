// The node agent's configuration: command-line flags over NODEHEAL_AGENT_* environment
// variables, validated at start; a bad value exits non-zero with the flag and variable named.
import { z } from 'zod';
import { selfFenceSettingsSchema, type SelfFenceSettings } from '../safety/index.ts';

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

export interface HostPort {
  host: string;
  port: number;
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

const hostPort = z
  .string()
  // The port follows the last colon, so an unbracketed IPv6 node IP ($(NODE_IP):9180) works too.
  .regex(/^(\[[0-9a-fA-F:.]+\]|[^\s[\]]+):(\d{1,5})$/, 'expected host:port, e.g. 10.0.0.5:9180')
  .transform((text, ctx) => {
    const split = text.lastIndexOf(':');
    const host = text.slice(0, split).replace(/^\[|\]$/g, '');
    const port = Number(text.slice(split + 1));
    if (port > 65535) ctx.addIssue({ code: 'custom', message: 'port above 65535' });
    return { host, port };
  });

const isLoopback = (host: string) =>
  host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);

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

const seconds = z
  .string()
  .regex(/^\d+(\.\d+)?$/, 'expected seconds, e.g. 60 or 0.5')
  .transform(Number)
  .optional();

const schema = z.object({
  listen: hostPort,
  healthListen: z.union([
    z.literal('off'),
    hostPort.refine(
      (hp) => isLoopback(hp.host),
      'the unauthenticated health endpoint listens on loopback only (127.0.0.1:PORT), or "off"',
    ),
  ]),
  secretFile: z.string().min(1, 'required: the file holding the shared agent secret'),
  catalog: z.string().min(1),
  node: z
    .string()
    .min(1, { error: "required: this node's name (the Downward API spec.nodeName)", abort: true })
    .regex(/^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/, 'expected a Kubernetes node name'),
  stateDir: z.string().min(1).optional(),
  selfFence: z.enum(['true', 'false'], 'expected true or false'),
  selfFenceUnreachableSeconds: seconds,
  selfFenceCheckIntervalSeconds: seconds,
  selfFenceProbeTimeoutSeconds: seconds,
  selfFenceRebootSeconds: seconds,
  apiserver: hostPort.optional(),
  peers: z
    .string()
    .optional()
    .transform((text) =>
      (text ?? '')
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean),
    )
    .pipe(z.array(hostPort)),
  peersDns: z
    .string()
    .regex(/^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9.])?$/, 'expected a DNS name')
    .optional(),
});

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
export function loadAgentConfig(
  flags: AgentFlags = {},
  env: NodeJS.ProcessEnv = process.env,
): AgentConfig {
  const pick = (key: keyof typeof FIELDS) => {
    const value = flags[key] ?? env[FIELDS[key].env];
    return value === '' ? undefined : value;
  };
  const parsed = schema.safeParse({
    listen: pick('listen') ?? AGENT_DEFAULTS.listen,
    healthListen: pick('healthListen') ?? AGENT_DEFAULTS.healthListen,
    secretFile: pick('secretFile') ?? '',
    catalog: pick('catalog') ?? AGENT_DEFAULTS.catalog,
    node: pick('node') ?? '',
    stateDir: pick('stateDir'),
    selfFence:
      flags.selfFence === true ? 'true' : ((pick('selfFence') as string | undefined) ?? 'false'),
    selfFenceUnreachableSeconds: pick('selfFenceUnreachableSeconds'),
    selfFenceCheckIntervalSeconds: pick('selfFenceCheckIntervalSeconds'),
    selfFenceProbeTimeoutSeconds: pick('selfFenceProbeTimeoutSeconds'),
    selfFenceRebootSeconds: pick('selfFenceRebootSeconds'),
    apiserver: pick('apiserver') ?? inClusterApiserver(env),
    peers: pick('peers'),
    peersDns: pick('peersDns'),
  });
  const problems: string[] = [];
  const problem = (key: keyof typeof FIELDS, message: string) => {
    const field = FIELDS[key];
    problems.push(`${field.env} (${field.flag}): ${message}`);
  };
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      problem(issue.path[0] as keyof typeof FIELDS, issue.message);
    }
    throw new AgentConfigError(`invalid agent configuration:\n  ${problems.join('\n  ')}`);
  }
  const c = parsed.data;
  let selfFence: SelfFenceConfig | undefined;
  if (c.selfFence === 'true') {
    const settings = selfFenceSettingsSchema.safeParse({
      unreachableSeconds: c.selfFenceUnreachableSeconds,
      checkIntervalSeconds: c.selfFenceCheckIntervalSeconds,
      probeTimeoutSeconds: c.selfFenceProbeTimeoutSeconds,
      rebootSeconds: c.selfFenceRebootSeconds,
    });
    if (!settings.success) {
      for (const issue of settings.error.issues) {
        problem(SETTINGS_FIELDS[issue.path[0] as keyof typeof SETTINGS_FIELDS], issue.message);
      }
    }
    if (c.apiserver === undefined && c.peers.length === 0 && c.peersDns === undefined) {
      problem(
        'apiserver',
        'self-fence needs something to reach: the apiserver (default from KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT), NODEHEAL_AGENT_PEERS or NODEHEAL_AGENT_PEERS_DNS',
      );
    }
    if (settings.success) {
      selfFence = {
        settings: settings.data,
        apiserver: c.apiserver,
        peers: c.peers,
        peersDns: c.peersDns,
      };
    }
  }
  if (problems.length > 0) {
    throw new AgentConfigError(`invalid agent configuration:\n  ${problems.join('\n  ')}`);
  }
  return {
    listenHost: c.listen.host,
    listenPort: c.listen.port,
    health: c.healthListen === 'off' ? undefined : c.healthListen,
    secretFile: c.secretFile,
    catalog: c.catalog,
    node: c.node,
    stateDir: c.stateDir,
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

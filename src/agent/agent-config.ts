// The node agent's configuration: command-line flags over NODEHEAL_AGENT_* environment
// variables, validated at start; a bad value exits non-zero with the flag and variable named.
import { z } from 'zod';

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
} as const;

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
});

/**
 * Resolves the agent configuration.
 *
 * - Each setting comes from its flag, else its environment variable, else its default:
 *   `NODEHEAL_AGENT_LISTEN` (`0.0.0.0:9180`), `NODEHEAL_AGENT_HEALTH_LISTEN` (`127.0.0.1:9181`,
 *   loopback only, or `off`), `NODEHEAL_AGENT_SECRET_FILE` (required),
 *   `NODEHEAL_AGENT_CATALOG` (`/etc/nodeheal/agent/catalog.yaml`), `NODEHEAL_AGENT_NODE`
 *   (required), `NODEHEAL_AGENT_STATE_DIR` (optional).
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
  });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const key = issue.path[0] as keyof typeof FIELDS;
      const field = FIELDS[key];
      return `${field.env} (${field.flag}): ${issue.message}`;
    });
    throw new AgentConfigError(`invalid agent configuration:\n  ${problems.join('\n  ')}`);
  }
  const c = parsed.data;
  return {
    listenHost: c.listen.host,
    listenPort: c.listen.port,
    health: c.healthListen === 'off' ? undefined : c.healthListen,
    secretFile: c.secretFile,
    catalog: c.catalog,
    node: c.node,
    stateDir: c.stateDir,
  };
}

// Configuration of `nodeheal worker`, from the environment, validated at start.
import { z } from 'zod';
import { providerNameSchema, providerRulesSchema } from '../providers/index.ts';
import { approvalRulesSchema, DEFAULT_POOL_LABELS } from '../heal/index.ts';
import { hooksSchema } from '../hooks/index.ts';
import { notifySinksSchema } from '../notify/index.ts';
import {
  blockersSchema,
  maintenanceWindowsSchema,
  safetyConfigSchema,
  selfFenceWorkerSchema,
} from '../safety/index.ts';

const json = <T extends z.ZodType>(schema: T) =>
  z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'expected JSON' });
        return z.NEVER;
      }
    })
    .pipe(schema);

const int = (min: number, max: number, fallback: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

export const workerEnvSchema = z.object({
  NODEHEAL_WORKER_CONCURRENCY: int(1, 1000, 4),
  NODEHEAL_WORKER_LISTEN: z
    .string()
    .regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s[\]]+):\d{1,5}$/)
    .default('0.0.0.0:8081'),
  NODEHEAL_WORKER_LOCK_MS: int(1000, 600_000, 30_000),
  NODEHEAL_WORKER_STALLED_MS: int(500, 600_000, 30_000),
  /**
   * How long a heal's node lock lives without renewal (renewed every quarter of it): a heal whose
   * worker died lets go of its node within it, and of its budget slot within 3 times it.
   */
  NODEHEAL_NODE_LOCK_TTL_MS: int(2_000, 3_600_000, 120_000),
  NODEHEAL_POOL_LABELS: z.string().optional(),
  /** Which registered provider replaces which nodes: JSON `[{selector, provider}]`, first match wins. */
  NODEHEAL_PROVIDERS: json(providerRulesSchema).optional(),
  /**
   * The provider of nodes no NODEHEAL_PROVIDERS rule matches. Unset: none, and a `replace` of
   * such a node fails ("no provider for this pool") instead of deleting it.
   */
  NODEHEAL_DEFAULT_PROVIDER: providerNameSchema.optional(),
  NODEHEAL_SAFETY: json(safetyConfigSchema.partial()).optional(),
  /**
   * The self-fencing pool (chart agent.selfFence), JSON `{selector, safeTimeSeconds}`: a node
   * matching the selector may be assumed down safeTimeSeconds after it was last heard from.
   */
  NODEHEAL_SELF_FENCE: json(selfFenceWorkerSchema).optional(),
  /**
   * Maintenance windows per pool (JSON list of { selector, days, start, end, timeZone }):
   * outside them, reboot, drain and replace of a Ready node wait (gate `window`).
   */
  NODEHEAL_MAINTENANCE_WINDOWS: json(maintenanceWindowsSchema).optional(),
  /**
   * Pools whose heals ask a human before an outage (JSON list of { selector, approval }, first
   * match wins; `approval: outage` in remedies.yaml does the same per fault): a drain, reboot or
   * replace of a Ready node that would leave a workload without a replica, lose local data or
   * evict a pod nothing recreates waits for approval (gate `approval`).
   */
  NODEHEAL_APPROVAL: json(approvalRulesSchema).optional(),
  /** Prometheus that answers the blockers' queries (for example http://prometheus:9090). */
  NODEHEAL_PROMETHEUS_URL: z.url().optional(),
  /**
   * The operator's blockers, JSON list of { name, query, pools? }: while a query returns
   * anything, drain, reboot and replace of nodes in its pools wait (gate `blocker`).
   */
  NODEHEAL_BLOCKERS: json(blockersSchema).optional(),
  /**
   * An Alertmanager whose silences hold heals (gate `silence`): one matching a heal's fault
   * alert, or `alertname="nodeheal"` with the node's `node`, `pool` or `fault`.
   */
  NODEHEAL_ALERTMANAGER_URL: z.url().optional(),
  /** Timeout of one question to Prometheus or Alertmanager; no answer holds the step. */
  NODEHEAL_SIGNALS_TIMEOUT_MS: int(100, 60_000, 5000),
  /**
   * With NODEHEAL_ALERTMANAGER_URL: a due heal whose alerts Alertmanager no longer holds
   * unresolved (or whose node's condition shows healthy) waits this long for the resolved
   * notification before asking again, instead of acting on a fault that is over.
   */
  NODEHEAL_CONFIRM_RECHECK_MS: int(1_000, 600_000, 15_000),
  /**
   * The longest such a heal waits without a resolved notification before it goes ahead (an
   * Alertmanager that never held its alerts, or `send_resolved: false`); 0 never waits.
   */
  NODEHEAL_CONFIRM_MAX_WAIT_MS: int(0, 3_600_000, 300_000),
  /**
   * How long a replacement may take to be Ready (MachineHealthCheck's nodeStartupTimeout): a
   * replace step is healed when capacity is back within it, abandoned otherwise.
   */
  NODEHEAL_NODE_STARTUP_TIMEOUT_MS: int(10_000, 24 * 3_600_000, 600_000),
  /**
   * How long a fault's alerts, resolved while nodeheal's own cordon was on the node, must stay
   * resolved once nodeheal uncordons it before the step counts as a cure (5 minutes).
   */
  NODEHEAL_UNCORDON_SETTLE_MS: int(1_000, 3_600_000, 300_000),
  NODEHEAL_DRAIN_PARALLELISM: int(1, 500, 32),
  NODEHEAL_DRAIN_EMPTYDIR: z.enum(['evict', 'block']).default('evict'),
  NODEHEAL_DRAIN_UNMANAGED: z.enum(['evict', 'block']).default('block'),
  NODEHEAL_DRAIN_FORCE: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
  NODEHEAL_DRAIN_SKIP_WAIT_MS: int(0, 3_600_000, 60_000),
  NODEHEAL_AGENT_SECRET_FILE: z.string().optional(),
  NODEHEAL_AGENT_PORT: int(1, 65535, 9180),
  NODEHEAL_AGENT_TIMEOUT_MS: int(1000, 3_600_000, 120_000),
  /** Static agent endpoints, node name -> base URL (development and tests; else InternalIP:port). */
  NODEHEAL_AGENT_ENDPOINTS: json(z.record(z.string(), z.url())).optional(),
  /**
   * Step hooks (docs/hooks.md), JSON list of { name, url, pools?, timeoutMs?, phases? }: asked
   * before reboot, drain and replace (a 409 or 423, or no clear answer, holds the step: gate
   * `hook`) and told the result after.
   */
  NODEHEAL_HOOKS: json(hooksSchema).optional(),
  /** The HMAC key hook requests are signed with (first line; at least 32 characters). */
  NODEHEAL_HOOK_SECRET_FILE: z.string().optional(),
  NODEHEAL_VERIFY_POLL_MS: int(100, 60_000, 2000),
  NODEHEAL_DEFER_MS: int(100, 3_600_000, 30_000),
  /**
   * Where each heal transition is announced (docs/notifications.md): JSON list of
   * { url, format: cloudevents|slack, name, pools, kinds, headers, timeoutMs, maxAttempts,
   * backoffMs, maxBackoffMs, queueSize }.
   */
  NODEHEAL_NOTIFY_SINKS: json(notifySinksSchema).optional(),
  /**
   * Names this cluster in notifications (CloudEvents source `nodeheal/<name>`); default
   * NODEHEAL_CLUSTER, else the host name.
   */
  NODEHEAL_CLUSTER_NAME: z
    .string()
    .regex(
      /^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/,
      'letters, digits, ".", "_" and "-", at most 63',
    )
    .optional(),
  /** Bring replacements up before draining where the provider can (capacity first). */
  NODEHEAL_SURGE: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
});

export type WorkerEnv = z.infer<typeof workerEnvSchema>;

export function loadWorkerConfig(env: NodeJS.ProcessEnv = process.env) {
  const parsed = workerEnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new Error(`invalid worker configuration:\n  ${problems.join('\n  ')}`);
  }
  const c = parsed.data;
  if (c.NODEHEAL_SELF_FENCE && !c.NODEHEAL_AGENT_SECRET_FILE) {
    // A self-fence is assumed only for a node whose agent nodeheal cannot reach: without the
    // agent configured every agent looks unreachable, and every silent node would look fenced.
    throw new Error(
      'invalid worker configuration:\n  NODEHEAL_SELF_FENCE: needs NODEHEAL_AGENT_SECRET_FILE ' +
        '(the node agents self-fence; nodeheal must be able to ask them)',
    );
  }
  if (c.NODEHEAL_BLOCKERS && c.NODEHEAL_BLOCKERS.length > 0 && !c.NODEHEAL_PROMETHEUS_URL) {
    throw new Error(
      'invalid worker configuration:\n  NODEHEAL_BLOCKERS: needs NODEHEAL_PROMETHEUS_URL (the ' +
        'Prometheus that answers the queries)',
    );
  }
  const names = (c.NODEHEAL_BLOCKERS ?? []).map((b) => b.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined) {
    throw new Error(`invalid worker configuration:\n  NODEHEAL_BLOCKERS: ${twice} named twice`);
  }
  if ((c.NODEHEAL_HOOKS?.length ?? 0) > 0 && !c.NODEHEAL_HOOK_SECRET_FILE) {
    // Hooks hold and release disruptive steps: their receivers must be able to tell nodeheal's
    // requests from anyone else's.
    throw new Error(
      'invalid worker configuration:\n  NODEHEAL_HOOKS: needs NODEHEAL_HOOK_SECRET_FILE ' +
        '(hook requests are signed with it)',
    );
  }
  return {
    ...c,
    poolLabels: c.NODEHEAL_POOL_LABELS
      ? c.NODEHEAL_POOL_LABELS.split(',')
          .map((l) => l.trim())
          .filter(Boolean)
      : DEFAULT_POOL_LABELS,
  };
}

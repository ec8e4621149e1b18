// nodeheal's configuration: one zod schema over the environment (DESIGN.md names the variables)
// and the command-line flags. A bad value exits non-zero with the variable named.
import { z } from 'zod';

const hostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s[\]]+):(\d{1,5})$/, 'expected host:port, e.g. 0.0.0.0:8080');

const byteSize = z
  .string()
  .regex(/^\d+(b|kb|mb|gb)?$/i, 'expected a size such as 16mb, 512kb or 1048576');

const booleanFlag = z
  .enum(['true', 'false', '1', '0', ''])
  .transform((v) => v === 'true' || v === '1');

export const envSchema = z.object({
  NODEHEAL_REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'expected a redis:// or rediss:// URL')
    .default('redis://127.0.0.1:6379'),
  /**
   * Redis Sentinel instead of the URL: `host:port,...` of the Sentinels, and the master group name
   * they watch. serve and worker follow the primary through a failover (redis-target.ts).
   */
  NODEHEAL_REDIS_SENTINELS: z.string().min(1).optional(),
  NODEHEAL_REDIS_SENTINEL_MASTER: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/, 'expected a master group name such as mymaster')
    .optional(),
  /** With Sentinel, the primary's credentials (with the URL they are part of the URL). */
  NODEHEAL_REDIS_USERNAME: z.string().min(1).optional(),
  NODEHEAL_REDIS_PASSWORD: z.string().min(1).optional(),
  /** The Sentinels' own credentials, when they have `requirepass`. */
  NODEHEAL_REDIS_SENTINEL_USERNAME: z.string().min(1).optional(),
  NODEHEAL_REDIS_SENTINEL_PASSWORD: z.string().min(1).optional(),
  NODEHEAL_LISTEN: hostPort.default('0.0.0.0:8080'),
  NODEHEAL_WEBHOOK_TOKEN: z.string().min(1).optional(),
  NODEHEAL_WEBHOOK_TOKEN_FILE: z.string().min(1).optional(),
  NODEHEAL_WEBHOOK_USERNAME: z.string().min(1).optional(),
  NODEHEAL_WEBHOOK_PASSWORD: z.string().min(1).optional(),
  NODEHEAL_WEBHOOK_PASSWORD_FILE: z.string().min(1).optional(),
  NODEHEAL_ADMIN_TOKEN: z.string().min(1).optional(),
  NODEHEAL_RULES: z.string().min(1).default('alert-rules/remedies.yaml'),
  NODEHEAL_DRY_RUN: booleanFlag.default(false),
  NODEHEAL_PUBLIC_URL: z.url().optional(),
  /** Largest webhook body accepted; 16 MB fits max_alerts: 0 with several thousand alerts. */
  NODEHEAL_BODY_LIMIT: byteSize.default('16mb'),
  /** Redis command timeout: a webhook answers 503 within about this long when Redis is stuck. */
  NODEHEAL_REDIS_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(2000),
  /**
   * Triage histories the intake keeps in memory, so that a repeat delivery needs no read from
   * Redis (a few hundred bytes each; a stale one costs a retry, never a wrong decision).
   */
  NODEHEAL_HISTORY_CACHE_ENTRIES: z.coerce.number().int().min(1).max(10_000_000).default(50_000),
  /**
   * The cluster this nodeheal serves, when one Alertmanager sends the alerts of several: only
   * alerts whose NODEHEAL_CLUSTER_LABEL equals it are acted on, the rest answered as ignored.
   */
  NODEHEAL_CLUSTER: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'expected a cluster name (a DNS-1123 label)')
    .optional(),
  NODEHEAL_CLUSTER_LABEL: z
    .string()
    .regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'expected a Prometheus label name')
    .default('cluster'),
  KUBECONFIG: z.string().optional(),
});

export type EnvConfig = z.infer<typeof envSchema>;

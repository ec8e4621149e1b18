// The safety limits, with the defaults of DESIGN.md's safety table.
import { z } from 'zod';

const MINUTE_MS = 60_000;

export const safetyConfigSchema = z.object({
  /** Nodes healed at once per pool (DESIGN: 1; AKS, kured, OCI heal one at a time). */
  poolBudget: z.int().min(0).default(1),
  /** Nodes healed at once in the cluster (DESIGN: 3). */
  clusterBudget: z.int().min(0).default(3),
  /** Storm when the unhealthy share of a pool exceeds this (DESIGN: 20 %, EKS 20 %, Elastx 35 %). */
  stormThreshold: z.number().min(0).max(1).default(0.2),
  /** …and more than this many of its nodes are unhealthy (DESIGN: more than 2). */
  stormMinNodes: z.int().min(0).default(2),
  /** A storm ends this long after the share is back at or under the threshold (NHC: 5 min). */
  stormCooldownMs: z
    .int()
    .min(0)
    .default(5 * MINUTE_MS),
  /** No new heal of a node this soon after its last heal ended (DESIGN: 30 min; OCI 20 min, KCP 1 h). */
  nodeCooldownMs: z
    .int()
    .min(0)
    .default(30 * MINUTE_MS),
  /** After this many heals of a node in 24 h only cordon, drain and replace may run (DESIGN: 3). */
  maxHealsPer24h: z.int().min(1).default(3),
  /** Control-plane nodes may be cordoned, drained and replaced (DESIGN: never, unless enabled). */
  allowControlPlaneReplace: z.boolean().default(false),
});

export type SafetyConfig = z.output<typeof safetyConfigSchema>;

export const DEFAULT_SAFETY_CONFIG: Readonly<SafetyConfig> = Object.freeze(
  safetyConfigSchema.parse({}),
);

/** The defaults with `overrides` on top (undefined values keep the default). */
export function safetyConfig(overrides: Partial<SafetyConfig> = {}): SafetyConfig {
  const merged: SafetyConfig = { ...DEFAULT_SAFETY_CONFIG };
  for (const [key, value] of Object.entries(overrides) as Array<[keyof SafetyConfig, unknown]>) {
    if (value !== undefined) (merged as Record<keyof SafetyConfig, unknown>)[key] = value;
  }
  return merged;
}

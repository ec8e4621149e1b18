// The configuration of the step hooks (NODEHEAL_HOOKS): per pool, HTTP endpoints nodeheal asks
// before a disruptive step (and may be held by) and tells after it.
import { z } from 'zod';

export const HOOK_PHASES = ['pre', 'post'] as const;
export type HookPhase = (typeof HOOK_PHASES)[number];

/** Default time a hook has to answer (connect, headers and body). */
export const DEFAULT_HOOK_TIMEOUT_MS = 5000;

export const hookSchema = z
  .object({
    /** Names the hook in holds, logs and the `x-nodeheal-hook` header. */
    name: z
      .string()
      .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'a lowercase name: a-z, 0-9 and -'),
    /** Where the hook is POSTed to (http or https; redirects are not followed). */
    url: z.url({ protocol: /^https?$/, error: 'an http:// or https:// URL' }),
    /** The pools (node pool label values) it is asked about; absent: every pool. */
    pools: z.array(z.string().min(1)).min(1).optional(),
    timeoutMs: z.number().int().min(100).max(60_000).default(DEFAULT_HOOK_TIMEOUT_MS),
    /** `pre`: asked before the step, may hold it; `post`: told the result. Default both. */
    phases: z
      .array(z.enum(HOOK_PHASES))
      .min(1)
      .default([...HOOK_PHASES]),
  })
  .strict();

export type HookConfig = z.infer<typeof hookSchema>;

export const hooksSchema = z.array(hookSchema).superRefine((hooks, ctx) => {
  const seen = new Set<string>();
  hooks.forEach((hook, i) => {
    if (seen.has(hook.name)) {
      ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate hook ${hook.name}` });
    }
    seen.add(hook.name);
  });
});

/** Whether `hook` is asked (or told) about steps of nodes in `pool` in `phase`. */
export function hookApplies(hook: HookConfig, pool: string, phase: HookPhase): boolean {
  return hook.phases.includes(phase) && (hook.pools === undefined || hook.pools.includes(pool));
}

// Where heal notifications go (NODEHEAL_NOTIFY_SINKS): a list of HTTP sinks, each with its
// format, the pools and transition kinds it wants, and how hard delivery tries.
import { z } from 'zod';
import { TRANSITION_KINDS, type TransitionKind } from '../heal/index.ts';

export const NOTIFY_FORMATS = ['cloudevents', 'slack'] as const;
export type NotifyFormat = (typeof NOTIFY_FORMATS)[number];

/**
 * The transitions a sink gets unless it lists its own `kinds`: every stage of a heal. The notes
 * (`fault-resolved`, `fault-firing`, `fault-joined`) are left out: they can come often and
 * change nothing a human acts on; a sink that wants them lists them.
 */
export const DEFAULT_NOTIFY_KINDS: readonly TransitionKind[] = TRANSITION_KINDS.filter(
  (k) => k !== 'fault-resolved' && k !== 'fault-firing' && k !== 'fault-joined',
);

const sinkName = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'lowercase letters, digits and -, at most 63');

export const notifySinkSchema = z
  .strictObject({
    /** A metric label and the name in logs; never the URL, which can hold a secret (Slack). */
    name: sinkName.optional(),
    url: z.url({ protocol: /^https?$/, error: 'an http or https URL' }),
    /** `cloudevents`: CloudEvents 1.0 structured JSON; `slack`: incoming-webhook `{"text"}`. */
    format: z.enum(NOTIFY_FORMATS).default('cloudevents'),
    /** Only heals of these pools; unset: every pool. */
    pools: z.array(z.string().min(1)).min(1).optional(),
    /** Only these transition kinds; unset: DEFAULT_NOTIFY_KINDS. */
    kinds: z.array(z.enum(TRANSITION_KINDS)).min(1).optional(),
    /** Extra request headers (an Authorization the sink wants). */
    headers: z.record(z.string().regex(/^[A-Za-z0-9-]+$/), z.string()).optional(),
    /** How long one request may take. */
    timeoutMs: z.int().min(100).max(60_000).default(5000),
    /** Tries per notification, the first included; then it counts as failed. */
    maxAttempts: z.int().min(1).max(100).default(6),
    /** The wait before the first retry, doubled for each next one up to maxBackoffMs. */
    backoffMs: z.int().min(10).max(600_000).default(1000),
    maxBackoffMs: z.int().min(10).max(3_600_000).default(60_000),
    /** Notifications waiting per sink; when full the oldest is dropped (and counted). */
    queueSize: z.int().min(1).max(100_000).default(1000),
  })
  .refine((s) => s.backoffMs <= s.maxBackoffMs, {
    message: 'backoffMs must not exceed maxBackoffMs',
    path: ['backoffMs'],
  });

export type NotifySinkInput = z.input<typeof notifySinkSchema>;
export type NotifySink = z.output<typeof notifySinkSchema> & { name: string };

/** The sink list; a sink without a name is named `sink-<position>` (from 1). Names are unique. */
export const notifySinksSchema = z
  .array(notifySinkSchema)
  .transform((sinks) =>
    sinks.map((s, i): NotifySink => ({ ...s, name: s.name ?? `sink-${i + 1}` })),
  )
  .superRefine((sinks, ctx) => {
    const seen = new Set<string>();
    sinks.forEach((s, i) => {
      if (seen.has(s.name))
        ctx.addIssue({
          code: 'custom',
          message: `duplicate sink name ${s.name}`,
          path: [i, 'name'],
        });
      seen.add(s.name);
    });
  });

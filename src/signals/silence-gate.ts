// Alertmanager silences as a gate: operators already silence a node's alerts during
// maintenance, so a silence that matches the heal's fault alert (or nodeheal's own label set for
// the node: `alertname="nodeheal", node="..."`) holds the heal, every step, until it ends. An
// Alertmanager that cannot be asked holds too: when unsure, do nothing.
import { z } from 'zod';
import {
  describeSilence,
  holdingSilence,
  silenceSchema,
  type ExternalGate,
  type ExternalGateContext,
  type ExternalHold,
} from '../safety/index.ts';
import { cached, getJson } from './http-json.ts';

export interface SilenceGateOptions {
  /** One Alertmanager of the cluster (silences are gossiped to the others). */
  alertmanagerUrl: string;
  timeoutMs: number;
  cacheMs: number;
  now?: () => number;
}

export function silenceGate(options: SilenceGateOptions): ExternalGate {
  const now = options.now ?? Date.now;
  const url = `${options.alertmanagerUrl.replace(/\/+$/, '')}/api/v2/silences`;
  const silences = cached(options.cacheMs, now, () =>
    getJson(url, z.array(silenceSchema), options.timeoutMs),
  );
  return {
    gate: 'silence',
    name: 'Alertmanager silences',
    appliesTo: () => true,
    check: async (context: ExternalGateContext): Promise<ExternalHold | undefined> => {
      let all;
      try {
        all = await silences();
      } catch (error) {
        const why = error instanceof Error ? error.message : String(error);
        return {
          gate: 'silence',
          detail: `Alertmanager could not be asked for silences (${why}); holding until it can`,
        };
      }
      const node = context.node.metadata?.name ?? '';
      const silence = holdingSilence(
        all,
        { node, pool: context.pool, fault: context.fault, alertLabels: context.alertLabels },
        now(),
      );
      if (!silence) return undefined;
      // No retryAt at the silence's end: silences are often expired early, when the work is
      // done, and the heal should go then; it asks again every defer period.
      return { gate: 'silence', detail: `held by Alertmanager ${describeSilence(silence)}` };
    },
  };
}

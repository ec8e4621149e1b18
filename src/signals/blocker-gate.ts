// The operator's PromQL blockers as a gate: while any query covering the node's pool returns a
// result, drain, reboot and replace wait (cordon and host remedies still go). A Prometheus that
// cannot be asked holds them too: when unsure, do nothing.
import { z } from 'zod';
import type { RemedyAction } from '../rules/index.ts';
import {
  blockerCovers,
  type Blocker,
  type ExternalGate,
  type ExternalGateContext,
  type ExternalHold,
} from '../safety/index.ts';
import { cached, getJson } from './http-json.ts';

const DISRUPTIVE: ReadonlySet<RemedyAction> = new Set(['drain', 'reboot', 'replace']);

const querySchema = z.object({
  status: z.literal('success'),
  data: z.object({
    resultType: z.string(),
    result: z.array(z.object({ metric: z.record(z.string(), z.string()).default({}) })),
  }),
});

export interface BlockerGateOptions {
  prometheusUrl: string;
  blockers: readonly Blocker[];
  timeoutMs: number;
  /** How long one answer serves every heal that asks (a few seconds). */
  cacheMs: number;
  now?: () => number;
}

function describeSeries(metric: Record<string, string>): string {
  const labels = Object.entries(metric)
    .map(([k, v]) => `${k}="${v}"`)
    .join(', ');
  return `{${labels}}`;
}

export function blockerGate(options: BlockerGateOptions): ExternalGate {
  const now = options.now ?? Date.now;
  const base = options.prometheusUrl.replace(/\/+$/, '');
  const askers = new Map(
    options.blockers.map((b) => [
      b.name,
      cached(options.cacheMs, now, async () => {
        const url = `${base}/api/v1/query?query=${encodeURIComponent(b.query)}`;
        const answer = await getJson(url, querySchema, options.timeoutMs);
        // A scalar or string result is one value: count it as one.
        return answer.data.resultType === 'vector' || answer.data.resultType === 'matrix'
          ? answer.data.result.map((r) => r.metric)
          : [{}];
      }),
    ]),
  );
  return {
    gate: 'blocker',
    name: 'Prometheus blockers',
    appliesTo: (action) => DISRUPTIVE.has(action),
    check: async (context: ExternalGateContext): Promise<ExternalHold | undefined> => {
      for (const blocker of options.blockers) {
        if (!blockerCovers(blocker, context.pool)) continue;
        let series: Record<string, string>[];
        try {
          series = await askers.get(blocker.name)!();
        } catch (error) {
          const why = error instanceof Error ? error.message : String(error);
          return {
            gate: 'blocker',
            detail: `blocker ${blocker.name}: Prometheus could not be asked (${why}); holding until it can`,
          };
        }
        if (series.length > 0) {
          const shown = series.slice(0, 3).map(describeSeries).join(', ');
          const more = series.length > 3 ? ` and ${series.length - 3} more` : '';
          return {
            gate: 'blocker',
            detail: `blocker ${blocker.name}: ${blocker.query} returns ${shown}${more}`,
          };
        }
      }
      return undefined;
    },
  };
}

// The step hooks in a heal: a pre-hook is an external gate (`hook`) asked before a disruptive
// step (reboot, drain, replace) with the heal's record and the pods a drain would evict; a veto
// (409, 423) or no clear answer holds the step, asked again with backoff or at the hook's
// Retry-After. Post-hooks are told the step's result once it acted: fire and forget, logged,
// never holding or failing the heal.
import type { V1Pod } from '@kubernetes/client-node';
import type { Observation } from '../heal/index.ts';
import {
  classifyReply,
  holdDetail,
  hookApplies,
  hookRequestBody,
  podsToEvict,
  retryDelayMs,
  stepResult,
  type HookCaller,
  type HookConfig,
  type HookPod,
  type HookStep,
} from '../hooks/index.ts';
import type { Logger } from '../log/index.ts';
import { disruptsRunningNode } from '../safety/index.ts';
import type { ExternalGate, ExternalGateContext, ExternalHold } from './external-gates.ts';

export interface StepHookDeps {
  hooks: readonly HookConfig[];
  call: HookCaller;
  /** The pods bound to a node: the drain's own node-scoped list (never a cluster-wide one). */
  listPods: (node: string) => Promise<V1Pod[]>;
  logger: Logger;
  now: () => number;
  /** The wait after a first hold; doubled per hold in a row, at most `maxMs`. */
  backoff: { baseMs: number; maxMs: number };
}

export interface StepHooks {
  /** One gate per pre-hook, in the configured order. */
  gates: ExternalGate[];
  /** Tells the post-hooks how a step that acted ended (returns at once). */
  afterStep: (context: ExternalGateContext, observation: Observation, interrupted: boolean) => void;
}

/** How long the pod list of a step is shared by the hooks asked about it at once. */
const PODS_FRESH_MS = 2000;
/** Entries of the in-memory maps older than this are dropped (heals that ended elsewhere). */
const FORGET_AFTER_MS = 24 * 3_600_000;
const PRUNE_ABOVE = 1000;

interface Stamped<T> {
  value: T;
  at: number;
}

function remember<T>(map: Map<string, Stamped<T>>, key: string, value: T, now: number): void {
  map.set(key, { value, at: now });
  if (map.size <= PRUNE_ABOVE) return;
  for (const [k, entry] of map) if (now - entry.at > FORGET_AFTER_MS) map.delete(k);
}

function stepOf(context: ExternalGateContext): HookStep {
  return {
    healId: context.healId,
    node: context.node.metadata?.name ?? '',
    pool: context.pool,
    fault: context.fault,
    step: context.step,
    action: context.action,
  };
}

export function stepHooks(deps: StepHookDeps): StepHooks {
  /** The pods a step's pre-hooks were told of, by `healId:step`: its post-hooks are told the same. */
  const podsByStep = new Map<string, Stamped<HookPod[]>>();
  /** Holds in a row, by `hook:healId:step`, for the backoff. */
  const holds = new Map<string, Stamped<number>>();
  const stepKey = (c: Pick<ExternalGateContext, 'healId' | 'step'>) => `${c.healId}:${c.step}`;

  const podsFor = async (context: ExternalGateContext): Promise<HookPod[]> => {
    const now = deps.now();
    const known = podsByStep.get(stepKey(context));
    if (known && now - known.at < PODS_FRESH_MS) return known.value;
    const pods = podsToEvict(await deps.listPods(context.node.metadata?.name ?? ''));
    remember(podsByStep, stepKey(context), pods, now);
    return pods;
  };

  const gateFor = (hook: HookConfig): ExternalGate => ({
    gate: 'hook',
    name: `hook ${hook.name}`,
    appliesTo: disruptsRunningNode,
    async check(context): Promise<ExternalHold | undefined> {
      if (!hookApplies(hook, context.pool, 'pre')) return undefined;
      const step = stepOf(context);
      const log = deps.logger.child({
        healId: step.healId,
        node: step.node,
        fault: step.fault,
        hook: hook.name,
      });
      let pods: HookPod[];
      try {
        pods = await podsFor(context);
      } catch (error) {
        const why = error instanceof Error ? error.message : String(error);
        log.warn({ err: why }, 'pre-hook not asked: the pods on the node cannot be listed');
        return holdFor(hook, step, {
          kind: 'unsure',
          reason: `pods on the node not listed: ${why}`,
        });
      }
      const body = hookRequestBody(hook.name, 'pre', step, pods, deps.now());
      const verdict = classifyReply(await deps.call(hook, body), deps.now());
      if (verdict.kind === 'go') {
        holds.delete(`${hook.name}:${stepKey(step)}`);
        log.info({ step: step.step, action: step.action }, 'pre-hook lets the step go');
        return undefined;
      }
      const hold = holdFor(hook, step, verdict);
      log.info(
        { step: step.step, action: step.action, verdict: verdict.kind, retryAt: hold.retryAt },
        hold.detail,
      );
      return hold;
    },
  });

  const holdFor = (
    hook: HookConfig,
    step: HookStep,
    verdict: Parameters<typeof holdDetail>[1],
  ): ExternalHold => {
    const key = `${hook.name}:${stepKey(step)}`;
    const now = deps.now();
    const attempt = (holds.get(key)?.value ?? 0) + 1;
    remember(holds, key, attempt, now);
    return {
      gate: 'hook',
      detail: holdDetail(hook.name, verdict),
      retryAt: now + retryDelayMs(attempt, deps.backoff, verdict.retryAfterMs),
    };
  };

  const afterStep: StepHooks['afterStep'] = (context, observation, interrupted) => {
    if (!disruptsRunningNode(context.action)) return;
    const hooks = deps.hooks.filter((h) => hookApplies(h, context.pool, 'post'));
    const key = stepKey(context);
    const told = podsByStep.get(key)?.value;
    podsByStep.delete(key);
    if (hooks.length === 0) return;
    const step = stepOf(context);
    const result = stepResult(observation, interrupted);
    const log = deps.logger.child({ healId: step.healId, node: step.node, fault: step.fault });
    void (async () => {
      // The pods the pre-hooks were told of; without a pre-hook here, those on the node now.
      const pods =
        told ??
        (await deps.listPods(step.node).then(podsToEvict, (error: unknown) => {
          log.warn({ err: String(error) }, 'post-hook told no pods: they cannot be listed');
          return [];
        }));
      await Promise.all(
        hooks.map(async (hook) => {
          const body = hookRequestBody(hook.name, 'post', step, pods, deps.now(), result);
          const reply = await deps.call(hook, body);
          const answer = reply.kind === 'response' ? `answered ${reply.status}` : reply.reason;
          const ok = reply.kind === 'response' && reply.status >= 200 && reply.status < 300;
          log[ok ? 'info' : 'warn'](
            { hook: hook.name, step: step.step, action: step.action, outcome: result.outcome },
            `post-hook told the step ${result.outcome}: ${answer}`,
          );
        }),
      );
    })().catch((error: unknown) => log.warn({ err: String(error) }, 'post-hook failed'));
  };

  return {
    gates: deps.hooks.filter((h) => h.phases.includes('pre')).map(gateFor),
    afterStep,
  };
}

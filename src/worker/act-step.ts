// The act stage of a heal: performs one ladder step's side effect (cordon, drain, replace, or
// the host commands of an expert remedy through the node agent) and reports it as an
// observation for the machine. Re-entrant: a resumed heal acts again, every step is idempotent.
import type { V1Node } from '@kubernetes/client-node';
import type {
  DrainOptions,
  Drainer,
  EventReason,
  HostCommand,
  HostCommands,
  NodeOps,
} from '../actions/index.ts';
import type { RemedyAction } from '../rules/index.ts';
import { event, eventKey, type HealEventDeps } from './heal-events.ts';
import { costSummary, evictedByKind, type HealRecord } from '../heal/index.ts';
import type { Command, Observation } from '../heal/index.ts';
import { replaceStep, type ReplaceStepDeps } from './replace-step.ts';
import { NodeGoneError, watchNodeGone } from './node-gone-watch.ts';

export interface ActDeps extends ReplaceStepDeps, HealEventDeps {
  nodeOps: NodeOps;
  drainer: Drainer;
  host: HostCommands;
  drain: Omit<DrainOptions, 'timeoutMs' | 'signal'>;
  metrics?: { podsEvicted?(counts: Readonly<Record<string, number>>): void };
}

const hostCommandFor: Partial<Record<RemedyAction, HostCommand[]>> = {
  'restart-kubelet': ['restart-kubelet'],
  'restart-container-runtime': ['restart-container-runtime'],
  'clean-disk': ['clean-images', 'rotate-logs'],
  'sync-clock': ['sync-clock'],
  reboot: ['reboot'],
};

type CordonResult = Awaited<ReturnType<NodeOps['cordon']>>;

export async function actOnce(
  deps: ActDeps,
  record: HealRecord,
  node: V1Node,
  command: Extract<Command, { kind: 'act' }>,
  signal: AbortSignal,
  hooks: {
    note: (observation: Observation) => Promise<HealRecord>;
    cordon: () => Promise<CordonResult>;
  },
): Promise<Observation> {
  const step = command.stepIndex;
  const action = command.step.action;
  try {
    if (action === 'cordon') {
      const result = await hooks.cordon();
      if (result === 'absent') return { kind: 'node-gone' };
      return {
        kind: 'step-done',
        step,
        detail: `cordon: ${result}`,
        cordonedByUs: result === 'cordoned' || result === 'already-cordoned-by-us',
      };
    }
    if (action === 'drain') {
      const cordon = await hooks.cordon();
      if (cordon === 'absent') return { kind: 'node-gone' };
      if (signal.aborted) return { kind: 'tick' };
      const failed = await drainNode(deps, record, command.deadline - deps.now().getTime(), signal);
      if (failed) return { kind: 'step-failed', step, detail: failed, permanent: true };
      const cordonedByUs = cordon === 'cordoned' || cordon === 'already-cordoned-by-us';
      return { kind: 'step-done', step, detail: 'drained', cordonedByUs };
    }
    if (action === 'replace') {
      return await replaceStep(deps, record, node, command, signal, {
        note: hooks.note,
        cordon: hooks.cordon,
        event: (reason, message, type) =>
          event(deps, record.node, reason, message, type, stepEventKey(record, reason)),
        drainNode: (timeoutMs, overrides) => drainNode(deps, record, timeoutMs, signal, overrides),
      });
    }
    const commands = hostCommandFor[action];
    if (!commands)
      return {
        kind: 'step-failed',
        step,
        detail: `no host command for ${action}`,
        permanent: true,
      };
    for (const hostCommand of commands) {
      if (signal.aborted) return { kind: 'tick' };
      const result = await deps.host.run(record.node, hostCommand, record.id);
      if (result.outcome !== 'ok') {
        const detail =
          result.outcome === 'failed'
            ? `${hostCommand} exited ${result.exitCode}: ${result.output.slice(-200)}`
            : `${hostCommand}: ${result.detail}`;
        await event(
          deps,
          record.node,
          'RemedyFailed',
          `heal ${record.id}: ${detail}`,
          'Warning',
          stepEventKey(record, 'RemedyFailed'),
        );
        // An agent that cannot be reached cannot apply this remedy: escalate rather than wait.
        return { kind: 'step-failed', step, detail, permanent: true };
      }
    }
    await event(
      deps,
      record.node,
      'RemedyApplied',
      `heal ${record.id}: ${action} done; verifying for ${Math.round(command.step.timeoutMs / 1000)} s`,
      'Normal',
      stepEventKey(record, 'RemedyApplied'),
    );
    return { kind: 'step-done', step, detail: `${action} done` };
  } catch (error) {
    // Deleted outside nodeheal while the step acted (the drain stopped at once).
    if (error instanceof NodeGoneError) return { kind: 'node-gone' };
    const detail = error instanceof Error ? error.message : String(error);
    return { kind: 'step-failed', step, detail, permanent: failureIsPermanent(error) };
  }
}

/**
 * Drains the (already cordoned) node within `timeoutMs`; says why when it could not, and
 * announces the drain with a NodeDrained event when it could.
 */
export async function drainNode(
  deps: ActDeps,
  record: HealRecord,
  timeoutMs: number,
  signal: AbortSignal,
  overrides: Partial<DrainOptions> = {},
): Promise<string | undefined> {
  // The Node deleted meanwhile stops the drain (throws NodeGoneError): its pods' evictions would
  // go on being refused, and nothing is left to drain.
  const watch = watchNodeGone(deps.nodeOps, record.node, signal, deps.pollMs);
  let result: Awaited<ReturnType<Drainer['drain']>>;
  try {
    result = await deps.drainer.drain(record.node, {
      ...deps.drain,
      ...overrides,
      timeoutMs: Math.max(1000, timeoutMs),
      signal: watch.signal,
    });
  } catch (error) {
    if (watch.gone() && !signal.aborted) throw new NodeGoneError(record.node);
    throw error;
  } finally {
    watch.stop();
  }
  if (result.outcome === 'blocked') return `drain blocked: ${result.reason}`;
  if (result.outcome === 'timeout') {
    return `drain timed out with ${result.remaining.length} pod(s) left: ${result.remaining.slice(0, 5).join(', ')}`;
  }
  // What the drain cost, as worked out before the heal began (heal-cost.ts).
  // Counted once a heal (a replace after the drain step drains again) and never in a dry run.
  const drainedBefore = record.transitions.some(
    (t) => t.kind === 'step-done' && t.action === 'drain',
  );
  if (record.cost && !record.dryRun && !drainedBefore)
    deps.metrics?.podsEvicted?.(evictedByKind(record.cost));
  const cost = record.cost ? `; ${costSummary(record.cost)}` : '';
  await event(
    deps,
    record.node,
    'NodeDrained',
    `heal ${record.id}: ${result.evicted} pod(s) evicted, ${result.skipped} skipped, in ${Math.round(result.durationMs / 1000)} s${cost}`,
    'Normal',
    // Once a step: a replace that drains again what its fence freed, a retry or a resumed step
    // that finds the node drained already, says nothing new.
    stepEventKey(record, 'NodeDrained'),
  );
  return undefined;
}

/**
 * What makes an Event of the heal's current step told once, even when the step is resumed: a
 * remedy is applied (or fails) once per attempt; a node is drained and replaced once per step,
 * however many attempts it took (a retry that drains again finds nothing new to tell).
 */
function stepEventKey(record: HealRecord, reason: EventReason): string {
  const onePerStep = reason === 'NodeDrained' || reason === 'NodeReplaced';
  const attempt = onePerStep ? [] : [`a${record.retries}`];
  return eventKey(record.id, `s${record.stepIndex}`, ...attempt, reason);
}

/**
 * Whether a step's failure is for good (the step fails at once) or passing (retried after 15, 30
 * and 60 s). 401 and 403 are passing: an apiserver that has just restarted (an upgrade rolls them
 * one by one) refuses every request until its RBAC and token caches have synced, and giving the
 * heal up then would strand a cordoned node. A grant that is really missing fails the same way
 * after the step's retries, with the apiserver's message.
 */
export function failureIsPermanent(error: unknown): boolean {
  const { code, status } = error as { code?: string; status?: number };
  if (code === 'PERMANENT') return true;
  return code === 'KUBE_PERMANENT' && status !== 401 && status !== 403;
}

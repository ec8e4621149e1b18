// The `replace` step: cordon, (surge), drain through the Eviction API, fence an unreachable node,
// put the out-of-service taint on it, then hand the node to its provider.
//
// - No provider for the node's pool: the step fails permanently before anything is touched:
//   nodeheal never deletes a Node that nothing replaces.
// - A node whose kubelet answers (Ready True or False) needs no fence: its pods terminate when
//   evicted. An unreachable one (Ready Unknown) may still be running behind a partition: its
//   pods stay (Terminating, volumes attached) until it is fenced by its provider (the machine
//   terminated and gone), by its agent's self-fence (safe time passed, agent unreachable), or by
//   an operator's confirmation. The wait has no timeout: it never turns into a delete; it ends
//   with a fence, a cancel, or the node answering again.
// - The signal aborts on a cancel or a worker shutdown: the step stops before its next mutating
//   call (cordon, surge, drain, taint, replace), and the drain stops evicting; the runner then
//   records the cancel (or nothing, on a shutdown).
// - After the fence, the out-of-service taint lets Kubernetes force-delete the pods and detach
//   their volumes; then the provider replaces the node.
import type { V1Node } from '@kubernetes/client-node';
import type {
  DrainOptions,
  Drainer,
  EventReason,
  HostCommands,
  NodeOps,
  Provider,
} from '../actions/index.ts';
import type { Logger } from '../log/index.ts';
import { fenceWithoutProvider, needsFence, type Fence } from '../heal/index.ts';
import type { HealRecord } from '../heal/index.ts';
import type { HealStore } from '../store/index.ts';
import type { Command, Observation } from '../heal/index.ts';

export interface ReplaceStepDeps {
  store: Pick<HealStore, 'fenceConfirmation'>;
  nodeOps: NodeOps;
  drainer: Drainer;
  host: HostCommands;
  /** The provider of the node's pool; undefined when no rule (and no default) names one. */
  providerFor: (node: V1Node) => Provider | undefined;
  /** The self-fence of the node's pool, when the pool opted in. */
  selfFenceFor: (node: V1Node) => { safeTimeSeconds: number } | undefined;
  drain: Omit<DrainOptions, 'timeoutMs' | 'signal'>;
  surge: boolean;
  pollMs: number;
  logger: Logger;
  now: () => Date;
}

export interface ReplaceStepHooks {
  /** Applies an observation to the record and saves it (fence notes), returning the new record. */
  note: (observation: Observation) => Promise<HealRecord>;
  /** Cordons the node and notes a cordon nodeheal owns on the record at once. */
  cordon: () => Promise<Awaited<ReturnType<NodeOps['cordon']>>>;
  event: (reason: EventReason, message: string, type?: 'Normal' | 'Warning') => Promise<void>;
  /** Drains the cordoned node within `timeoutMs`; a sentence when it could not. */
  drainNode: (timeoutMs: number, overrides?: Partial<DrainOptions>) => Promise<string | undefined>;
}

/** How long to let Kubernetes move the pods of an out-of-service node before replacing it. */
const OUT_OF_SERVICE_WAIT_MS = 120_000;

type FenceOutcome =
  | { kind: 'fenced'; fence: Fence }
  | { kind: 'answering' }
  | { kind: 'stop'; observation: Observation | undefined };

export async function replaceStep(
  deps: ReplaceStepDeps,
  start: HealRecord,
  node: V1Node,
  command: Extract<Command, { kind: 'act' }>,
  signal: AbortSignal,
  hooks: ReplaceStepHooks,
): Promise<Observation> {
  const step = command.stepIndex;
  let record = start;
  const provider = deps.providerFor(node);
  if (!provider) {
    return {
      kind: 'step-failed',
      step,
      detail:
        `no provider for this pool (${record.pool || 'no pool label'}): nodeheal never deletes a ` +
        'Node that nothing replaces; name one for the pool (worker.providers, NODEHEAL_PROVIDERS) ' +
        'or a default (worker.defaultProvider)',
      permanent: true,
    };
  }
  // Interrupted (cancel or shutdown): whatever is returned is not recorded.
  const stopped: Observation = { kind: 'tick' };
  if (signal.aborted) return stopped;
  const cordon = await hooks.cordon();
  if (cordon === 'absent') return { kind: 'node-gone' };
  let surged: string | undefined;
  if (signal.aborted) return stopped;
  if (deps.surge && provider.canSurge && provider.surge) {
    // Surge: the replacement first, so evicted workloads have somewhere to go at once.
    const up = await provider.surge(node);
    if (up.outcome === 'replaced') surged = up.replacement ?? 'yes';
    else deps.logger.warn({ node: record.node, detail: up.detail }, 'surge failed; draining');
  }
  // Keep a third of the step for the provider to bring the replacement up.
  if (signal.aborted) return stopped;
  const remaining = command.deadline - deps.now().getTime();
  const failed = await hooks.drainNode(Math.floor((remaining * 2) / 3));
  if (failed) return { kind: 'step-failed', step, detail: failed, permanent: true };

  let current = await deps.nodeOps.get(record.node);
  if (!current) return { kind: 'node-gone' };
  if (record.fence === null && needsFence(current)) {
    const outcome = await awaitFence(deps, record, current, provider, step, signal, hooks);
    if (outcome.kind === 'stop') return outcome.observation ?? { kind: 'tick' };
    if (outcome.kind === 'fenced') {
      record = await hooks.note({ kind: 'fenced', step, fence: outcome.fence });
    } else {
      // The kubelet answers again: its pods terminate when evicted. Drain what is left.
      if (signal.aborted) return stopped;
      const again = await hooks.drainNode(Math.max(1000, command.deadline - deps.now().getTime()));
      if (again) return { kind: 'step-failed', step, detail: again, permanent: true };
    }
    current = await deps.nodeOps.get(record.node);
    if (!current) return { kind: 'node-gone' };
  }
  if (record.fence !== null && record.outOfServiceAt === null) {
    if (signal.aborted) return stopped;
    const tainted = await deps.nodeOps.taintOutOfService(record.node, record.id);
    if (tainted === 'tainted') {
      record = await hooks.note({ kind: 'out-of-service', step, at: deps.now().getTime() });
      // Kubernetes (pod GC, every 20 s) now force-deletes the pods left Terminating and detaches
      // their volumes: wait for that, without skipping any, before the provider removes the
      // node, so the workloads move through the taint and not through the Node's deletion.
      const left = await hooks.drainNode(OUT_OF_SERVICE_WAIT_MS, {
        skipWaitForDeleteAfterMs: OUT_OF_SERVICE_WAIT_MS,
      });
      if (left) {
        deps.logger.warn(
          { node: record.node, detail: left },
          'pods still there after the out-of-service taint; replacing anyway (the node is fenced)',
        );
      }
      const attached = await volumesReleased(deps, record.node, record.outOfServiceAt!, signal);
      if (attached.length > 0) {
        deps.logger.warn(
          { node: record.node, attached },
          'volumes still attached after the out-of-service taint; replacing anyway (the node is ' +
            'fenced; Kubernetes detaches them after its 6-minute maxWaitForUnmountDuration)',
        );
      }
    }
  }
  if (signal.aborted) return stopped;
  const result = await provider.replace(current ?? node);
  if (result.outcome === 'replaced') {
    await hooks.event('NodeReplaced', `heal ${record.id}: ${provider.name}: ${result.detail}`);
    const replacement = result.replacement ?? (surged && surged !== 'yes' ? surged : undefined);
    return {
      kind: 'step-done',
      step,
      detail: `${provider.name}: ${surged ? `surge: ${surged} was up before the drain; ` : ''}${result.detail}`,
      ...(replacement === undefined ? {} : { replacement }),
    };
  }
  return {
    kind: 'step-failed',
    step,
    detail: `${provider.name}: ${result.detail}`,
    permanent: true,
  };
}

/**
 * Waits (within the out-of-service budget) for the attach-detach controller to detach the
 * fenced node's volumes, as `status.volumesAttached` shows; returns what is still attached.
 * Deleting the Node first would make the controller wait its maxWaitForUnmountDuration (6
 * minutes) before it detaches, and the moved pods would wait for their volumes that long.
 */
async function volumesReleased(
  deps: ReplaceStepDeps,
  name: string,
  taintedAt: number,
  signal: AbortSignal,
): Promise<string[]> {
  for (;;) {
    const node = await deps.nodeOps.get(name);
    const attached = (node?.status?.volumesAttached ?? []).map((v) => v.name);
    const late = deps.now().getTime() >= taintedAt + OUT_OF_SERVICE_WAIT_MS;
    if (attached.length === 0 || late || signal.aborted) return attached;
    await pause(deps.pollMs, signal);
  }
}

/** Waits until the node is fenced, answers again, is gone, or the signal aborts (cancel, shutdown). */
async function awaitFence(
  deps: ReplaceStepDeps,
  record: HealRecord,
  first: V1Node,
  provider: Provider,
  step: number,
  signal: AbortSignal,
  hooks: ReplaceStepHooks,
): Promise<FenceOutcome> {
  let node = first;
  // In memory only: a worker that resumes the wait starts the agent's clock again (later, safe).
  let agentMissedSince: number | undefined;
  for (;;) {
    // A cancel aborts the signal too (the runner's watcher): the runner records it.
    if (signal.aborted) return { kind: 'stop', observation: undefined };
    const selfFence = deps.selfFenceFor(node);
    const agentReachable = selfFence ? await deps.host.reachable(record.node) : false;
    const now = deps.now().getTime();
    if (agentReachable) agentMissedSince = undefined;
    else agentMissedSince ??= now;
    const decision = fenceWithoutProvider(
      {
        confirmation: await deps.store.fenceConfirmation(record.node),
        healId: record.id,
        selfFence,
        lastHeardAt: selfFence ? await deps.nodeOps.lastHeardAt(record.node) : undefined,
        agentReachable,
        agentMissedSince,
      },
      now,
    );
    if (decision.kind === 'fenced') return decision;
    let waiting = decision.detail;
    if (signal.aborted) return { kind: 'stop', observation: undefined };
    if (provider.fence) {
      const fenced = await provider.fence(node);
      if (fenced.outcome === 'fenced') {
        return {
          kind: 'fenced',
          fence: {
            method: 'provider',
            by: provider.name,
            at: deps.now().getTime(),
            detail: fenced.detail,
          },
        };
      }
      waiting =
        fenced.outcome === 'pending'
          ? fenced.detail
          : `${provider.name} cannot fence: ${fenced.detail}; ${waiting}`;
    }
    await hooks.note({ kind: 'awaiting-fence', step, detail: waiting });
    await pause(deps.pollMs, signal);
    const current = await deps.nodeOps.get(record.node);
    if (!current || current.metadata?.uid !== node.metadata?.uid) {
      return { kind: 'stop', observation: { kind: 'node-gone' } };
    }
    if (!needsFence(current)) return { kind: 'answering' };
    node = current;
  }
}

async function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return;
  await new Promise<void>((resolvePause) => {
    const timer = setTimeout(resolvePause, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolvePause();
      },
      { once: true },
    );
  });
}

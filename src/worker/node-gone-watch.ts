// A step that acts for long (a drain held by a PodDisruptionBudget) must notice its Node being
// deleted outside nodeheal: evictions of the pods still bound to a deleted Node go on being
// refused, and the pod garbage collector only removes them about a minute later. The watch reads
// the Node every `pollMs` and aborts its signal when the Node is gone (404) or is another Node
// under the same name (a new uid); the step then reports `node-gone`.
import type { NodeOps } from '../actions/index.ts';

/** How often a long step looks at its Node when no poll interval is given. */
export const NODE_GONE_POLL_MS = 2000;

/** The reason of a step's signal aborted because its Node is gone. */
export class NodeGoneError extends Error {
  readonly code = 'NODE_GONE';
  readonly node: string;
  constructor(node: string) {
    super(`node ${node} was deleted while the step acted`);
    this.node = node;
    this.name = 'NodeGoneError';
  }
}

export interface NodeGoneWatch {
  /** Aborted by the caller's signal, or with a NodeGoneError when the Node is gone. */
  readonly signal: AbortSignal;
  readonly gone: () => boolean;
  readonly stop: () => void;
}

/**
 * Watches `node` while a step acts. A read that fails (API unreachable, throttled) says nothing:
 * only a 404 or another uid counts as gone.
 */
export function watchNodeGone(
  nodeOps: Pick<NodeOps, 'get'>,
  node: string,
  signal: AbortSignal,
  pollMs: number = NODE_GONE_POLL_MS,
): NodeGoneWatch {
  const gone = new AbortController();
  let uid: string | undefined;
  let reading = false;
  const look = async () => {
    const current = await nodeOps.get(node);
    const seen = current?.metadata?.uid;
    if (current === undefined || (uid !== undefined && seen !== undefined && seen !== uid)) {
      gone.abort(new NodeGoneError(node));
      return;
    }
    uid ??= seen;
  };
  const tick = () => {
    if (reading || gone.signal.aborted || signal.aborted) return;
    reading = true;
    look()
      .catch(() => undefined)
      .finally(() => (reading = false));
  };
  const timer = setInterval(tick, pollMs);
  timer.unref();
  tick();
  return {
    signal: AbortSignal.any([signal, gone.signal]),
    gone: () => gone.signal.aborted,
    stop: () => clearInterval(timer),
  };
}

// A watched cache of Nodes (list + watch through an informer), indexed by name and address, so
// that alerts carrying only an `instance` label resolve to a Node without an API call per alert.
import { CoreV1Api, makeInformer, type KubeConfig, type V1Node } from '@kubernetes/client-node';
import { buildNodeIndex, type NodeIndex } from './node-index.ts';
import type { Logger } from '../log/index.ts';

export interface NodeCache {
  index(): NodeIndex;
  /** The watched Nodes (list + watch, so at most moments old), optionally by `key=value` labels. */
  nodes(labels?: Readonly<Record<string, string>>): V1Node[];
  synced(): boolean;
  stop(): Promise<void>;
}

/** Rebuilding the index is O(nodes); coalesce bursts of node updates into one rebuild a second. */
const REBUILD_INTERVAL_MS = 1000;

export function watchNodes(kc: KubeConfig, logger: Logger): NodeCache {
  const core = kc.makeApiClient(CoreV1Api);
  const informer = makeInformer<V1Node>(kc, '/api/v1/nodes', () => core.listNode());
  let current: NodeIndex = buildNodeIndex([]);
  let synced = false;
  let dirty = true;
  let stopped = false;
  const rebuild = () => {
    if (!dirty) return;
    dirty = false;
    current = buildNodeIndex(informer.list());
  };
  const timer = setInterval(rebuild, REBUILD_INTERVAL_MS);
  timer.unref();
  const markDirty = () => {
    dirty = true;
  };
  informer.on('add', markDirty);
  informer.on('update', markDirty);
  informer.on('delete', markDirty);
  informer.on('connect', () => {
    synced = true;
    dirty = true;
    rebuild();
  });
  informer.on('error', (error: unknown) => {
    synced = false;
    if (stopped) return;
    logger.warn({ err: error }, 'node watch failed; retrying in 5 s');
    setTimeout(() => {
      if (!stopped) informer.start().catch(() => undefined);
    }, 5000).unref();
  });
  informer.start().catch((error: unknown) => {
    logger.warn({ err: error }, 'node watch could not start; retrying in 5 s');
    setTimeout(() => {
      if (!stopped) informer.start().catch(() => undefined);
    }, 5000).unref();
  });
  return {
    index: () => current,
    nodes: (labels) =>
      informer
        .list()
        .filter((n) =>
          Object.entries(labels ?? {}).every(([k, v]) => n.metadata?.labels?.[k] === v),
        ),
    synced: () => synced,
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await informer.stop();
    },
  };
}

// What nodeheal did during the storm, counted from the world after it (heal records in Redis,
// nodeheal's Events on Nodes, cordoned Nodes), split between the nodes that only had transient
// alerts and the sick ones.
import type { HealRecord } from '../../src/heal/index.ts';
import type { HealStore } from '../../src/store/index.ts';
import type { KubeClients } from '../stack/helpers/kube.ts';

export interface ActionCount {
  heals: HealRecord[];
  events: number;
  eventReasons: Record<string, number>;
  cordoned: string[];
}

export interface StormCount {
  transient: ActionCount;
  sick: ActionCount;
  /** The final status of each sick node's first heal ('none' when it has no record). */
  sickStatus: Record<string, number>;
  /** Sick nodes with more than one heal record. */
  sickHealedTwice: string[];
}

/** Every heal record in the store (newest first). */
export async function allHeals(store: HealStore): Promise<HealRecord[]> {
  return await store.list({ limit: 1_000_000 });
}

async function nodehealEventsByNode(kube: KubeClients): Promise<Map<string, string[]>> {
  const byNode = new Map<string, string[]>();
  let _continue: string | undefined;
  do {
    const list = await kube.core.listEventForAllNamespaces({
      fieldSelector: 'involvedObject.kind=Node',
      limit: 500,
      ...(_continue ? { _continue } : {}),
    });
    for (const e of list.items) {
      if (e.source?.component !== 'nodeheal' && e.reportingComponent !== 'nodeheal') continue;
      const node = e.involvedObject.name ?? '';
      byNode.set(node, [...(byNode.get(node) ?? []), e.reason ?? '']);
    }
    _continue = list.metadata?._continue;
  } while (_continue);
  return byNode;
}

function count(
  nodes: Set<string>,
  heals: HealRecord[],
  events: Map<string, string[]>,
  cordoned: string[],
): ActionCount {
  const eventReasons: Record<string, number> = {};
  let total = 0;
  for (const [node, reasons] of events) {
    if (!nodes.has(node)) continue;
    for (const r of reasons) {
      eventReasons[r] = (eventReasons[r] ?? 0) + 1;
      total++;
    }
  }
  return {
    heals: heals.filter((h) => nodes.has(h.node)),
    events: total,
    eventReasons,
    cordoned: cordoned.filter((n) => nodes.has(n)),
  };
}

export async function countActions(
  kube: KubeClients,
  store: HealStore,
  nodes: string[],
  sick: string[],
): Promise<StormCount> {
  const sickSet = new Set(sick);
  const transientNodes = new Set(nodes.filter((n) => !sickSet.has(n)));
  const heals = await allHeals(store);
  const events = await nodehealEventsByNode(kube);
  const cordoned = (await kube.core.listNode()).items
    .filter((n) => n.spec?.unschedulable === true)
    .map((n) => n.metadata?.name ?? '');
  const sickStatus: Record<string, number> = {};
  const sickHealedTwice: string[] = [];
  for (const node of sick) {
    const own = heals.filter((h) => h.node === node);
    if (own.length > 1) sickHealedTwice.push(node);
    const status = own.at(-1)?.status ?? 'none';
    sickStatus[status] = (sickStatus[status] ?? 0) + 1;
  }
  return {
    transient: count(transientNodes, heals, events, cordoned),
    sick: count(sickSet, heals, events, cordoned),
    sickStatus,
    sickHealedTwice,
  };
}

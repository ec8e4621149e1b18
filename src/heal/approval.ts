// Asking a human before an outage (`approval: outage`, per fault in remedies.yaml or per pool in
// NODEHEAL_APPROVAL): whether a heal's disruptive step may act now, wait for an operator, or
// end because an operator said no. Pure: the node, the heal's cost and the decision in; an answer
// out. The worker reads the decision (admin API, node annotation) and acts on the answer.
import type { V1Node } from '@kubernetes/client-node';
import { z } from 'zod';
import { APPROVAL_MODES, type ApprovalMode, type RemedyAction } from '../rules/index.ts';
import { evictedPods, isDisruptive, type HealCost } from './heal-cost.ts';

/** Approves the heal whose id is the value (`kubectl annotate node n nodeheal.io/approve=<id>`). */
export const ANNOTATION_APPROVE = 'nodeheal.io/approve';
/** Rejects the heal whose id is the value: it ends `cancelled`, nodeheal's cordon undone. */
export const ANNOTATION_REJECT = 'nodeheal.io/reject';

/** NODEHEAL_APPROVAL: pools (by node label selector) whose heals ask first; first match wins. */
export const approvalRulesSchema = z.array(
  z.strictObject({
    selector: z.record(z.string().min(1), z.string()).default({}),
    approval: z.enum(APPROVAL_MODES),
  }),
);
export type ApprovalRule = z.infer<typeof approvalRulesSchema>[number];

/** An operator's answer for one heal, as stored (admin API) or read from the Node (annotation). */
export const approvalDecisionSchema = z.object({
  healId: z.string().min(1),
  decision: z.enum(['approved', 'rejected']),
  /** Who: `admin-api (alice)`, or `annotation nodeheal.io/approve (by kubectl-annotate)`. */
  by: z.string(),
  reason: z.string(),
  at: z.number(),
});
export type ApprovalDecision = z.infer<typeof approvalDecisionSchema>;

/**
 * The approval a heal of `node` needs: the fault's own setting, else the first pool rule whose
 * selector matches the node's labels; `none` when neither says.
 */
export function approvalFor(
  faultApproval: ApprovalMode | undefined,
  rules: readonly ApprovalRule[],
  labels: Readonly<Record<string, string>>,
): ApprovalMode {
  if (faultApproval !== undefined && faultApproval !== 'none') return faultApproval;
  const rule = rules.find((r) =>
    Object.entries(r.selector).every(([key, value]) => labels[key] === value),
  );
  return rule?.approval ?? 'none';
}

/**
 * Why evicting the node's pods would be an outage, one phrase per cause (at most 5 workloads
 * named each); empty when it would not be one.
 */
export function outageCauses(cost: HealCost): string[] {
  const evicted = evictedPods(cost);
  const names = (list: string[]) =>
    list.length > 5 ? `${list.slice(0, 5).join(', ')} … ${list.length - 5} more` : list.join(', ');
  const single = [
    ...new Set(evicted.filter((p) => p.kind === 'single-replica').map((p) => p.owner ?? p.pod)),
  ];
  const unmanaged = evicted.filter((p) => p.kind === 'unmanaged').map((p) => p.pod);
  const local = evicted.filter((p) => p.localData.length > 0).map((p) => p.pod);
  const causes: string[] = [];
  if (single.length > 0) causes.push(`no Ready replica left of ${names(single)}`);
  if (unmanaged.length > 0) causes.push(`nothing recreates ${names(unmanaged)}`);
  if (local.length > 0) causes.push(`local data lost of ${names(local)}`);
  return causes;
}

export interface ApprovalQuestion {
  healId: string;
  mode: ApprovalMode;
  action: RemedyAction;
  /** The node as read now. */
  node: V1Node;
  /** What the heal's disruption costs, worked out when it started; undefined: unknown. */
  cost: HealCost | undefined;
  /** What an operator said through the admin API, if anything. */
  stored: ApprovalDecision | undefined;
  now: number;
}

/**
 * - `go`: the step may act (no approval needed, or given: `approved` then names it);
 * - `wait`: the step waits for an operator (`detail` says why);
 * - `rejected`: an operator said no: the heal ends `cancelled`.
 */
export type ApprovalAnswer =
  | { kind: 'go'; approved?: ApprovalDecision }
  | { kind: 'wait'; detail: string }
  | { kind: 'rejected'; decision: ApprovalDecision };

function isReady(node: V1Node): boolean {
  return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/**
 * Who set annotation `key` on the Node, as far as its managedFields say: the manager that owns
 * the annotation, else unknown.
 */
function annotatedBy(node: V1Node, key: string): string {
  const owner = (node.metadata?.managedFields ?? []).find((f) => {
    const meta = (f.fieldsV1 as Record<string, Record<string, unknown> | undefined> | undefined)?.[
      'f:metadata'
    ];
    const annotations = meta?.['f:annotations'] as Record<string, unknown> | undefined;
    return annotations?.[`f:${key}`] !== undefined;
  });
  return owner?.manager ?? 'someone (the Node does not say who)';
}

/** The decision the Node's annotations carry for heal `healId`; a rejection wins. */
export function annotationDecision(
  node: V1Node,
  healId: string,
  now: number,
): ApprovalDecision | undefined {
  const annotations = node.metadata?.annotations ?? {};
  for (const [key, decision] of [
    [ANNOTATION_REJECT, 'rejected'],
    [ANNOTATION_APPROVE, 'approved'],
  ] as const) {
    if (annotations[key]?.trim() !== healId) continue;
    return {
      healId,
      decision,
      by: `annotation ${key} (by ${annotatedBy(node, key)})`,
      reason: '',
      at: now,
    };
  }
  return undefined;
}

/**
 * Whether the step may act:
 * - no approval asked for (`none`), a step that disrupts nothing (cordon, remedies), or a node
 *   that is not Ready (already an outage: waiting would only make it longer): go;
 * - an operator's rejection (stored, or on the Node) ends the heal; an approval lets it go;
 * - otherwise it waits when the disruption is an outage (`outageCauses`), or when what it would
 *   disrupt is unknown (the cost could not be worked out: when unsure, ask).
 */
export function approvalAnswer(q: ApprovalQuestion): ApprovalAnswer {
  if (q.mode === 'none' || !isDisruptive(q.action) || !isReady(q.node)) return { kind: 'go' };
  const decision =
    q.stored?.decision === 'rejected'
      ? q.stored
      : (annotationDecision(q.node, q.healId, q.now) ?? q.stored);
  if (decision?.decision === 'rejected') return { kind: 'rejected', decision };
  if (decision?.decision === 'approved') return { kind: 'go', approved: decision };
  if (q.cost === undefined) {
    return {
      kind: 'wait',
      detail: `${q.action} of a Ready node waits for approval: what it would disrupt is unknown`,
    };
  }
  const causes = outageCauses(q.cost);
  if (causes.length === 0) return { kind: 'go' };
  return {
    kind: 'wait',
    detail: `${q.action} of a Ready node waits for approval: ${causes.join('; ')}`,
  };
}

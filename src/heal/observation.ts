// What the runner tells the heal state machine (observations) and what it is told to do next
// (commands). Observations can come from a Redis stream, so they have a zod schema too.
import { z } from 'zod';
import type { LadderStep } from '../rules/index.ts';
import { GATES, type Gate } from '../safety/index.ts';
import { fenceSchema } from './fence.ts';
import { joinedFaultSchema, type FinalStatus } from './heal-record.ts';

export const observationSchema = z.discriminatedUnion('kind', [
  /** Begin the heal, or resume it after a worker restart. */
  z.object({ kind: z.literal('start') }),
  /**
   * The side effect of step `step` (its index) completed: kubelet restarted, node drained,
   * replacement requested. `cordonedByUs`: a cordon (or a drain that cordons) was applied by
   * nodeheal (NodeOps.cordon said `cordoned` or `already-cordoned-by-us`).
   */
  z.object({
    kind: z.literal('step-done'),
    step: z.int().min(0),
    detail: z.string(),
    cordonedByUs: z.boolean().optional(),
    /** The replacement node, when a provider named it (replace). */
    replacement: z.string().optional(),
  }),
  /** The pool's capacity is back after a replacement (the replacement, or enough nodes, Ready). */
  z.object({ kind: z.literal('capacity-back'), at: z.number(), detail: z.string() }),
  /** The side effect of step `step` failed; `permanent: false` means worth retrying. */
  z.object({
    kind: z.literal('step-failed'),
    step: z.int().min(0),
    detail: z.string(),
    permanent: z.boolean(),
  }),
  /** The fault's alerts resolved (or the node's condition was seen healthy) at `at` (epoch ms). */
  z.object({
    kind: z.literal('fault-resolved'),
    at: z.number(),
    /** What showed it (the API's condition, the alerts): said in the record's reason. */
    evidence: z.string().optional(),
    /**
     * Only the alerts say so, and nodeheal's own cordon is on the node: it may be what silenced
     * them (kube-prometheus-stack's rules exclude cordoned nodes). Confirmed after an uncordon.
     */
    underOwnCordon: z.boolean().optional(),
  }),
  /** The runner uncordoned the node of step `step` to confirm a resolution (see `confirm`). */
  z.object({ kind: z.literal('uncordoned'), step: z.int().min(0) }),
  /** The fault is firing (again). */
  z.object({ kind: z.literal('fault-firing') }),
  /** Time passed: check deadlines. */
  z.object({ kind: z.literal('tick') }),
  /** The Node object no longer exists. */
  z.object({ kind: z.literal('node-gone') }),
  /**
   * A safety gate refused the step about to act (see `checkGates`). Pass `step` (the act
   * command's stepIndex) so that a replayed block for an earlier step is ignored. `defer`: the
   * gate may lift by waiting (GateResult.defer: paused, storm, budgets, cooldown...); the step
   * then waits, and the runner asks the gates again at `until` (epoch ms) or sooner.
   */
  z.object({
    kind: z.literal('safety-blocked'),
    gate: z.enum(GATES),
    detail: z.string(),
    step: z.int().min(0).optional(),
    defer: z.boolean().optional(),
    until: z.number().optional(),
  }),
  /** The gates now let step `step`, held by a gate (`wait-gate`), act. */
  z.object({ kind: z.literal('gate-cleared'), step: z.int().min(0) }),
  /**
   * The acting step `step` cordoned the node; `byUs`: NodeOps.cordon said `cordoned` or
   * `already-cordoned-by-us`. Noted as soon as it happens, so a cancel or a failure later in the
   * step still knows the cordon is nodeheal's to undo.
   */
  z.object({ kind: z.literal('cordoned'), step: z.int().min(0), byUs: z.boolean() }),
  /** The acting step waits for the node to be fenced (recorded once per reason). */
  z.object({ kind: z.literal('awaiting-fence'), step: z.int().min(0), detail: z.string() }),
  /** The node is fenced: its workloads may move. */
  z.object({ kind: z.literal('fenced'), step: z.int().min(0), fence: fenceSchema }),
  /** The out-of-service taint was put on the fenced node at `at`. */
  z.object({ kind: z.literal('out-of-service'), step: z.int().min(0), at: z.number() }),
  /**
   * Another fault of the node came due while this heal runs (see `joined-faults.ts`): recorded
   * on the heal, which moves to its ladder at the next step boundary when it is more drastic.
   */
  z.object({ kind: z.literal('fault-joined'), fault: joinedFaultSchema }),
  /** An operator (or the system) cancelled the heal. */
  z.object({ kind: z.literal('cancel'), by: z.string(), detail: z.string() }),
  /**
   * Someone other than nodeheal lifted nodeheal's own cordon (kubectl uncordon): an operator's
   * decision, which ends the heal. `by` names them as far as the Node says.
   */
  z.object({ kind: z.literal('operator-uncordoned'), by: z.string(), detail: z.string() }),
]);

export type Observation = z.infer<typeof observationSchema>;

/**
 * What the runner must do next.
 *
 * - `act`: perform `step` (index `stepIndex`, attempt `attempt` counting from 1), then report
 *   `step-done` or `step-failed` for `stepIndex`. The act must report by `deadline` (pass the
 *   remaining time to the action, e.g. the drain timeout); a `tick` after it fails the step.
 * - `verify`: wait for `fault-resolved` (remedies) or `node-gone` (`awaiting: 'node-gone'`,
 *   after replace), and send `tick` at `until`; keep forwarding `fault-firing` and `cancel`.
 * - `skip-step`: step `stepIndex` was skipped for `reason` (record it), then send `tick`.
 * - `wait-retry`: send `tick` at `until` (a backoff after a transient failure; `until` may
 *   already have passed, e.g. a resumed record).
 * - `wait-gate`: step `stepIndex` is held by safety gate `gate`; ask the gates again at `until`
 *   (or sooner, e.g. when a pause lifts) and send `gate-cleared` once they allow it, or a new
 *   `safety-blocked` when another gate (or a gate that will not lift) refuses it.
 * - `confirm`: the fault's alerts resolved under nodeheal's own cordon: uncordon the node (when
 *   `uncordon`; then report `uncordoned`), watch the alerts until `until`, and send
 *   `fault-firing` if they fire again, else `tick` at `until` (the heal is then healed).
 * - `finish`: the heal ended with `status`; clean up (annotation, Event, metrics, budget slot);
 *   uncordon only when `uncordon` is true (healed or cancelled, the cordon is ours, the node
 *   still exists).
 */
export type Command =
  | {
      readonly kind: 'act';
      readonly step: LadderStep;
      readonly stepIndex: number;
      readonly attempt: number;
      readonly deadline: number;
    }
  | {
      readonly kind: 'verify';
      readonly until: number;
      readonly stepIndex: number;
      readonly awaiting: 'fault-resolved' | 'node-gone';
    }
  | {
      readonly kind: 'skip-step';
      readonly reason: string;
      readonly step: LadderStep;
      readonly stepIndex: number;
    }
  | {
      readonly kind: 'wait-retry';
      readonly until: number;
      readonly stepIndex: number;
      readonly attempt: number;
    }
  | {
      readonly kind: 'wait-gate';
      readonly gate: Gate;
      readonly until: number;
      readonly stepIndex: number;
    }
  | {
      readonly kind: 'confirm';
      readonly until: number;
      readonly stepIndex: number;
      readonly uncordon: boolean;
    }
  | {
      readonly kind: 'finish';
      readonly status: FinalStatus;
      readonly reason: string;
      readonly uncordon: boolean;
    };

// Side effects of healing behind narrow interfaces, with their Kubernetes implementations and
// dry-run twins. Replacement providers implement `Provider` from here and live in src/providers/
// (imported through src/providers/index.ts): this folder never imports them.
export * from './interfaces.ts';
export {
  cordonDecision,
  cordonState,
  EVENT_SOURCE_COMPONENT,
  KubeNodeOps,
  NODE_EVENT_NAMESPACE,
  uncordonDecision,
  uncordonedBySomeoneElse,
  type CordonOutcome,
  type KubeNodeOpsOptions,
  type UncordonOutcome,
} from './kube-node-ops.ts';
export {
  DEFAULT_DRAIN_OPTIONS,
  KubeDrainer,
  type DrainProgress,
  type KubeDrainerOptions,
} from './drain.ts';
export {
  interleaveByController,
  isNodeUnreachable,
  MIRROR_POD_ANNOTATION,
  planDrain,
  podKey,
  UNREACHABLE_TAINT,
  type DrainPlan,
  type SkipReason,
} from './drain-plan.ts';
export {
  DryRunDrainer,
  DryRunNodeOps,
  DryRunProvider,
  DryRunRecorder,
  type DryRunCall,
} from './dry-run.ts';
export {
  type DrainOptions,
  type Drainer,
  type EventReason,
  type FenceResult,
  HOST_COMMANDS,
  type HostCommand,
  type HostCommandResult,
  type HostCommands,
  type NodeOps,
  type Provider,
  type ReplaceResult,
} from './interfaces.ts';
export { KubeCostReader, type CostReader } from './cost-reader.ts';
export {
  disruptionCost,
  ownerKey,
  ownersToRead,
  selects,
  type CostInputs,
  type OwnerInfo,
} from './disruption-cost.ts';

// Side effects of healing behind narrow interfaces, with their Kubernetes implementations and
// dry-run twins.
export * from './interfaces.ts';
export {
  cordonDecision,
  cordonState,
  EVENT_SOURCE_COMPONENT,
  KubeNodeOps,
  NODE_EVENT_NAMESPACE,
  uncordonDecision,
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
export { ClusterApiProvider, MACHINES, type Machine } from '../providers/cluster-api.ts';
export { KarpenterProvider, NODECLAIMS, type NodeClaim } from '../providers/karpenter.ts';
export { KwokProvider, replacementName, type KwokProviderOptions } from '../providers/kwok.ts';
export { PlainProvider } from '../providers/plain.ts';
export {
  createProviders,
  PROVIDER_NAMES,
  providerRuleSchema,
  providerRulesSchema,
  ProviderNotConfiguredError,
  selectProvider,
  selectProviderName,
  selectorMatches,
  type ProviderName,
  type ProviderRule,
  type ProvidersOptions,
} from '../providers/select-provider.ts';

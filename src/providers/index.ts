// Replacement providers: how a node of each kind of pool is replaced (and fenced), which provider
// serves which nodes, and the registry that every provider name and RBAC need comes from.
export {
  defineProvider,
  type KubeVerb,
  type ProviderContext,
  type ProviderDefinition,
  type RbacNeed,
} from './provider-definition.ts';
export {
  createProviders,
  PROVIDER_DEFINITIONS,
  PROVIDER_NAMES,
  type ProviderName,
  type ProvidersOptions,
} from './registry.ts';
export {
  providerNameSchema,
  providerRuleSchema,
  providerRulesSchema,
  ProviderNotConfiguredError,
  selectProvider,
  selectProviderName,
  selectorMatches,
  type ProviderRule,
} from './select-provider.ts';
export {
  CAPI_MACHINE_ANNOTATION,
  CAPI_NAMESPACE_ANNOTATION,
  ClusterApiProvider,
  clusterApiProvider,
  MACHINES,
  type ClusterApiProviderOptions,
  type Machine,
} from './cluster-api.ts';
export {
  KARPENTER_NODEPOOL_LABEL,
  KarpenterProvider,
  karpenterProvider,
  NODECLAIMS,
  type KarpenterProviderOptions,
  type NodeClaim,
} from './karpenter.ts';
export {
  KWOK_MANAGED_VALUE,
  KWOK_NODE_LABEL,
  KwokProvider,
  kwokProvider,
  replacementName,
  type KwokProviderOptions,
} from './kwok.ts';
export { PlainProvider, plainProvider, type PlainProviderOptions } from './plain.ts';

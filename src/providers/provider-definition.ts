// What a replacement provider is to the rest of nodeheal: one definition object, kept next to the
// provider's code and listed once in registry.ts. Everything else (the provider name type, the
// validation of NODEHEAL_PROVIDERS and NODEHEAL_DEFAULT_PROVIDER, the worker's wiring) derives
// from the registry; a unit test holds the Helm chart's RBAC and values schema to it.
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../log/index.ts';
import type { Provider } from '../actions/index.ts';

/** The Kubernetes API verbs a provider may need (RBAC `verbs`). */
export type KubeVerb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete';

/** One RBAC grant a provider's code relies on: what it calls, and why. */
export interface RbacNeed {
  /** The API group (RBAC `apiGroups`); `''` is the core group (nodes, pods). */
  readonly apiGroup: string;
  /** The resource (RBAC `resources`), plural and lower case: `nodes`, `machines`. */
  readonly resource: string;
  readonly verbs: readonly KubeVerb[];
  /** What the provider does with it (for the chart's comments and docs/chart.md). */
  readonly why: string;
  /**
   * The chart value that grants this only when true (a separate ClusterRole), for rights too
   * powerful to give by default: `kwokProvider.enabled` for creating Nodes. Unset: the chart's
   * main ClusterRole always grants it (with `rbac.create`).
   */
  readonly chartValue?: string;
}

/** What the worker hands every provider factory. */
export interface ProviderContext {
  readonly logger: Logger;
}

/** One replacement provider: its name, configuration, factory and RBAC needs. */
export interface ProviderDefinition<Name extends string = string> {
  /** The name operators write in NODEHEAL_PROVIDERS and NODEHEAL_DEFAULT_PROVIDER. */
  readonly name: Name;
  /** One line for operators: what a replacement is with this provider. */
  readonly summary: string;
  /**
   * Settings of the provider beyond its name (a zod schema). No provider has any today, so the
   * type allows only `null`: the first one that needs settings widens it to a zod schema and
   * gives NODEHEAL_PROVIDERS a place to carry them (one provider instance serves every rule
   * naming it).
   */
  readonly configSchema: null;
  /** Creates the provider over the worker's Kubernetes client configuration. */
  readonly create: (kubeConfig: KubeConfig, context: ProviderContext) => Provider & { name: Name };
  /** Every API group, resource and verb its code calls (the chart's ClusterRole must grant them). */
  readonly rbac: readonly RbacNeed[];
}

/** A provider definition, with its name kept as a literal type (for the registry's name union). */
export function defineProvider<const Name extends string>(
  definition: ProviderDefinition<Name>,
): ProviderDefinition<Name> {
  return definition;
}

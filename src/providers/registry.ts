// The replacement providers nodeheal knows, one line each. The provider name type, the names
// NODEHEAL_PROVIDERS and NODEHEAL_DEFAULT_PROVIDER accept and the providers the worker creates all
// come from this list. Adding a provider: its file in this folder exporting a definition
// (defineProvider: name, summary, configSchema, create, rbac), one line below, and the chart's
// grants for its rbac (test/unit/providers/ fails until the chart and its values schema follow).
import type { KubeConfig } from '@kubernetes/client-node';
import { silentLogger, type Logger } from '../log/index.ts';
import type { Provider } from '../actions/index.ts';
import { clusterApiProvider } from './cluster-api.ts';
import { karpenterProvider } from './karpenter.ts';
import { kwokProvider } from './kwok.ts';
import { plainProvider } from './plain.ts';

export const PROVIDER_DEFINITIONS = [
  clusterApiProvider,
  karpenterProvider,
  plainProvider,
  kwokProvider,
] as const;

export type ProviderName = (typeof PROVIDER_DEFINITIONS)[number]['name'];

/** Every registered provider name, in registry order (a non-empty tuple, for z.enum). */
export const PROVIDER_NAMES = PROVIDER_DEFINITIONS.map((d) => d.name) as [
  ProviderName,
  ...ProviderName[],
];

export interface ProvidersOptions {
  logger?: Logger;
}

/** Every registered provider over one Kubernetes client configuration, by name. */
export function createProviders(
  kc: KubeConfig,
  options: ProvidersOptions = {},
): Record<ProviderName, Provider> {
  const context = { logger: options.logger ?? silentLogger() };
  return Object.fromEntries(
    PROVIDER_DEFINITIONS.map((definition) => [definition.name, definition.create(kc, context)]),
  ) as Record<ProviderName, Provider>;
}

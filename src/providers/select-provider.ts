// Which provider replaces a node: chosen per pool by node label selectors from configuration.
import type { V1Node } from '@kubernetes/client-node';
import { z } from 'zod';
import type { Provider } from '../actions/index.ts';
import { PROVIDER_NAMES, type ProviderName } from './registry.ts';

// The integration tests import createProviders from this file.
export { createProviders } from './registry.ts';

/** A registered provider name (NODEHEAL_DEFAULT_PROVIDER, a rule's `provider`). */
export const providerNameSchema = z.enum(PROVIDER_NAMES);

/**
 * One configuration entry: nodes whose labels match every pair of `selector` use `provider`, one
 * of the registered names.
 */
export const providerRuleSchema = z.object({
  selector: z.record(z.string().min(1), z.string()),
  provider: providerNameSchema,
});
export const providerRulesSchema = z.array(providerRuleSchema).default([]);
export type ProviderRule = z.infer<typeof providerRuleSchema>;

/** Whether every key of the selector is a label of the node with exactly that value (pure). */
export function selectorMatches(
  selector: Readonly<Record<string, string>>,
  labels: Readonly<Record<string, string>> | undefined,
): boolean {
  return Object.entries(selector).every(([key, value]) => labels?.[key] === value);
}

/**
 * The provider name for a node (pure).
 *
 * - Rules are tried in order; the first whose selector matches the node's labels wins.
 * - A label matches only with exactly the selector's value (`''` matches a label with an empty
 *   value, as `node-role.kubernetes.io/worker: ""`); an empty selector matches every node.
 * - No rule matches: the operator's explicit default (`NODEHEAL_DEFAULT_PROVIDER`), else none:
 *   nodeheal never deletes a Node that nothing is known to replace (`plain` is never implied).
 */
export function selectProviderName(
  labels: Readonly<Record<string, string>> | undefined,
  rules: readonly ProviderRule[],
  fallback?: ProviderName,
): ProviderName | undefined {
  return rules.find((rule) => selectorMatches(rule.selector, labels))?.provider ?? fallback;
}

export class ProviderNotConfiguredError extends Error {
  readonly code = 'PROVIDER_NOT_CONFIGURED';
}

/**
 * The provider for a node from the set available: undefined when no rule (and no default) names
 * one; throws when the chosen one is not in the set.
 */
export function selectProvider(
  node: V1Node,
  rules: readonly ProviderRule[],
  providers: Readonly<Partial<Record<ProviderName, Provider>>>,
  fallback?: ProviderName,
): Provider | undefined {
  const name = selectProviderName(node.metadata?.labels, rules, fallback);
  if (name === undefined) return undefined;
  const provider = providers[name];
  if (!provider) {
    throw new ProviderNotConfiguredError(
      `node ${node.metadata?.name ?? ''} needs provider ${name}, which is not configured`,
    );
  }
  return provider;
}

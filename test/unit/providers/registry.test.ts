// The provider registry: each definition's factory makes the provider it names, its declared RBAC
// needs are exactly the API calls its code makes (over an in-memory API that records them), the
// worker's configuration accepts exactly the registered names, and src/actions/ never imports
// src/providers/.
import type { V1Node } from '@kubernetes/client-node';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { workerEnvSchema } from '../../../src/config/worker-config.ts';
import {
  CAPI_MACHINE_ANNOTATION,
  CAPI_NAMESPACE_ANNOTATION,
  createProviders,
  KWOK_MANAGED_VALUE,
  KWOK_NODE_LABEL,
  PROVIDER_DEFINITIONS,
  PROVIDER_NAMES,
  type ProviderDefinition,
} from '../../../src/providers/index.ts';
import { INTERNAL_IP_ANNOTATION } from '../../../src/providers/kwok.ts';
import { silentLogger } from '../../../src/log/index.ts';
import { repoRoot } from '../../stack/paths.ts';
import { RecordingKube } from './recording-kube.ts';

describe('the registry', () => {
  it('lists each provider once, under a lower-case kebab-case name', () => {
    expect(new Set(PROVIDER_NAMES).size).toBe(PROVIDER_DEFINITIONS.length);
    for (const name of PROVIDER_NAMES) expect(name).toMatch(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/);
    expect(PROVIDER_NAMES).toEqual(
      expect.arrayContaining(['cluster-api', 'karpenter', 'plain', 'kwok']),
    );
  });

  it.each(PROVIDER_DEFINITIONS.map((d) => [d.name, d] as const))(
    '%s: its factory makes a provider of that name; it takes no configuration beyond its name',
    (name, definition: ProviderDefinition) => {
      const provider = definition.create(new RecordingKube().kubeConfig(), {
        logger: silentLogger(),
      });
      expect(provider.name).toBe(name);
      expect(definition.configSchema).toBeNull();
      expect(definition.rbac.length).toBeGreaterThan(0);
    },
  );

  it('createProviders makes every registered provider, keyed by its name', () => {
    const providers = createProviders(new RecordingKube().kubeConfig());
    expect(Object.keys(providers)).toEqual(PROVIDER_NAMES);
    for (const [name, provider] of Object.entries(providers)) expect(provider.name).toBe(name);
  });
});

describe('worker configuration accepts exactly the registered names', () => {
  const rule = (provider: string) => JSON.stringify([{ selector: { pool: 'a' }, provider }]);

  it.each(PROVIDER_NAMES)('%s in NODEHEAL_PROVIDERS and NODEHEAL_DEFAULT_PROVIDER', (name) => {
    const parsed = workerEnvSchema.parse({
      NODEHEAL_PROVIDERS: rule(name),
      NODEHEAL_DEFAULT_PROVIDER: name,
    });
    expect(parsed.NODEHEAL_PROVIDERS?.[0]?.provider).toBe(name);
    expect(parsed.NODEHEAL_DEFAULT_PROVIDER).toBe(name);
  });

  it.each([
    ['NODEHEAL_PROVIDERS', { NODEHEAL_PROVIDERS: rule('aws') }],
    ['NODEHEAL_DEFAULT_PROVIDER', { NODEHEAL_DEFAULT_PROVIDER: 'aws' }],
    ['NODEHEAL_DEFAULT_PROVIDER', { NODEHEAL_DEFAULT_PROVIDER: '' }],
  ])('an unknown name is refused, naming %s', (field, env) => {
    const result = workerEnvSchema.safeParse(env);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path[0]).toBe(field);
  });
});

/** Drives each provider through every path that calls the API (replace, surge, fence). */
const scenarios: Record<string, (kube: RecordingKube) => Promise<void>> = {
  'cluster-api': async (kube) => {
    const owner = [
      { apiVersion: 'v1', kind: 'MachineSet', name: 'md-0', uid: 'ms', controller: true },
    ];
    const machine = (name: string, node: string) =>
      kube.put('cluster.x-k8s.io', 'machines', {
        metadata: { name, namespace: 'capi', ownerReferences: owner },
        status: { nodeRef: { name: node } },
      });
    machine('m-1', 'capi-1');
    machine('m-2', 'capi-2');
    const hinted = kube.put('', 'nodes', {
      metadata: {
        name: 'capi-1',
        annotations: { [CAPI_MACHINE_ANNOTATION]: 'm-1', [CAPI_NAMESPACE_ANNOTATION]: 'capi' },
      },
    });
    const listed = kube.put('', 'nodes', { metadata: { name: 'capi-2' } });
    const unmanaged = kube.put('', 'nodes', { metadata: { name: 'other' } });
    const provider = createProviders(kube.kubeConfig())['cluster-api'];
    expect(await provider.replace(hinted as V1Node)).toMatchObject({ outcome: 'replaced' });
    expect(await provider.fence?.(listed as V1Node)).toMatchObject({ outcome: 'fenced' });
    expect(await provider.replace(unmanaged as V1Node)).toMatchObject({ outcome: 'unsupported' });
    expect(kube.get('cluster.x-k8s.io', 'machines', 'm-1', 'capi')).toBeUndefined();
  },
  karpenter: async (kube) => {
    kube.put('karpenter.sh', 'nodeclaims', {
      metadata: { name: 'c-1' },
      status: { nodeName: 'k-1' },
    });
    kube.put('karpenter.sh', 'nodeclaims', {
      metadata: { name: 'c-2' },
      status: { nodeName: 'k-2' },
    });
    const first = kube.put('', 'nodes', { metadata: { name: 'k-1' } });
    const second = kube.put('', 'nodes', { metadata: { name: 'k-2' } });
    const unmanaged = kube.put('', 'nodes', { metadata: { name: 'other' } });
    const provider = createProviders(kube.kubeConfig()).karpenter;
    expect(await provider.replace(first as V1Node)).toMatchObject({ outcome: 'replaced' });
    expect(await provider.fence?.(second as V1Node)).toMatchObject({ outcome: 'fenced' });
    expect(await provider.replace(unmanaged as V1Node)).toMatchObject({ outcome: 'unsupported' });
  },
  plain: async (kube) => {
    const node = kube.put('', 'nodes', { metadata: { name: 'plain-1' } });
    const provider = createProviders(kube.kubeConfig()).plain;
    expect(await provider.replace(node as V1Node)).toMatchObject({ outcome: 'replaced' });
    expect(kube.get('', 'nodes', 'plain-1')).toBeUndefined();
  },
  kwok: async (kube) => {
    const node = (name: string, ip: string) =>
      kube.put('', 'nodes', {
        metadata: {
          name,
          labels: { 'nodeheal.test/pool': 'sim', [KWOK_NODE_LABEL]: KWOK_MANAGED_VALUE },
          annotations: { [INTERNAL_IP_ANNOTATION]: ip },
        },
      });
    const old = node('sim-0', '10.9.0.2');
    const silent = node('sim-1', '10.9.0.3');
    const provider = createProviders(kube.kubeConfig()).kwok;
    expect(await provider.surge?.(old as V1Node)).toMatchObject({ outcome: 'replaced' });
    expect(await provider.replace(old as V1Node)).toMatchObject({ outcome: 'replaced' });
    expect(await provider.fence?.(silent as V1Node)).toMatchObject({ outcome: 'fenced' });
    expect(kube.get('', 'nodes', 'sim-0')).toBeUndefined();
    expect(kube.get('', 'nodes', 'sim-1')?.metadata?.labels?.[KWOK_NODE_LABEL]).toBe('off');
  },
};

describe('each provider declares exactly the RBAC its code uses', () => {
  it('every registered provider has a scenario here', () => {
    expect(Object.keys(scenarios).sort()).toEqual([...PROVIDER_NAMES].sort());
  });

  it.each(PROVIDER_DEFINITIONS.map((d) => [d.name, d] as const))(
    '%s',
    async (name, definition: ProviderDefinition) => {
      const kube = new RecordingKube();
      await scenarios[name]?.(kube);
      const declared = [
        ...new Set(
          definition.rbac.flatMap((need) =>
            need.verbs.map((verb) => `${need.apiGroup || 'core'} ${need.resource} ${verb}`),
          ),
        ),
      ].sort();
      expect(kube.distinctCalls()).toEqual(declared);
    },
  );
});

describe('src/actions/ does not import src/providers/', () => {
  const dir = join(repoRoot, 'src', 'actions');
  it.each(readdirSync(dir).filter((f) => f.endsWith('.ts')))('%s', (file) => {
    const text = readFileSync(join(dir, file), 'utf8');
    expect(text).not.toMatch(/from '\.\.\/providers\//);
  });
});

// charts/nodeheal through helm v4.3.1 (built from its Go module): `helm lint --strict` and
// `helm template` with the default values and every ci/ values file; values.schema.json refuses
// a wrong type or an unknown key, naming the field; the rendered env is what nodeheal's own
// configuration schemas accept; and every rendered object is accepted by the stack's real
// kube-apiserver (server-side apply, dry run), with the ServiceMonitor and PrometheusRule CRDs
// installed from prometheus-operator's Go module.
import { spawnSync } from 'node:child_process';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { envSchema } from '../../src/config/config-schema.ts';
import { workerEnvSchema } from '../../src/config/worker-config.ts';
import { uniqueName } from '../stack/helpers/kube.ts';
import { applyCrds } from '../stack/helpers/kubectl.ts';
import {
  CHART_CI_DIR,
  chartCiValuesFiles,
  helmLint,
  helmTemplate,
  helmTemplateResult,
  parseManifests,
  prometheusOperatorCrds,
  runHelm,
  type KubeObject,
} from '../stack/helpers/helm.ts';

const stack = inject('stack');

/** What the chart requires and values.yaml cannot default: the webhook and agent Secrets. */
const REQUIRED = [
  'secrets.existingWebhookSecret=nodeheal-webhook',
  'secrets.existingAgentSecret=nodeheal-agent',
];

/** Each rendering case: the default values (plus REQUIRED) and every ci/ file. */
const cases: { name: string; files: string[]; set: string[] }[] = [
  { name: 'default values', files: [], set: REQUIRED },
  ...chartCiValuesFiles().map((file) => ({ name: `ci/${basename(file)}`, files: [file], set: [] })),
];

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: unknown;
}
interface Container {
  name: string;
  env?: EnvVar[];
  securityContext?: Record<string, unknown>;
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  livenessProbe?: { httpGet?: { path: string } };
  ports?: { name: string; containerPort: number }[];
  volumeMounts?: { name: string; mountPath: string }[];
}
interface PodSpec {
  containers: Container[];
  volumes?: { name: string; emptyDir?: object }[];
  serviceAccountName?: string;
}

function find(objects: KubeObject[], kind: string, name: string): KubeObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) {
    const all = objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ');
    throw new Error(`no ${kind}/${name} rendered; got ${all}`);
  }
  return found;
}

function podSpec(object: KubeObject): PodSpec {
  return (object.spec as { template: { spec: PodSpec } }).template.spec;
}

/** A container's plain env values; `$(VAR)` references expanded as the kubelet does. */
function plainEnv(container: Container, secrets: Record<string, string> = {}) {
  const env: Record<string, string> = {};
  for (const v of container.env ?? []) {
    if (v.value !== undefined) {
      env[v.name] = v.value.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name: string) =>
        name in env ? env[name]! : m,
      );
    } else if (v.name in secrets) {
      env[v.name] = secrets[v.name]!;
    }
  }
  return env;
}

function kubectl(args: string[], input?: string) {
  return spawnSync(stack.kubectl!, ['--kubeconfig', stack.kubeconfig!, ...args], {
    input,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
}

function kubectlOk(args: string[], input?: string): string {
  const result = kubectl(args, input);
  if (result.status !== 0) {
    throw new Error(`kubectl ${args.join(' ')} failed: ${result.stderr}${result.stdout}`);
  }
  return result.stdout;
}

describe('helm built from helm.sh/helm/v4', () => {
  it('is v4.3.1', () => {
    const result = runHelm(['version', '--short']);
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toMatch(/^v4\.3\.1\b/);
  });
});

describe('helm lint --strict', () => {
  it('passes with the default values', () => {
    const result = helmLint();
    expect(result.ok, result.stdout + result.stderr).toBe(true);
  });

  it.each(chartCiValuesFiles().map((f) => [basename(f), f]))('passes with ci/%s', (_name, file) => {
    const result = helmLint([file]);
    expect(result.ok, result.stdout + result.stderr).toBe(true);
  });
});

/** Values the schema refuses, and what helm's message must say. */
const refused: { set: string; message: RegExp[] }[] = [
  { set: 'serve.replicas=many', message: [/\/serve\/replicas/, /want integer/] },
  { set: 'serve.replica=3', message: [/\/serve/, /additional propert.*'replica'/] },
  { set: 'worker.safety.poolBudgett=1', message: [/\/worker\/safety/, /'poolBudgett'/] },
  { set: 'worker.drain.emptyDir=sometimes', message: [/\/worker\/drain\/emptyDir/] },
  { set: 'worker.providers[0].provider=aws', message: [/\/worker\/providers\/0/] },
  { set: 'topLevelTypo=true', message: [/additional propert.*'topLevelTypo'/] },
];

describe('values.schema.json refuses a wrong type or an unknown key, naming the field', () => {
  it.each(refused.map((r) => [r.set, r]))('helm lint --set %s fails', (_set, r) => {
    const extra = r.set.startsWith('worker.providers') ? ['worker.providers[0].selector.a=b'] : [];
    const result = helmLint([], [...REQUIRED, ...extra, r.set]);
    expect(result.ok).toBe(false);
    for (const pattern of r.message) expect(result.stdout + result.stderr).toMatch(pattern);
  });

  it.each(refused.map((r) => [r.set, r]))('helm template --set %s fails', (_set, r) => {
    const extra = r.set.startsWith('worker.providers') ? ['worker.providers[0].selector.a=b'] : [];
    const result = helmTemplateResult([], [...REQUIRED, ...extra, r.set]);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/values don't meet the specifications of the schema/);
    for (const pattern of r.message) expect(result.stderr).toMatch(pattern);
  });
});

describe('helm template', () => {
  it('refuses the default values alone: a webhook credential is required', () => {
    const result = helmTemplateResult();
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(
      /secrets\.agentSecret or secrets\.existingAgentSecret is required/,
    );
    const noWebhook = helmTemplateResult([], ['secrets.existingAgentSecret=nodeheal-agent']);
    expect(noWebhook.status).not.toBe(0);
    expect(noWebhook.stderr).toMatch(/secrets\.webhookToken or secrets\.existingWebhookSecret/);
  });

  it.each(cases.map((c) => [c.name, c]))(
    'renders %s: hardened serve and worker with probes on paths they serve',
    (_name, c) => {
      const objects = helmTemplate(c.files, c.set);
      expect(objects.length).toBeGreaterThan(5);
      for (const name of ['nodeheal-serve', 'nodeheal-worker']) {
        const spec = podSpec(find(objects, 'Deployment', name));
        const container = spec.containers[0]!;
        expect(container.securityContext).toEqual({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          runAsNonRoot: true,
          runAsUser: 65532,
          runAsGroup: 65532,
          capabilities: { drop: ['ALL'] },
          seccompProfile: { type: 'RuntimeDefault' },
        });
        expect(container.volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
        expect(spec.volumes).toContainEqual({ name: 'tmp', emptyDir: {} });
        // Both answer /readyz (Redis and the apiserver reachable, checked for real);
        // /healthz only says the process is alive.
        expect(container.readinessProbe?.httpGet?.path).toBe('/readyz');
        expect(container.livenessProbe?.httpGet?.path).toBe('/healthz');
      }
    },
  );

  it.each(cases.map((c) => [c.name, c]))(
    'renders %s into an environment nodeheal serve and worker accept',
    (_name, c) => {
      const objects = helmTemplate(c.files, c.set);
      const secrets = { NODEHEAL_REDIS_PASSWORD: 'secret-from-the-secret' };
      const serve = plainEnv(
        podSpec(find(objects, 'Deployment', 'nodeheal-serve')).containers[0]!,
        secrets,
      );
      const worker = plainEnv(
        podSpec(find(objects, 'Deployment', 'nodeheal-worker')).containers[0]!,
        secrets,
      );
      const serveParsed = envSchema.safeParse(serve);
      expect(serveParsed.error?.issues ?? []).toEqual([]);
      const workerParsed = workerEnvSchema.safeParse(worker);
      expect(workerParsed.error?.issues ?? []).toEqual([]);
      expect(envSchema.safeParse(worker).error?.issues ?? []).toEqual([]);
    },
  );

  it('maps the structured worker values to the env vars the worker reads', () => {
    const objects = helmTemplate([join(CHART_CI_DIR, 'two-replicas-values.yaml')]);
    const worker = podSpec(find(objects, 'Deployment', 'nodeheal-worker')).containers[0]!;
    const env = plainEnv(worker);
    expect(env.NODEHEAL_POOL_LABELS).toBe('nodeheal.io/pool,karpenter.sh/nodepool');
    expect(JSON.parse(env.NODEHEAL_PROVIDERS!)).toEqual([
      { selector: { 'karpenter.sh/nodepool': 'general' }, provider: 'karpenter' },
      { selector: { 'cluster.x-k8s.io/deployment-name': 'md-0' }, provider: 'cluster-api' },
    ]);
    expect(JSON.parse(env.NODEHEAL_SAFETY!)).toEqual({
      poolBudget: 1,
      clusterBudget: 2,
      stormThreshold: 0.25,
      maxHealsPer24h: 2,
    });
    expect(env).toMatchObject({
      NODEHEAL_WORKER_CONCURRENCY: '8',
      NODEHEAL_DRAIN_PARALLELISM: '16',
      NODEHEAL_DRAIN_EMPTYDIR: 'block',
      NODEHEAL_DRAIN_UNMANAGED: 'evict',
      NODEHEAL_DRAIN_FORCE: 'true',
      NODEHEAL_DRAIN_SKIP_WAIT_MS: '120000',
      NODEHEAL_AGENT_PORT: '9180',
      NODEHEAL_AGENT_TIMEOUT_MS: '660000',
      NODEHEAL_WORKER_LISTEN: '0.0.0.0:8081',
    });
    const parsed = workerEnvSchema.parse(env);
    expect(parsed.NODEHEAL_SAFETY).toMatchObject({ clusterBudget: 2, stormThreshold: 0.25 });
    expect(find(objects, 'Service', 'nodeheal-worker').spec).toMatchObject({
      ports: [{ name: 'http', port: 8081, targetPort: 'http' }],
    });
    expect(worker.ports).toEqual([{ name: 'http', containerPort: 8081 }]);
  });

  it('composes the external Redis URL with the password from the existing Secret', () => {
    const objects = helmTemplate([join(CHART_CI_DIR, 'external-redis-secret-values.yaml')]);
    for (const name of ['nodeheal-serve', 'nodeheal-worker']) {
      const env = podSpec(find(objects, 'Deployment', name)).containers[0]!.env!;
      const names = env.map((v) => v.name);
      // $(VAR) expands only variables defined earlier in the list.
      expect(names.indexOf('NODEHEAL_REDIS_PASSWORD')).toBeLessThan(
        names.indexOf('NODEHEAL_REDIS_URL'),
      );
      expect(env.find((v) => v.name === 'NODEHEAL_REDIS_PASSWORD')).toEqual({
        name: 'NODEHEAL_REDIS_PASSWORD',
        valueFrom: { secretKeyRef: { name: 'nodeheal-redis', key: 'redis-password' } },
      });
      expect(env.find((v) => v.name === 'NODEHEAL_REDIS_URL')?.value).toBe(
        'rediss://nodeheal:$(NODEHEAL_REDIS_PASSWORD)@redis.example.internal:6380',
      );
    }
    const refused = helmTemplateResult(
      [join(CHART_CI_DIR, 'external-redis-secret-values.yaml')],
      ['redis.url=redis://:inline@redis:6379'],
    );
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/redis\.url must not contain credentials/);
  });

  it('leaves out the ServiceAccounts and RBAC with serviceAccount.create and rbac.create off', () => {
    const objects = helmTemplate(
      [],
      [
        ...REQUIRED,
        'serviceAccount.create=false',
        'serviceAccount.name=ops-sa',
        'rbac.create=false',
      ],
    );
    const kinds = objects.map((o) => o.kind);
    expect(kinds).not.toContain('ServiceAccount');
    expect(kinds).not.toContain('ClusterRole');
    expect(kinds).not.toContain('ClusterRoleBinding');
    expect(podSpec(find(objects, 'Deployment', 'nodeheal-serve')).serviceAccountName).toBe(
      'ops-sa',
    );
    expect(podSpec(find(objects, 'DaemonSet', 'nodeheal-agent')).serviceAccountName).toBe(
      'default',
    );
  });
});

/**
 * `kubectl apply --server-side --dry-run=server` of objects; returns kubectl's lines, each
 * checked to say "serverside-applied (server dry run)".
 */
function dryRunApply(namespace: string, objects: KubeObject[]): string[] {
  const args = ['apply', '--server-side', '--dry-run=server', '--field-manager=helm'];
  const input = objects.map((o) => JSON.stringify(o)).join('\n');
  const applied = kubectl([...args, '-n', namespace, '-f', '-'], input);
  expect(applied.stderr).toBe('');
  expect(applied.status).toBe(0);
  const lines = applied.stdout.trim().split('\n');
  for (const line of lines) expect(line).toMatch(/serverside-applied \(server dry run\)$/);
  return lines;
}

describe("the stack's kube-apiserver accepts every rendered object (server-side apply, dry run)", () => {
  const namespaces: string[] = [];

  beforeAll(() => {
    // The Prometheus Operator CRDs from its Go module, applied for real, then Established.
    const crds = prometheusOperatorCrds();
    applyCrds(stack, [crds.serviceMonitor, crds.prometheusRule]);
  });

  afterAll(() => {
    for (const namespace of namespaces) kubectl(['delete', 'namespace', namespace, '--wait=false']);
  });

  it.each(cases.map((c) => [c.name, c]))('%s, in a fresh namespace', (_name, c) => {
    const namespace = uniqueName('chart-helm');
    namespaces.push(namespace);
    kubectlOk(['create', 'namespace', namespace]);
    // A release name of its own: ClusterRoles and their bindings are cluster-wide, and another
    // release's (the heal tests' identity, the chart test's install) must not be touched.
    const releaseName = uniqueName('nodeheal');
    const result = helmTemplateResult(c.files, c.set, { namespace, releaseName });
    expect(result.status, result.stderr).toBe(0);
    const objects = parseManifests(result.stdout);
    // The agent DaemonSet is privileged: the stack's apiserver allows that, as clusters do.
    expect(dryRunApply(namespace, objects)).toHaveLength(objects.length);
  });

  it('includes the ServiceMonitor and PrometheusRule, validated against their CRDs', () => {
    const file = chartCiValuesFiles().find((f) => f.endsWith('everything-on-values.yaml'))!;
    const namespace = uniqueName('chart-helm');
    namespaces.push(namespace);
    kubectlOk(['create', 'namespace', namespace]);
    const objects = helmTemplate([file], [], { namespace });
    const kinds = objects.map((o) => o.kind);
    for (const kind of ['ServiceMonitor', 'PrometheusRule', 'NetworkPolicy', 'StatefulSet']) {
      expect(kinds).toContain(kind);
    }
    // A ServiceMonitor the CRD's schema refuses is refused: the dry run does validate.
    const monitor = structuredClone(find(objects, 'ServiceMonitor', 'nodeheal'));
    (monitor.spec as { endpoints: { interval: string }[] }).endpoints[0]!.interval = 'often';
    const refusedApply = kubectl(
      ['apply', '--server-side', '--dry-run=server', '-n', namespace, '-f', '-'],
      JSON.stringify(monitor),
    );
    expect(refusedApply.status).not.toBe(0);
    expect(refusedApply.stderr).toMatch(/interval/);
  });
});

// Helm (v4, built from its Go module like the other tools of the stack) for tests: lint and
// template charts/nodeheal, and the prometheus-operator CRDs its optional objects need.
//
// Everything here is synchronous (helm lint and template take well under a second), so that
// synchronous callers such as chart-rbac.ts can use it too. `helmBinary()` builds helm when it
// is missing (once, about 3 min cold on 2 cores), like `node test/stack/prepare.ts` does.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { binaryPath, componentDir } from '../go-build.ts';
import { cacheDir, repoRoot } from '../paths.ts';

export const CHART_DIR = join(repoRoot, 'charts', 'nodeheal');
export const CHART_CI_DIR = join(CHART_DIR, 'ci');

/** A Kubernetes object as helm renders it (parsed YAML). */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> } & Record<
    string,
    unknown
  >;
  [key: string]: unknown;
}

export interface HelmResult {
  /** Exit status of helm (0 = success). */
  status: number;
  stdout: string;
  stderr: string;
}

export class HelmError extends Error {
  readonly args: string[];
  readonly result: HelmResult;

  constructor(args: string[], result: HelmResult) {
    super(
      `helm ${args.join(' ')} failed (exit ${result.status}):\n${result.stderr}${result.stdout}`,
    );
    this.args = args;
    this.result = result;
  }
}

/** Path of the helm binary; builds it first when it is not in the cache yet. */
export function helmBinary(): string {
  if (!existsSync(join(componentDir('helm'), '.complete'))) {
    // A child process, so that this stays synchronous; it shares go-build's lock and cache.
    const goBuild = pathToFileURL(join(repoRoot, 'test', 'stack', 'go-build.ts')).href;
    execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { ensureGoBinaries } from ${JSON.stringify(goBuild)};\n` +
          `await ensureGoBinaries(['helm']);`,
      ],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
  }
  return binaryPath('helm', 'helm');
}

/**
 * The environment helm runs with: its cache, config and data directories under the build cache
 * (never the user's ~/.config/helm), and KUBECONFIG when given (helm install, list, uninstall).
 */
export function helmEnv(kubeconfig?: string): NodeJS.ProcessEnv {
  const home = join(cacheDir(), 'helm-home');
  for (const dir of ['cache', 'config', 'data']) mkdirSync(join(home, dir), { recursive: true });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HELM_CACHE_HOME: join(home, 'cache'),
    HELM_CONFIG_HOME: join(home, 'config'),
    HELM_DATA_HOME: join(home, 'data'),
  };
  if (kubeconfig) env.KUBECONFIG = kubeconfig;
  else delete env.KUBECONFIG;
  return env;
}

export interface HelmRunOptions {
  /** The admin (or any) kubeconfig, for commands that talk to a cluster. */
  kubeconfig?: string;
  /** Standard input (e.g. values with `-f -`). */
  input?: string;
  /** Default 120 s. */
  timeoutMs?: number;
}

/** Runs helm with `args`; never throws for a non-zero exit (see `status`). */
export function runHelm(args: string[], options: HelmRunOptions = {}): HelmResult {
  const result = spawnSync(helmBinary(), args, {
    env: helmEnv(options.kubeconfig),
    input: options.input,
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 120_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

export interface ChartValuesOptions {
  /** Chart directory; default charts/nodeheal. */
  chart?: string;
  /** Release name; default `nodeheal`. */
  releaseName?: string;
  /** Release namespace; default `nodeheal`. */
  namespace?: string;
  /** `--show-only` templates, relative to the chart (e.g. `templates/clusterrole.yaml`). */
  showOnly?: string[];
  /** `--set-string` assignments (`key=value`). */
  setString?: string[];
}

/** `-f`, `--set` and `--set-string` arguments. */
function valuesArgs(valuesFiles: string[], setArgs: string[], options: ChartValuesOptions) {
  const args: string[] = [];
  for (const file of valuesFiles) args.push('-f', file);
  for (const set of setArgs) args.push('--set', set);
  for (const set of options.setString ?? []) args.push('--set-string', set);
  return args;
}

/** The arguments of `helm template` (exported for messages and for `helm install` callers). */
export function helmTemplateArgs(
  valuesFiles: string[] = [],
  setArgs: string[] = [],
  options: ChartValuesOptions = {},
): string[] {
  const args = [
    'template',
    options.releaseName ?? 'nodeheal',
    options.chart ?? CHART_DIR,
    '--namespace',
    options.namespace ?? 'nodeheal',
    ...valuesArgs(valuesFiles, setArgs, options),
  ];
  for (const template of options.showOnly ?? []) args.push('--show-only', template);
  return args;
}

/** `helm template` as it ran, successful or not (for the negative cases). */
export function helmTemplateResult(
  valuesFiles: string[] = [],
  setArgs: string[] = [],
  options: ChartValuesOptions = {},
): HelmResult {
  return runHelm(helmTemplateArgs(valuesFiles, setArgs, options));
}

/** `helm template` of the chart, parsed: every rendered object, empty documents dropped. */
export function helmTemplate(
  valuesFiles: string[] = [],
  setArgs: string[] = [],
  options: ChartValuesOptions = {},
): KubeObject[] {
  const args = helmTemplateArgs(valuesFiles, setArgs, options);
  const result = runHelm(args);
  if (result.status !== 0) throw new HelmError(args, result);
  return parseManifests(result.stdout);
}

/** Parses a multi-document YAML stream of Kubernetes objects (helm output). */
export function parseManifests(text: string): KubeObject[] {
  const objects: KubeObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`invalid YAML from helm: ${doc.errors[0]!.message}`);
    const value = doc.toJS() as unknown;
    if (value === null || value === undefined) continue;
    objects.push(value as KubeObject);
  }
  return objects;
}

export interface HelmLintOptions extends ChartValuesOptions {
  /** `--strict` (warnings fail); default true. */
  strict?: boolean;
}

/** `helm lint` of the chart; `ok` is whether it passed. */
export function helmLint(
  valuesFiles: string[] = [],
  setArgs: string[] = [],
  options: HelmLintOptions = {},
): HelmResult & { ok: boolean } {
  const args = ['lint', options.chart ?? CHART_DIR, ...valuesArgs(valuesFiles, setArgs, options)];
  if (options.strict ?? true) args.push('--strict');
  if (options.namespace) args.push('--namespace', options.namespace);
  const result = runHelm(args);
  return { ...result, ok: result.status === 0 };
}

/** The chart's CI values files (charts/nodeheal/ci/*-values.yaml), absolute paths, sorted. */
export function chartCiValuesFiles(): string[] {
  return readdirSync(CHART_CI_DIR)
    .filter((f) => f.endsWith('-values.yaml'))
    .sort()
    .map((f) => join(CHART_CI_DIR, f));
}

export const PROMETHEUS_OPERATOR_MODULE = 'github.com/prometheus-operator/prometheus-operator';

export interface PrometheusOperatorCrds {
  /** The module version (pinned in test/tools/prometheus-operator/go.mod). */
  version: string;
  serviceMonitor: string;
  prometheusRule: string;
}

let crds: PrometheusOperatorCrds | undefined;

/**
 * Paths of the ServiceMonitor and PrometheusRule CRDs, read from prometheus-operator's Go module
 * in the module cache (downloaded through the Go module proxy when missing, and checked against
 * test/tools/prometheus-operator/go.sum). Nothing is copied into the repository.
 */
export function prometheusOperatorCrds(): PrometheusOperatorCrds {
  if (crds) return crds;
  const info = JSON.parse(
    execFileSync('go', ['mod', 'download', '-json', PROMETHEUS_OPERATOR_MODULE], {
      cwd: join(repoRoot, 'test', 'tools', 'prometheus-operator'),
      env: { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=readonly' },
      encoding: 'utf8',
    }),
  ) as { Dir?: string; Version: string; Error?: string };
  if (!info.Dir) throw new Error(`go mod download ${PROMETHEUS_OPERATOR_MODULE}: ${info.Error}`);
  const dir = join(info.Dir, 'example', 'prometheus-operator-crd');
  const found = {
    version: info.Version,
    serviceMonitor: join(dir, 'monitoring.coreos.com_servicemonitors.yaml'),
    prometheusRule: join(dir, 'monitoring.coreos.com_prometheusrules.yaml'),
  };
  for (const path of [found.serviceMonitor, found.prometheusRule]) {
    if (!existsSync(path))
      throw new Error(`${PROMETHEUS_OPERATOR_MODULE}@${info.Version}: no ${path}`);
  }
  crds = found;
  return found;
}

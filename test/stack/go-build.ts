// Builds the Go components of the stack from their modules, once, into a cache outside the
// repository. Each component has its own Go module under test/tools/ because their dependency
// graphs clash (the Kubernetes staging modules, etcd, KWOK and kube-state-metrics pin their own).
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { cacheDir, repoRoot } from './paths.ts';
import { say } from './say.ts';
import { sleep } from './wait.ts';

export interface GoComponent {
  /** Directory under test/tools/ holding the component's go.mod. */
  module: string;
  version: string;
  binaries: Record<string, string>;
  ldflags?: string;
  /** Rough cold build time on 2 cores, to tell a waiting person what to expect. */
  coldMinutes: number;
  /**
   * A dependency whose published module does not build as it is: it is copied out of the module
   * cache into the build cache, the listed directories are created there with a placeholder,
   * and the build uses the copy (through an alternate go.mod with a replace line).
   */
  patchModule?: { module: string; placeholderDirs: string[] };
}

const k8sVersion = 'v1.36.3';
const k8sLdflags = [
  `-X k8s.io/component-base/version.gitVersion=${k8sVersion}`,
  '-X k8s.io/component-base/version.gitMajor=1',
  '-X k8s.io/component-base/version.gitMinor=36',
  '-X k8s.io/component-base/version.gitTreeState=clean',
  `-X k8s.io/client-go/pkg/version.gitVersion=${k8sVersion}`,
].join(' ');

export const goComponents = {
  etcd: {
    module: 'etcd',
    version: 'v3.6.16',
    binaries: { etcd: 'go.etcd.io/etcd/server/v3' },
    coldMinutes: 2,
  },
  kube: {
    module: 'kube',
    version: k8sVersion,
    binaries: {
      'kube-apiserver': 'k8s.io/kubernetes/cmd/kube-apiserver',
      'kube-controller-manager': 'k8s.io/kubernetes/cmd/kube-controller-manager',
      'kube-scheduler': 'k8s.io/kubernetes/cmd/kube-scheduler',
      kubectl: 'k8s.io/kubernetes/cmd/kubectl',
    },
    ldflags: k8sLdflags,
    coldMinutes: 6,
  },
  kwok: {
    module: 'kwok',
    version: 'v0.8.0',
    binaries: { kwok: 'sigs.k8s.io/kwok/cmd/kwok' },
    ldflags: '-X sigs.k8s.io/kwok/pkg/consts.Version=v0.8.0',
    coldMinutes: 3,
  },
  ksm: {
    module: 'ksm',
    version: 'v2.20.0',
    binaries: { 'kube-state-metrics': 'k8s.io/kube-state-metrics/v2' },
    coldMinutes: 3,
  },
  alertmanager: {
    module: 'alertmanager',
    version: 'v0.35.0',
    binaries: { alertmanager: 'github.com/prometheus/alertmanager/cmd/alertmanager' },
    // The release embeds its web UI from ui/app/dist, produced by a JavaScript build that is not
    // part of the Go module. Tests use only the HTTP API, so placeholders stand in for the UI.
    patchModule: {
      module: 'github.com/prometheus/alertmanager',
      placeholderDirs: ['ui/app/dist/elm', 'ui/app/dist/mantine'],
    },
    coldMinutes: 3,
  },
  helm: {
    module: 'helm',
    version: 'v4.3.1',
    binaries: { helm: 'helm.sh/helm/v4/cmd/helm' },
    // What helm's Makefile sets for a release: `helm version` then prints v4.3.1, not v4.3.
    ldflags: [
      '-X helm.sh/helm/v4/internal/version.version=v4.3.1',
      '-X helm.sh/helm/v4/internal/version.gitTreeState=clean',
    ].join(' '),
    // Measured: 239 s with an empty Go build cache, beside a kube-apiserver build.
    coldMinutes: 4,
  },
} satisfies Record<string, GoComponent>;

export type GoComponentName = keyof typeof goComponents;

/** Cache directory for one component: keyed by name, version and a hash of its go.mod/go.sum. */
export function componentDir(name: GoComponentName): string {
  const c: GoComponent = goComponents[name];
  const moduleDir = join(repoRoot, 'test', 'tools', c.module);
  const hash = createHash('sha256');
  for (const file of ['go.mod', 'go.sum']) hash.update(readFileSync(join(moduleDir, file)));
  hash.update(JSON.stringify(c.patchModule ?? {}));
  hash.update(c.ldflags ?? '');
  return join(cacheDir(), 'bin', `${name}-${c.version}-${hash.digest('hex').slice(0, 12)}`);
}

/** Path of a built binary; throws when it has not been built yet. */
export function binaryPath(name: GoComponentName, binary: string): string {
  const path = join(componentDir(name), binary);
  if (!existsSync(join(componentDir(name), '.complete'))) {
    throw new Error(`${name} is not built yet: run \`node test/stack/prepare.ts\``);
  }
  return path;
}

export class GoBuildError extends Error {
  readonly code = 'STACK_GO_BUILD_FAILED';
}

/** Builds every missing component, one at a time (the machine has two cores). */
export async function ensureGoBinaries(names: GoComponentName[]): Promise<void> {
  for (const name of names) await ensureComponent(name);
}

async function ensureComponent(name: GoComponentName): Promise<void> {
  const dir = componentDir(name);
  if (existsSync(join(dir, '.complete'))) return;
  const lock = `${dir}.lock`;
  mkdirSync(join(cacheDir(), 'bin'), { recursive: true });
  // A second process (another shell, a parallel run) waits for the first builder.
  while (!tryLock(lock)) {
    if (existsSync(join(dir, '.complete'))) return;
    say(`waiting for another process building ${name} (lock ${lock})`);
    await sleep(10_000);
  }
  try {
    if (existsSync(join(dir, '.complete'))) return;
    const c: GoComponent = goComponents[name];
    const staging = `${dir}.partial`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    say(
      `building ${name} ${c.version} from Go modules into ${dir} ` +
        `(first time only; about ${c.coldMinutes} min on 2 cores with a cold Go cache)`,
    );
    for (const [binary, pkg] of Object.entries(c.binaries)) {
      await goBuild(join(repoRoot, 'test', 'tools', c.module), pkg, join(staging, binary), c);
    }
    writeFileSync(join(staging, '.complete'), `${new Date().toISOString()}\n`);
    rmSync(dir, { recursive: true, force: true });
    renameSync(staging, dir);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function tryLock(lock: string): boolean {
  try {
    mkdirSync(lock);
    writeFileSync(join(lock, 'pid'), String(process.pid));
    return true;
  } catch {
    // A lock left by a builder that died is stale: take it over.
    try {
      const pid = Number(readFileSync(join(lock, 'pid'), 'utf8'));
      process.kill(pid, 0);
      return false;
    } catch {
      rmSync(lock, { recursive: true, force: true });
      return false;
    }
  }
}

/**
 * Copies a dependency out of the read-only module cache, adds placeholder directories, and
 * returns an alternate go.mod (with its go.sum beside it) that replaces the dependency with
 * the copy. Everything lives in the build cache; nothing is written to the repository.
 */
function patchedModule(
  moduleDir: string,
  patch: NonNullable<GoComponent['patchModule']>,
  env: NodeJS.ProcessEnv,
): string {
  const info = JSON.parse(
    execFileSync('go', ['mod', 'download', '-json', patch.module], {
      cwd: moduleDir,
      env,
      encoding: 'utf8',
    }),
  ) as { Dir: string; Version: string };
  const work = join(cacheDir(), 'src', `${patch.module.replaceAll('/', '_')}@${info.Version}`);
  rmSync(work, { recursive: true, force: true });
  cpSync(info.Dir, work, { recursive: true });
  execFileSync('chmod', ['-R', 'u+w', work]);
  for (const dir of patch.placeholderDirs) {
    mkdirSync(join(work, dir), { recursive: true });
    writeFileSync(
      join(work, dir, 'index.html'),
      '<!doctype html><title>not included</title><p>This build for nodeheal tests has no web UI.</p>\n',
    );
  }
  const modfile = `${work}.go.mod`;
  const goMod = readFileSync(join(moduleDir, 'go.mod'), 'utf8');
  writeFileSync(modfile, `${goMod}\nreplace ${patch.module} => ${work}\n`);
  copyFileSync(join(moduleDir, 'go.sum'), `${work}.go.sum`);
  return modfile;
}

async function goBuild(moduleDir: string, pkg: string, out: string, c: GoComponent) {
  const started = Date.now();
  const binary = out.split('/').pop() ?? pkg;
  say(`  go build ${pkg}`);
  const env = { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-buildvcs=false -mod=readonly' };
  const args = ['build', '-trimpath', '-ldflags', `-s -w ${c.ldflags ?? ''}`];
  if (c.patchModule) args.push(`-modfile=${patchedModule(moduleDir, c.patchModule, env)}`);
  args.push('-o', out, pkg);
  const child = spawn('go', args, { cwd: moduleDir, env, stdio: ['ignore', 'inherit', 'inherit'] });
  const ticker = setInterval(() => {
    say(`  still building ${binary} (${Math.round((Date.now() - started) / 1000)} s)`);
  }, 30_000);
  try {
    const code = await new Promise<number | null>((resolveCode, reject) => {
      child.on('error', reject);
      child.on('exit', resolveCode);
    });
    if (code !== 0) {
      throw new GoBuildError(`go build ${pkg} in ${moduleDir} failed (exit ${code})`);
    }
  } finally {
    clearInterval(ticker);
  }
  say(`  built ${binary} in ${Math.round((Date.now() - started) / 1000)} s`);
}

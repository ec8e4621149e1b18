// Builds localhost/nodeheal:dev from the Containerfile with podman, on base images built here
// from Debian packages (scripts/image/base.ts), since no image registry is reachable.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ensureContainerPackages } from '../../test/stack/debian.ts';
import { cacheDir, repoRoot } from '../../test/stack/paths.ts';
import { IMAGE, podman, podmanStreaming } from '../../test/stack/podman.ts';
import { say } from '../../test/stack/say.ts';
import { sleep } from '../../test/stack/wait.ts';
import { ensureBase } from './base.ts';

export const source = 'https://github.com/nodeheal/nodeheal';
const contextLabel = 'io.nodeheal.context';

/** The files the Containerfile copies (keep in step with it): their hash says "stale". */
function contextFiles(): string[] {
  const files = [
    'Containerfile',
    '.containerignore',
    'package.json',
    'package-lock.json',
    'tsconfig.json',
    'tsconfig.build.json',
    'alert-rules/remedies.yaml',
    'scripts/image/nodeheal',
  ];
  const walk = (dir: string): string[] =>
    readdirSync(join(repoRoot, dir), { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory() ? walk(join(dir, entry.name)) : [join(dir, entry.name)],
    );
  return [...files, ...walk('src').sort()];
}

function contextHash(buildArgs: Record<string, string>): string {
  const hash = createHash('sha256');
  for (const file of contextFiles()) {
    hash.update(`${file}\0`);
    hash.update(readFileSync(join(repoRoot, file)));
  }
  hash.update(JSON.stringify(buildArgs));
  return hash.digest('hex').slice(0, 16);
}

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

function npmConfig(key: string): string {
  try {
    const value = execFileSync('npm', ['config', 'get', key], { encoding: 'utf8' }).trim();
    return value === 'null' || value === 'undefined' ? '' : value;
  } catch {
    return '';
  }
}

/** The CA bundle npm trusts on this host (a proxy's private CA), passed as a build secret. */
function npmCaFile(): string | undefined {
  const file = npmConfig('cafile') || process.env.NODE_EXTRA_CA_CERTS || '';
  return file && existsSync(file) ? file : undefined;
}

function imageLabel(label: string): string | undefined {
  try {
    return podman(['image', 'inspect', '--format', `{{index .Labels "${label}"}}`, IMAGE]).trim();
  } catch {
    return undefined;
  }
}

export function imageSize(image = IMAGE): number {
  return Number(podman(['image', 'inspect', '--format', '{{.Size}}', image]).trim());
}

export interface BuildOptions {
  /** Skip the build when the image exists and was built from the same inputs. */
  ifStale?: boolean;
  /** Rebuild the base images even when their recipe is unchanged (Debian updates). */
  refreshBase?: boolean;
}

export interface BuildResult {
  image: string;
  size: number;
  baseSize: number;
  runtimeBaseSize: number;
  seconds: number;
  built: boolean;
}

/** One builder at a time (prepare.ts and a test file may both ask). */
async function withLock<T>(body: () => Promise<T>): Promise<T> {
  const lock = join(cacheDir(), 'image', 'build.lock');
  mkdirSync(join(cacheDir(), 'image'), { recursive: true });
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), String(process.pid));
      break;
    } catch {
      let alive = false;
      try {
        process.kill(Number(readFileSync(join(lock, 'pid'), 'utf8')), 0);
        alive = true;
      } catch {
        rmSync(lock, { recursive: true, force: true });
      }
      if (alive) {
        say(`waiting for another process building ${IMAGE} (lock ${lock})`);
        await sleep(5_000);
      }
    }
  }
  try {
    return await body();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export async function buildImage(options: BuildOptions = {}): Promise<BuildResult> {
  ensureContainerPackages();
  return withLock(async () => {
    const started = Date.now();
    const [base, runtimeBase] = await Promise.all([
      ensureBase('build', options.refreshBase),
      ensureBase('runtime', options.refreshBase),
    ]);
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
      version: string;
    };
    const inputs = {
      BASE_IMAGE: base,
      RUNTIME_BASE_IMAGE: runtimeBase,
      BASE_ID: podman(['image', 'inspect', '--format', '{{.Id}}', base]).trim(),
      RUNTIME_BASE_ID: podman(['image', 'inspect', '--format', '{{.Id}}', runtimeBase]).trim(),
    };
    const hash = contextHash(inputs);
    let built = false;
    if (!options.ifStale || imageLabel(contextLabel) !== hash) {
      const dirty = git(['status', '--porcelain', '--untracked-files=no']) !== '';
      const revision = `${git(['rev-parse', 'HEAD']) || 'unknown'}${dirty ? '-dirty' : ''}`;
      const caFile = npmCaFile();
      const buildArgs = {
        BASE_IMAGE: base,
        RUNTIME_BASE_IMAGE: runtimeBase,
        NPM_REGISTRY: npmConfig('registry'),
        VERSION: pkg.version,
        REVISION: revision,
        SOURCE: source,
      };
      say(
        `building ${IMAGE} from ${relative(process.cwd(), join(repoRoot, 'Containerfile')) || 'Containerfile'} ` +
          `(base ${base}, runtime base ${runtimeBase})`,
      );
      await podmanStreaming([
        'build',
        '--pull=never',
        // `npm ci` in the build stage reaches the npm registry the way npm does on this host.
        '--network=host',
        ...(caFile ? ['--secret', `id=npm_ca,src=${caFile}`] : []),
        ...Object.entries(buildArgs).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]),
        '--label',
        `${contextLabel}=${hash}`,
        '--file',
        join(repoRoot, 'Containerfile'),
        '--tag',
        IMAGE,
        repoRoot,
      ]);
      built = true;
    }
    return {
      image: IMAGE,
      size: imageSize(IMAGE),
      baseSize: imageSize(base),
      runtimeBaseSize: imageSize(runtimeBase),
      seconds: (Date.now() - started) / 1000,
      built,
    };
  });
}

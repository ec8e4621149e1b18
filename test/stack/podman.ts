// Podman as this project runs it: Debian's podman with runc and a containers.conf of its own
// (kept in the build cache, never in /etc), and the nodeheal image built on demand.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir } from './paths.ts';

/** The image `npm run image` builds and the tests run. */
export const IMAGE = 'localhost/nodeheal:dev';

/**
 * crun fails on this kind of host (cgroup v1 layout, setrlimit refused), so containers run with
 * runc and without default ulimits; cgroupfs and file events because systemd may not be PID 1.
 */
const containersConf = `# Written by nodeheal's test/stack/podman.ts; used through CONTAINERS_CONF.
[containers]
default_ulimits = []

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
`;

export class PodmanError extends Error {
  readonly code = 'STACK_PODMAN_FAILED';
}

/** Path of the project's containers.conf, written when missing or different. */
export function containersConfPath(): string {
  const dir = join(cacheDir(), 'podman');
  const file = join(dir, 'containers.conf');
  if (!existsSync(file) || readFileSync(file, 'utf8') !== containersConf) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, containersConf);
  }
  return file;
}

/** Environment for every podman call (and for anyone running podman by hand, see docs). */
export function podmanEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...base, CONTAINERS_CONF: containersConfPath() };
}

export interface PodmanOptions {
  input?: string | Buffer;
  timeoutMs?: number;
}

/** Runs `podman --runtime runc ARGS`, returns stdout; throws with podman's stderr on failure. */
export function podman(args: string[], opts: PodmanOptions = {}): string {
  try {
    return execFileSync('podman', ['--runtime', 'runc', ...args], {
      env: podmanEnv(),
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(opts.input !== undefined ? { input: opts.input } : {}),
      ...(opts.timeoutMs !== undefined ? { timeout: opts.timeoutMs } : {}),
    });
  } catch (error) {
    const e = error as { stderr?: string | Buffer; status?: number | null; message: string };
    const stderr = e.stderr?.toString().trim();
    throw new PodmanError(
      `podman ${args.join(' ')} failed (exit ${e.status ?? '?'}): ${stderr || e.message}`,
    );
  }
}

/** Like podman(), asynchronously, with the child's stderr passed through (long builds). */
export async function podmanStreaming(args: string[]): Promise<void> {
  const child = spawn('podman', ['--runtime', 'runc', ...args], {
    env: podmanEnv(),
    stdio: ['ignore', process.stderr, 'inherit'],
  });
  const code = await new Promise<number | null>((resolveCode, reject) => {
    child.on('error', reject);
    child.on('exit', resolveCode);
  });
  if (code !== 0)
    throw new PodmanError(`podman ${args.slice(0, 2).join(' ')} failed (exit ${code})`);
}

/** True when podman answers at all (installed and usable by this user). */
export function podmanAvailable(): boolean {
  try {
    execFileSync('podman', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Builds localhost/nodeheal:dev when it is missing or its inputs changed (the image carries a
 * hash of its build context); a build with nothing changed reuses podman's layer cache.
 */
export async function ensureImage(): Promise<string> {
  const { buildImage } = await import('../../scripts/image/build.ts');
  await buildImage({ ifStale: true });
  return IMAGE;
}

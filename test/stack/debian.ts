// Debian packages the stack runs as they are: Redis, Prometheus (with promtool), Alertmanager
// (with amtool).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { say } from './say.ts';

/** Binary path the stack needs -> Debian package that ships it. */
export const debianBinaries = {
  redisServer: { path: '/usr/bin/redis-server', pkg: 'redis-server' },
  redisCli: { path: '/usr/bin/redis-cli', pkg: 'redis-tools' },
  prometheus: { path: '/usr/bin/prometheus', pkg: 'prometheus' },
  promtool: { path: '/usr/bin/promtool', pkg: 'prometheus' },
  alertmanager: { path: '/usr/bin/prometheus-alertmanager', pkg: 'prometheus-alertmanager' },
  amtool: { path: '/usr/bin/amtool', pkg: 'prometheus-alertmanager' },
  openssl: { path: '/usr/bin/openssl', pkg: 'openssl' },
  setpriv: { path: '/usr/bin/setpriv', pkg: 'util-linux' },
} as const;

export class MissingPackagesError extends Error {
  readonly code = 'STACK_MISSING_PACKAGES';
}

/** What `npm run image` needs: podman with runc, mmdebstrap for the bases, strip (binutils). */
export const containerBinaries = {
  podman: { path: '/usr/bin/podman', pkg: 'podman' },
  runc: { path: '/usr/sbin/runc', pkg: 'runc' },
  mmdebstrap: { path: '/usr/bin/mmdebstrap', pkg: 'mmdebstrap' },
  strip: { path: '/usr/bin/strip', pkg: 'binutils' },
} as const;

export function ensureContainerPackages(): void {
  ensureDebianPackages(containerBinaries);
}

/**
 * Headless Chromium for the status pages' browser test (driven by playwright-core, which
 * downloads no browser of its own): Debian's `chromium`.
 */
export const browserBinaries = {
  chromium: { path: '/usr/bin/chromium', pkg: 'chromium' },
} as const;

/** libfaketime (LD_PRELOAD), for the agent test whose node clock is an hour off. */
export const faketimeLibrary = {
  path: `/usr/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu/faketime/libfaketime.so.1`,
  pkg: 'libfaketime',
} as const;

/** Installs libfaketime when it is missing (as root, else says what to run); returns its path. */
export function ensureFaketime(): string {
  ensureDebianPackages({ libfaketime: faketimeLibrary });
  return faketimeLibrary.path;
}

/** Installs the missing packages when running as root; otherwise says exactly what to run. */
export function ensureDebianPackages(
  binaries: Record<string, { path: string; pkg: string }> = debianBinaries,
): void {
  const missing = [
    ...new Set(
      Object.values(binaries)
        .filter((b) => !existsSync(b.path))
        .map((b) => b.pkg),
    ),
  ];
  if (missing.length === 0) return;
  const command = `apt-get update && apt-get install -y --no-install-recommends ${missing.join(' ')}`;
  if (process.getuid?.() !== 0) {
    throw new MissingPackagesError(
      `missing Debian packages: ${missing.join(', ')}. Install them as root:\n  sudo sh -c '${command}'`,
    );
  }
  say(`installing Debian packages: ${missing.join(', ')} (apt-get, about a minute)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  const install = spawnSync(
    'apt-get',
    ['install', '-y', '-qq', '--no-install-recommends', ...missing],
    { stdio: 'inherit', env },
  );
  if (install.status !== 0) {
    throw new MissingPackagesError(`apt-get install ${missing.join(' ')} failed`);
  }
}

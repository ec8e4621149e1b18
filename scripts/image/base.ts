// The two base images `npm run image` builds from Debian packages when no registry is reachable:
// the build base (what docker.io/library/node:24-bookworm-slim provides: Debian with Node and
// npm) and the runtime base (what docker.io/library/debian:bookworm-slim provides, cut down to
// what node and nsenter need). Both are made with mmdebstrap and imported into podman; each is
// cached under a tag and rebuilt only when its recipe (packages, hooks, Node or npm version)
// changes, or when asked to (--refresh-base, for Debian security updates).
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { cacheDir, repoRoot } from '../../test/stack/paths.ts';
import { podman } from '../../test/stack/podman.ts';
import { say } from '../../test/stack/say.ts';

/** The npm that Node 24.21.0 bundles (its changelog: "upgrade npm to 11.19.0"). */
export const npmVersion = '11.19.0';
const suite = 'bookworm';
const mirrors = [
  `deb http://deb.debian.org/debian ${suite} main`,
  `deb http://deb.debian.org/debian ${suite}-updates main`,
  `deb http://deb.debian.org/debian-security ${suite}-security main`,
].join('\n');
const path = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** No documentation, manual pages, translations or iconv modules in either base. */
const slim = [
  '--dpkgopt=path-exclude=/usr/share/man/*',
  '--dpkgopt=path-exclude=/usr/share/doc/*',
  '--dpkgopt=path-include=/usr/share/doc/*/copyright',
  '--dpkgopt=path-exclude=/usr/share/locale/*',
  '--dpkgopt=path-exclude=/usr/share/info/*',
  '--dpkgopt=path-exclude=/usr/share/lintian/*',
  '--dpkgopt=path-exclude=/usr/lib/x86_64-linux-gnu/gconv/*',
  '--dpkgopt=path-exclude=/usr/lib/aarch64-linux-gnu/gconv/*',
];

/**
 * Runtime base: the packages are only extracted (no dpkg, apt or maintainer scripts run), so
 * the root holds glibc, libstdc++, dash and util-linux (for nsenter) with what they depend on
 * (their libraries; the files of dpkg, tar and debconf come along too, unused: 22 MB in all). A dpkg status file listing them is written so image scanners see the versions;
 * users are root and nonroot (65532), as in distroless images.
 */
const runtimeHook = String.raw`set -eu
root="$1"
mkdir -p "$root/var/lib/dpkg"
for deb in "$root"/var/cache/apt/archives/*.deb; do
  dpkg-deb -f "$deb"; echo "Status: install ok installed"; echo
done > "$root/var/lib/dpkg/status"
printf 'root:x:0:0:root:/root:/bin/sh\nnonroot:x:65532:65532:nonroot:/tmp:/usr/sbin/nologin\n' > "$root/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' > "$root/etc/group"
printf 'passwd: files\ngroup: files\nhosts: files dns\n' > "$root/etc/nsswitch.conf"
mkdir -p "$root/tmp" && chmod 1777 "$root/tmp"
rm -rf "$root/etc/apt" "$root/var/lib/apt" "$root/var/cache/apt" "$root/var/cache/debconf" "$root/var/log"/*
`;

export interface BaseImage {
  tag: string;
  /** What goes into the recipe hash besides the mmdebstrap arguments (files copied in). */
  extra: string;
  describe: string;
  build: (tarball: string) => Promise<void>;
}

/**
 * The directory holding the devDependency's node binary (bin/node) and its version: the
 * platform package that `node` installs, or `node` itself when that package is gone from
 * node_modules and only the binary it placed in node_modules/node/bin is left (same version).
 */
function nodePackageDir(): string {
  const dir = join(repoRoot, 'node_modules', 'node');
  const require = createRequire(join(dir, 'package.json'));
  try {
    return join(require.resolve(`node-${process.platform}-${process.arch}/package.json`), '..');
  } catch {
    return dir;
  }
}

/** Node version of the devDependency `node` (the binary the build base gets). */
export function nodeVersion(): string {
  const pkg = JSON.parse(readFileSync(join(nodePackageDir(), 'package.json'), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

function workDir(): string {
  const dir = join(cacheDir(), 'image');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** npm from the registry, packed once into the cache (as the official image places it). */
function npmTarball(): string {
  const file = join(workDir(), `npm-${npmVersion}.tgz`);
  if (existsSync(file)) return file;
  say(`fetching npm ${npmVersion} (npm pack)`);
  execFileSync('npm', ['pack', `npm@${npmVersion}`, '--pack-destination', workDir(), '--silent'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return file;
}

/** The node binary of the devDependency, stripped of its symbol tables (126 MB -> 108 MB). */
function strippedNode(): string {
  const out = join(workDir(), `node-${nodeVersion()}-${process.arch}`);
  if (existsSync(out)) return out;
  execFileSync('strip', [
    '--strip-all',
    '-o',
    `${out}.partial`,
    join(nodePackageDir(), 'bin', 'node'),
  ]);
  execFileSync('mv', [`${out}.partial`, out]);
  return out;
}

function mmdebstrapArgs(kind: 'build' | 'runtime'): string[] {
  if (kind === 'runtime') {
    return [
      '--variant=extract',
      '--include=base-files,libc6,libgcc-s1,libstdc++6,dash,util-linux',
      ...slim,
      '--customize-hook=' + runtimeHook,
    ];
  }
  const npm = npmTarball();
  const node = strippedNode();
  return [
    '--variant=essential',
    '--include=libstdc++6',
    '--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr',
    ...slim,
    `--customize-hook=copy-in ${node} /usr/local/bin`,
    '--customize-hook=' +
      String.raw`set -eu
root="$1"
mv "$root/usr/local/bin/$(basename ${node})" "$root/usr/local/bin/node"
mkdir -p "$root/usr/local/lib/node_modules/npm"
tar -xzf ${npm} -C "$root/usr/local/lib/node_modules/npm" --strip-components=1 --no-same-owner
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
rm -rf "$root/var/log"/* "$root/var/cache/debconf"/*-old
`,
  ];
}

export function baseImages(): { build: BaseImage; runtime: BaseImage } {
  const version = nodeVersion();
  return {
    build: {
      tag: `localhost/nodeheal-base:node${version}-${suite}`,
      extra: `node ${version} npm ${npmVersion}`,
      describe: `Debian ${suite} (essential) with Node ${version} and npm ${npmVersion}`,
      build: (tarball) => mmdebstrap('build', tarball),
    },
    runtime: {
      tag: `localhost/nodeheal-runtime-base:${suite}`,
      extra: '',
      describe: `Debian ${suite} runtime libraries, dash and util-linux (extracted)`,
      build: (tarball) => mmdebstrap('runtime', tarball),
    },
  };
}

async function mmdebstrap(kind: 'build' | 'runtime', tarball: string): Promise<void> {
  const args = ['--quiet', ...mmdebstrapArgs(kind), suite, tarball, mirrors];
  const child = spawn('mmdebstrap', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolveCode, reject) => {
    child.on('error', reject);
    child.on('exit', resolveCode);
  });
  if (code !== 0) throw new Error(`mmdebstrap (${kind} base) failed (exit ${code}):\n${stderr}`);
}

/** The recipe is this file (packages, hooks, mirrors) plus the Node and npm versions. */
function recipeHash(kind: 'build' | 'runtime', image: BaseImage): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify([kind, image.extra, readFileSync(import.meta.filename, 'utf8')]));
  return hash.digest('hex').slice(0, 16);
}

interface BaseState {
  recipe: string;
  id: string;
}

function stateFile(kind: string): string {
  return join(workDir(), `${kind}-base.json`);
}

/** Image ID of a tag, or undefined when podman has no such image. */
function imageId(tag: string): string | undefined {
  try {
    return podman(['image', 'inspect', '--format', '{{.Id}}', tag]).trim();
  } catch {
    return undefined;
  }
}

/**
 * Builds the base image when it is missing or its recipe changed; returns its tag. The
 * recipe hash and image ID are kept in the cache, so a base replaced by hand is rebuilt too.
 */
export async function ensureBase(kind: 'build' | 'runtime', refresh = false): Promise<string> {
  const image = baseImages()[kind];
  const recipe = recipeHash(kind, image);
  const id = imageId(image.tag);
  if (!refresh && id && existsSync(stateFile(kind))) {
    const state = JSON.parse(readFileSync(stateFile(kind), 'utf8')) as BaseState;
    if (state.recipe === recipe && state.id === id) return image.tag;
  }
  const started = Date.now();
  say(`building base ${image.tag}: ${image.describe} (mmdebstrap, about a minute)`);
  const tarball = join(workDir(), `${kind}-base.tar`);
  rmSync(tarball, { force: true });
  try {
    await image.build(tarball);
    const changes =
      kind === 'build'
        ? [`ENV PATH=${path}`, `ENV NODE_VERSION=${nodeVersion()}`, 'CMD ["node"]']
        : [`ENV PATH=${path}`, 'CMD ["/bin/sh"]'];
    const importArgs = ['import', ...changes.flatMap((c) => ['--change', c]), tarball, image.tag];
    podman(importArgs);
  } finally {
    rmSync(tarball, { force: true });
  }
  const state: BaseState = { recipe, id: imageId(image.tag) ?? '' };
  writeFileSync(stateFile(kind), `${JSON.stringify(state)}\n`);
  say(`built base ${image.tag} in ${Math.round((Date.now() - started) / 1000)} s`);
  return image.tag;
}

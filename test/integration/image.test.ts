// The OCI image (localhost/nodeheal:dev, built by `npm run image` when missing or stale): it runs
// as 65532, serves for real on a read-only root with only /tmp writable (as the chart runs it)
// against the stack's Redis and kube-apiserver, stops promptly on SIGTERM, carries nsenter and
// the OCI labels, holds no npm, compiler or dev dependency, runs compiled JavaScript (no
// TypeScript source) and starts the agent, only the agent, with V8's --lite-mode.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { eventually } from '../stack/helpers/poll.ts';
import { repoRoot } from '../stack/paths.ts';
import { ensureImage, IMAGE, podman } from '../stack/podman.ts';
import { freePort } from '../stack/ports.ts';

const stack = inject('stack');
const RUN = randomBytes(4).toString('hex');
const TOKEN = randomBytes(16).toString('hex');
/** As the chart runs it: read-only root, /tmp the only writable place. */
const readOnly = ['--read-only', '--read-only-tmpfs=false', '--tmpfs', '/tmp:rw,size=16m'];

let dir: string;
let kubeconfig: string;

/** Runs a throwaway container of the image and returns its stdout. */
function run(args: string[], entrypoint?: string): string {
  return podman([
    'run',
    '--rm',
    ...readOnly,
    ...(entrypoint ? ['--entrypoint', entrypoint] : []),
    IMAGE,
    ...args,
  ]);
}

/** The stack's admin kubeconfig with its certificates inlined, readable inside the container. */
function inlineKubeconfig(from: string, to: string): void {
  type Named<T> = { name: string } & T;
  const config = parse(readFileSync(from, 'utf8')) as {
    clusters: Named<{ cluster: Record<string, string> }>[];
    users: Named<{ user: Record<string, string> }>[];
  };
  const inline = (fields: Record<string, string>, keys: string[]) => {
    for (const key of keys) {
      const file = fields[key];
      if (file === undefined) continue;
      fields[`${key}-data`] = readFileSync(file).toString('base64');
      delete fields[key];
    }
  };
  for (const c of config.clusters) inline(c.cluster, ['certificate-authority']);
  for (const u of config.users) inline(u.user, ['client-certificate', 'client-key']);
  writeFileSync(to, JSON.stringify(config), { mode: 0o644 });
}

beforeAll(async () => {
  await ensureImage();
  dir = mkdtempSync(join(tmpdir(), 'nodeheal-image-'));
  kubeconfig = join(dir, 'kubeconfig');
  inlineKubeconfig(stack.kubeconfig ?? '', kubeconfig);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('the nodeheal image', () => {
  it('runs as 65532:65532 by default and provides `nodeheal` on PATH', () => {
    expect(podman(['image', 'inspect', '--format', '{{.Config.User}}', IMAGE]).trim()).toBe(
      '65532:65532',
    );
    expect(run(['-e', 'console.log(process.getuid(), process.getgid())'], 'node').trim()).toBe(
      '65532 65532',
    );
    expect(run(['-c', 'command -v nodeheal'], '/bin/sh').trim()).toBe('/usr/local/bin/nodeheal');
    expect(run(['--version'], 'node').trim()).toMatch(/^v24\./);
  });

  it('answers --help for every role on a read-only root', () => {
    for (const role of ['serve', 'worker', 'all', 'agent']) {
      expect(run([role, '--help'])).toContain(`Usage: nodeheal ${role}`);
    }
    expect(run(['rules', 'check'])).toContain('alert-rules/remedies.yaml: valid');
  });

  it('contains nsenter for the agent', () => {
    expect(run(['--version'], 'nsenter')).toContain('util-linux');
  });

  it('holds no npm, compiler or dev dependency', () => {
    const tools = ['npm', 'npx', 'corepack', 'yarn', 'gcc', 'cc', 'g++', 'make', 'tsc', 'python3'];
    const found = run(
      ['-c', `for t in ${tools.join(' ')}; do command -v $t; done; true`],
      '/bin/sh',
    );
    expect(found.trim()).toBe('');
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
      devDependencies: Record<string, string>;
    };
    const names = [...Object.keys(pkg.devDependencies), 'npm', 'corepack'];
    const script =
      'const fs = require("node:fs");' +
      `const names = ${JSON.stringify(names)};` +
      'const dirs = ["/app/node_modules", "/usr/local/lib/node_modules"];' +
      'console.log(JSON.stringify(names.flatMap((n) => dirs.map((d) => d + "/" + n))' +
      '.filter((p) => fs.existsSync(p))));';
    expect(JSON.parse(run(['-e', script], 'node'))).toEqual([]);
    // …while the production dependencies are there.
    expect(run(['-e', 'console.log(require.resolve("bullmq"))'], 'node')).toContain(
      '/app/node_modules/bullmq',
    );
  });

  it('runs compiled JavaScript: dist/ only, no TypeScript source', () => {
    const script =
      'const fs = require("node:fs");' +
      'const ts = fs.readdirSync("/app/dist", { recursive: true }).filter((f) => /\\.[mc]?ts$/.test(f));' +
      'console.log(JSON.stringify({ src: fs.existsSync("/app/src"), main: fs.existsSync("/app/dist/main.js"), ts }));';
    expect(JSON.parse(run(['-e', script], 'node'))).toEqual({ src: false, main: true, ts: [] });
  });

  it('starts the agent with V8 lite mode', async () => {
    const [port, health] = [await freePort(), await freePort()];
    const name = `nodeheal-image-agent-${RUN}`;
    const secret = join(dir, 'agent-secret');
    const catalog = join(dir, 'agent-catalog.yaml');
    writeFileSync(secret, `${randomBytes(32).toString('hex')}\n`, { mode: 0o644 });
    const command = 'restart-kubelet:\n    argv: [/bin/sh, -c, "true"]\n    timeout: 10s\n';
    writeFileSync(catalog, `version: 1\ncommands:\n  ${command}`, { mode: 0o644 });
    podman([
      'run',
      '--detach',
      '--name',
      name,
      '--network',
      'host',
      ...readOnly,
      '--volume',
      `${secret}:/etc/nodeheal/agent-secret:ro`,
      '--volume',
      `${catalog}:/etc/nodeheal/catalog.yaml:ro`,
      '--env',
      `NODEHEAL_AGENT_LISTEN=127.0.0.1:${port}`,
      '--env',
      `NODEHEAL_AGENT_HEALTH_LISTEN=127.0.0.1:${health}`,
      '--env',
      'NODEHEAL_AGENT_SECRET_FILE=/etc/nodeheal/agent-secret',
      '--env',
      'NODEHEAL_AGENT_CATALOG=/etc/nodeheal/catalog.yaml',
      '--env',
      'NODEHEAL_AGENT_NODE=node-a',
      IMAGE,
      'agent',
    ]);
    try {
      const url = `http://127.0.0.1:${health}/healthz`;
      await eventually('agent /healthz', async () => (await fetch(url)).status === 200, 30_000);
      // The container's PID 1 seen from the host: node itself (the wrapper exec'd it).
      const pid = podman(['inspect', '--format', '{{.State.Pid}}', name]).trim();
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      expect(argv).toEqual(['/usr/local/bin/node', '--lite-mode', '/app/dist/main.js', 'agent']);
    } catch (error) {
      throw new Error(`${String(error)}\ncontainer logs:\n${podman(['logs', name])}`, {
        cause: error,
      });
    } finally {
      podman(['rm', '--force', '--ignore', name]);
    }
  });

  it('carries the OCI labels', () => {
    const labels = JSON.parse(
      podman(['image', 'inspect', '--format', '{{json .Labels}}', IMAGE]),
    ) as Record<string, string>;
    expect(labels['org.opencontainers.image.source']).toMatch(/^https:\/\//);
    expect(labels['org.opencontainers.image.version']).toBe('0.1.0');
    expect(labels['org.opencontainers.image.revision']).toMatch(/^[0-9a-f]{40}(-dirty)?$/);
  });

  it('serves on a read-only root against Redis and Kubernetes, and stops at SIGTERM', async () => {
    const port = await freePort();
    const name = `nodeheal-image-test-${RUN}`;
    podman([
      'run',
      '--detach',
      '--name',
      name,
      '--network',
      'host',
      ...readOnly,
      '--volume',
      `${kubeconfig}:/etc/nodeheal/kubeconfig:ro`,
      '--env',
      `NODEHEAL_LISTEN=127.0.0.1:${port}`,
      '--env',
      `NODEHEAL_REDIS_URL=${stack.redisUrl ?? ''}`,
      '--env',
      `NODEHEAL_WEBHOOK_TOKEN=${TOKEN}`,
      '--env',
      'KUBECONFIG=/etc/nodeheal/kubeconfig',
      IMAGE,
      'serve',
    ]);
    try {
      const base = `http://127.0.0.1:${port}`;
      await eventually(
        '/healthz',
        async () => (await fetch(`${base}/healthz`)).status === 200,
        30_000,
      );
      // Ready means Redis answered and the node watch synced from the kube-apiserver.
      await eventually(
        '/readyz',
        async () => {
          const ready = await fetch(`${base}/readyz`);
          if (ready.status !== 200) throw new Error(`${ready.status} ${await ready.text()}`);
          return true;
        },
        30_000,
      );
      // serve keeps V8's defaults: the wrapper adds --lite-mode for `agent` only.
      const pid = podman(['inspect', '--format', '{{.State.Pid}}', name]).trim();
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      expect(argv).toEqual(['/usr/local/bin/node', '/app/dist/main.js', 'serve']);
      const denied = await fetch(`${base}/webhook/alertmanager`, { method: 'POST', body: '{}' });
      expect(denied.status).toBe(401);

      const started = Date.now();
      podman(['stop', '--time', '10', name]);
      const stopMs = Date.now() - started;
      const exitCode = Number(podman(['inspect', '--format', '{{.State.ExitCode}}', name]).trim());
      expect([0, 143]).toContain(exitCode);
      // Well under podman's 10 s before SIGKILL (which would be exit 137).
      expect(stopMs).toBeLessThan(3_000);
      const logs = podman(['logs', name]);
      expect(logs).toContain('nodeheal serve listening');
      expect(logs).toContain('serve stopping');
    } catch (error) {
      const logs = (() => {
        try {
          return podman(['logs', name]);
        } catch {
          return '';
        }
      })();
      throw new Error(`${String(error)}\ncontainer logs:\n${logs}`, { cause: error });
    } finally {
      podman(['rm', '--force', '--ignore', name]);
    }
  });
});

// Self-fence against the real node agent (`node src/main.ts agent` as a child process) with a
// harmless catalog whose `reboot` only records when it ran (test/agent-fixtures/record-time.sh).
// Two node:net servers stand in for the apiserver and a peer agent; closing and reopening them
// cuts and restores the agent's contact. Then the chart: agent.selfFence renders the second
// DaemonSet, the exclusion of its nodes from the first, the peers Service, and the worker's
// NODEHEAL_SELF_FENCE with the same safe time as selfFenceSafeTimeSeconds.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadAgentConfig } from '../../src/agent/index.ts';
import { workerEnvSchema } from '../../src/config/worker-config.ts';
import {
  selfFenceSafeTimeSeconds,
  selfFenceSettingsSchema,
  selfFenceWorkerSchema,
} from '../../src/safety/index.ts';
import {
  CHART_CI_DIR,
  CHART_DIR,
  helmTemplate,
  helmTemplateResult,
  runHelm,
  type KubeObject,
} from '../stack/helpers/helm.ts';
import { eventually } from '../stack/helpers/poll.ts';
import { repoRoot } from '../stack/paths.ts';
import { freePort } from '../stack/ports.ts';
import { sleep } from '../stack/wait.ts';

const SECRET = 'f00d'.repeat(16);
const NODE = 'node-a';
const fixtures = join(repoRoot, 'test', 'agent-fixtures');
const main = join(repoRoot, 'src', 'main.ts');

// Short settings: fence after 3 s without contact, a check every 0.5 s.
const UNREACHABLE_MS = 3000;
const CHECK_MS = 500;
const PROBE_TIMEOUT_MS = 250;
const SELF_FENCE_ENV = {
  NODEHEAL_AGENT_SELF_FENCE: 'true',
  NODEHEAL_AGENT_SELF_FENCE_UNREACHABLE_SECONDS: String(UNREACHABLE_MS / 1000),
  NODEHEAL_AGENT_SELF_FENCE_CHECK_INTERVAL_SECONDS: String(CHECK_MS / 1000),
  NODEHEAL_AGENT_SELF_FENCE_PROBE_TIMEOUT_SECONDS: String(PROBE_TIMEOUT_MS / 1000),
  NODEHEAL_AGENT_SELF_FENCE_REBOOT_SECONDS: '1',
};
/**
 * The latest a reboot may come after the last contact: the deadline, at most two checks (the
 * one that sees it passed starts up to one interval late, and may end a probe timeout later),
 * plus 1.5 s for a loaded 2-core machine to spawn the fixture.
 */
const LATEST_MS = UNREACHABLE_MS + 2 * CHECK_MS + PROBE_TIMEOUT_MS + 1500;
/**
 * The test records a connection when its own event loop gets to it, which can be a little after
 * the agent's probe connected: the earliest allowed reboot is the deadline minus this much. An
 * agent that fenced even one check early (500 ms) fails.
 */
const RECORDING_SLACK_MS = 200;

let dir: string;
let secretFile: string;
const children: ChildProcess[] = [];

/** A TCP server standing in for the apiserver or a peer agent: accepts, notes when, hangs up. */
class StandIn {
  readonly port: number;
  lastAccepted = 0;
  accepted = 0;
  #server: Server | undefined;

  constructor(port: number) {
    this.port = port;
  }

  async open(): Promise<void> {
    const server = createServer((socket) => {
      this.lastAccepted = Date.now();
      this.accepted += 1;
      socket.destroy();
    });
    await new Promise<void>((resolveListen, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolveListen());
    });
    this.#server = server;
  }

  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }
}

interface Agent {
  child: ChildProcess;
  state: string;
  output: () => string;
  /** Unix milliseconds of every run of the catalogued reboot, in order. */
  reboots: () => number[];
  stop: () => Promise<number | null>;
}

function catalog(state: string, withReboot = true): string {
  const file = join(dir, `catalog-${Math.random().toString(36).slice(2)}.yaml`);
  const commands = withReboot
    ? `  reboot:\n    description: Records when it ran; reboots nothing.\n    argv: [/bin/sh, '${fixtures}/record-time.sh', '${state}', reboot]\n    timeout: 10s\n`
    : `  restart-kubelet:\n    argv: [/bin/sh, '${fixtures}/record-time.sh', '${state}', restart-kubelet]\n    timeout: 10s\n`;
  writeFileSync(file, `version: 1\ncommands:\n${commands}`);
  return file;
}

async function startAgent(env: Record<string, string>): Promise<Agent> {
  const state = mkdtempSync(join(dir, 'state-'));
  const port = await freePort();
  const healthPort = await freePort();
  let output = '';
  const child = spawn(process.execPath, [main, 'agent'], {
    cwd: repoRoot,
    env: {
      ...process.env,
      KUBERNETES_SERVICE_HOST: '',
      KUBERNETES_SERVICE_PORT: '',
      NODEHEAL_AGENT_LISTEN: `127.0.0.1:${port}`,
      NODEHEAL_AGENT_HEALTH_LISTEN: `127.0.0.1:${healthPort}`,
      NODEHEAL_AGENT_SECRET_FILE: secretFile,
      NODEHEAL_AGENT_CATALOG: catalog(state),
      NODEHEAL_AGENT_NODE: NODE,
      NODEHEAL_AGENT_STATE_DIR: join(state, 'results'),
      NODEHEAL_LOG_LEVEL: 'debug',
      ...SELF_FENCE_ENV,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  await eventually(
    'the agent health endpoint',
    async () => {
      if (child.exitCode !== null) throw new Error(`agent exited ${child.exitCode}: ${output}`);
      return (await fetch(`http://127.0.0.1:${healthPort}/healthz`)).ok;
    },
    30_000,
    100,
  );
  const runs = join(state, 'runs.log');
  return {
    child,
    state,
    output: () => output,
    reboots: () =>
      existsSync(runs)
        ? readFileSync(runs, 'utf8')
            .split('\n')
            .filter((l) => l.startsWith('reboot '))
            .map((l) => Number(l.split(' ')[1]))
        : [],
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Log lines of the agent (pino JSON) with this message start. */
function logLines(agent: Agent, msg: string): Record<string, unknown>[] {
  return agent
    .output()
    .split('\n')
    .slice(0, -1) // after the last newline: nothing, or a line still coming through the pipe
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => typeof l.msg === 'string' && l.msg.startsWith(msg));
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nodeheal-self-fence-'));
  secretFile = join(dir, 'secret');
  writeFileSync(secretFile, `${SECRET}\n`, { mode: 0o600 });
});

afterEach(() => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('nodeheal agent self-fence (real process)', () => {
  it('reboots once, after unreachableSeconds without the apiserver and every peer, and re-arms on contact', async () => {
    const api = new StandIn(await freePort());
    const peer = new StandIn(await freePort());
    await api.open();
    await peer.open();
    const agent = await startAgent({
      NODEHEAL_AGENT_APISERVER: `127.0.0.1:${api.port}`,
      NODEHEAL_AGENT_PEERS: `127.0.0.1:${peer.port}`,
    });
    try {
      // 1. The apiserver answers: probed every check, no reboot over two deadlines.
      await sleep(2 * UNREACHABLE_MS);
      expect(agent.reboots()).toEqual([]);
      expect(api.accepted).toBeGreaterThanOrEqual(6);
      expect(logLines(agent, 'self-fence: first contact; armed')).toHaveLength(1);

      // 2. Only the peer answers: still contact, no reboot.
      await api.close();
      await sleep(2 * UNREACHABLE_MS);
      expect(agent.reboots()).toEqual([]);
      expect(peer.accepted).toBeGreaterThanOrEqual(6);

      // 3. Neither answers: one reboot, not before the deadline after the last contact, and
      //    within two checks of it.
      await peer.close();
      const lastContact = Math.max(api.lastAccepted, peer.lastAccepted);
      const [rebootAt] = await eventually(
        'the self-fence reboot',
        () => (agent.reboots().length > 0 ? agent.reboots() : undefined),
        LATEST_MS + 5000,
        50,
      );
      const after = rebootAt! - lastContact;
      expect(after).toBeGreaterThanOrEqual(UNREACHABLE_MS - RECORDING_SLACK_MS);
      expect(after).toBeLessThanOrEqual(LATEST_MS);
      // Exactly once during this outage.
      await sleep(2 * UNREACHABLE_MS);
      expect(agent.reboots()).toHaveLength(1);
      const [line] = logLines(agent, 'self-fence: neither the apiserver nor any peer');
      expect(line).toMatchObject({
        level: 50,
        node: NODE,
        reason: 'unreachable',
        apiserverReached: false,
        peersProbed: 1,
        peersReachable: 0,
        unreachableSeconds: 3,
        checkIntervalSeconds: 0.5,
        safeTimeSeconds: 5,
      });
      expect(line!.unreachableForMs).toBeGreaterThanOrEqual(UNREACHABLE_MS);
      // Run the way a request runs it: recorded in the agent's results under the reboot id.
      expect(logLines(agent, 'host command succeeded')).toContainEqual(
        expect.objectContaining({ command: 'reboot', healId: line!.rebootId, exitCode: 0 }),
      );

      // 4. The peer is back: re-armed, and no second reboot while it answers.
      await peer.open();
      await eventually(
        'the agent to reach the peer again',
        () => peer.accepted > 0 && logLines(agent, 'self-fence: contact back').length > 0,
        10_000,
        50,
      );
      await sleep(2 * UNREACHABLE_MS);
      expect(agent.reboots()).toHaveLength(1);

      // 5. Re-armed means armed: the next outage fences again, after its own deadline.
      await peer.close();
      const lastContact2 = peer.lastAccepted;
      await eventually(
        'the second self-fence reboot',
        () => (agent.reboots().length > 1 ? true : undefined),
        LATEST_MS + 5000,
        50,
      );
      const after2 = agent.reboots()[1]! - lastContact2;
      expect(after2).toBeGreaterThanOrEqual(UNREACHABLE_MS - RECORDING_SLACK_MS);
      expect(after2).toBeLessThanOrEqual(LATEST_MS);

      // SIGTERM stops the watchdog with the agent: a clean exit.
      expect(await agent.stop()).toBe(0);
    } finally {
      await agent.stop();
      await api.close();
      await peer.close();
    }
  });

  it('never reboots when it reached nothing since it started (a node still joining)', async () => {
    // Ports nothing listens on.
    const agent = await startAgent({
      NODEHEAL_AGENT_APISERVER: `127.0.0.1:${await freePort()}`,
      NODEHEAL_AGENT_PEERS: `127.0.0.1:${await freePort()}`,
    });
    try {
      await sleep(2 * UNREACHABLE_MS + 2 * CHECK_MS);
      expect(agent.reboots()).toEqual([]);
      expect(logLines(agent, 'self-fence: nothing reached since the agent started')).toHaveLength(
        1,
      );
      expect(agent.child.exitCode).toBeNull();
    } finally {
      expect(await agent.stop()).toBe(0);
    }
  });

  it('refuses to start with self-fence on and no reboot in its catalog, or nothing to probe', () => {
    const state = mkdtempSync(join(dir, 'state-'));
    const run = (env: Record<string, string>) =>
      spawnSync(process.execPath, [main, 'agent'], {
        cwd: repoRoot,
        encoding: 'utf8',
        timeout: 30_000,
        env: {
          ...process.env,
          KUBERNETES_SERVICE_HOST: '',
          KUBERNETES_SERVICE_PORT: '',
          NODEHEAL_AGENT_LISTEN: '127.0.0.1:0',
          NODEHEAL_AGENT_HEALTH_LISTEN: 'off',
          NODEHEAL_AGENT_SECRET_FILE: secretFile,
          NODEHEAL_AGENT_NODE: NODE,
          ...SELF_FENCE_ENV,
          ...env,
        },
      });
    const noReboot = run({
      NODEHEAL_AGENT_CATALOG: catalog(state, false),
      NODEHEAL_AGENT_APISERVER: '127.0.0.1:1',
    });
    expect(noReboot.status).toBe(1);
    expect(noReboot.stderr).toContain('self-fence needs the host command reboot');
    const nothing = run({ NODEHEAL_AGENT_CATALOG: catalog(state) });
    expect(nothing.status).toBe(1);
    expect(nothing.stderr).toContain('self-fence needs something to reach');
  });
});

interface Term {
  matchExpressions: { key: string; operator: string; values: string[] }[];
}
interface PodSpec {
  nodeSelector?: Record<string, string>;
  dnsPolicy?: string;
  affinity?: {
    nodeAffinity?: {
      requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms: Term[] };
    };
  };
  containers: { env?: { name: string; value?: string }[] }[];
}
interface Template {
  metadata: { labels: Record<string, string> };
  spec: PodSpec;
}

function get(objects: KubeObject[], kind: string, name: string): KubeObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind}/${name}`);
  return found;
}
const template = (o: KubeObject) => (o.spec as { template: Template }).template;
const envOf = (o: KubeObject, values: Record<string, string> = {}) =>
  Object.fromEntries(
    (template(o).spec.containers[0]!.env ?? [])
      .filter((v) => v.value !== undefined)
      .map((v) => [v.name, v.value!.replace(/\$\((\w+)\)/g, (_m, n: string) => values[n] ?? '')]),
  );

/** Whether the scheduler would put a DaemonSet pod on a node with these labels (no taints). */
function schedulable(spec: PodSpec, labels: Record<string, string>): boolean {
  const selector = Object.entries(spec.nodeSelector ?? {}).every(([k, v]) => labels[k] === v);
  const terms = spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  const matches = (e: Term['matchExpressions'][number]) =>
    e.operator === 'NotIn'
      ? !(e.key in labels) || !e.values.includes(labels[e.key]!)
      : e.operator === 'In'
        ? e.key in labels && e.values.includes(labels[e.key]!)
        : false;
  const affinity = !terms || terms.nodeSelectorTerms.some((t) => t.matchExpressions.every(matches));
  return selector && affinity;
}

describe('chart: agent.selfFence', () => {
  const values = join(CHART_CI_DIR, 'everything-on-values.yaml');

  it('renders the self-fence DaemonSet on exactly the opted-in nodes and the plain agent on the others', async () => {
    const objects = helmTemplate([values], [], { namespace: 'ops', releaseName: 'nodeheal' });
    const plain = template(get(objects, 'DaemonSet', 'nodeheal-agent'));
    const fencing = template(get(objects, 'DaemonSet', 'nodeheal-agent-self-fence'));
    expect(plain.spec.dnsPolicy).toBe('Default');
    expect(fencing.spec.dnsPolicy).toBe('ClusterFirstWithHostNet');
    const db = { 'nodeheal.io/pool': 'db', 'topology.kubernetes.io/zone': 'zone-a' };
    const linux = { 'kubernetes.io/os': 'linux' };
    const nodes: [Record<string, string>, 'plain' | 'fencing' | 'none'][] = [
      [{ ...linux, ...db }, 'fencing'],
      [{ ...linux, ...db, extra: 'x' }, 'fencing'],
      [{ ...linux, 'nodeheal.io/pool': 'db' }, 'plain'], // one pair missing
      [{ ...linux, 'nodeheal.io/pool': 'db', 'topology.kubernetes.io/zone': 'zone-b' }, 'plain'],
      [{ ...linux, 'nodeheal.io/pool': 'web', 'topology.kubernetes.io/zone': 'zone-a' }, 'plain'],
      [linux, 'plain'],
      [db, 'none'], // agent.nodeSelector still applies to both
      [{}, 'none'],
    ];
    for (const [labels, expected] of nodes) {
      const on = [schedulable(plain.spec, labels), schedulable(fencing.spec, labels)];
      expect(on, JSON.stringify(labels)).toEqual([expected === 'plain', expected === 'fencing']);
    }

    // The headless Service selects the pods of both DaemonSets, on the agent port.
    const service = get(objects, 'Service', 'nodeheal-agent-peers');
    const spec = service.spec as {
      clusterIP: string;
      publishNotReadyAddresses: boolean;
      selector: Record<string, string>;
      ports: { port: number }[];
    };
    expect(spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });
    expect(spec.ports).toEqual([expect.objectContaining({ port: 9180, targetPort: 9180 })]);
    for (const t of [plain, fencing]) {
      expect(t.metadata.labels).toMatchObject(spec.selector);
    }
    expect(service.metadata.labels).not.toHaveProperty('nodeheal.io/metrics');

    // The self-fence agent's env is accepted by the agent, and names the Service.
    const agentEnv = envOf(get(objects, 'DaemonSet', 'nodeheal-agent-self-fence'), {
      NODE_NAME: 'db-1',
      NODE_IP: '10.0.0.5',
    });
    const config = await loadAgentConfig({}, agentEnv);
    expect(config.selfFence).toMatchObject({
      settings: {
        unreachableSeconds: 45,
        checkIntervalSeconds: 3,
        probeTimeoutSeconds: 1,
        rebootSeconds: 90,
      },
      apiserver: { host: '10.96.0.1', port: 443 },
      peersDns: 'nodeheal-agent-peers.ops.svc.cluster.local.',
    });
    expect(
      (
        await loadAgentConfig(
          {},
          envOf(get(objects, 'DaemonSet', 'nodeheal-agent'), {
            NODE_NAME: 'web-1',
            NODE_IP: '10.0.0.6',
          }),
        )
      ).selfFence,
    ).toBeUndefined();

    // The worker's fence: the same nodes, and the safe time nodeheal's own formula gives.
    const worker = workerEnvSchema.parse(envOf(get(objects, 'Deployment', 'nodeheal-worker')));
    expect(worker.NODEHEAL_SELF_FENCE).toEqual({
      selector: { ...linux, ...db },
      safeTimeSeconds: selfFenceSafeTimeSeconds(config.selfFence!.settings),
    });
    expect(worker.NODEHEAL_SELF_FENCE!.safeTimeSeconds).toBe(45 + 3 + 2 * 1 + 90);
  });

  it('renders the defaults with the documented safe time (129 s) in the worker env and the NOTES', () => {
    const set = [
      'secrets.existingWebhookSecret=w',
      'secrets.existingAgentSecret=a',
      'agent.selfFence.enabled=true',
      'agent.selfFence.nodeSelector.nodeheal\\.io/pool=db',
    ];
    const objects = helmTemplate([], set);
    const fence = selfFenceWorkerSchema.parse(
      JSON.parse(envOf(get(objects, 'Deployment', 'nodeheal-worker')).NODEHEAL_SELF_FENCE!),
    );
    expect(fence).toEqual({ selector: { 'nodeheal.io/pool': 'db' }, safeTimeSeconds: 129 });
    expect(fence.safeTimeSeconds).toBe(selfFenceSafeTimeSeconds(selfFenceSettingsSchema.parse({})));
    const install = runHelm([
      'install',
      'nodeheal',
      CHART_DIR,
      '--dry-run=client',
      ...set.flatMap((v) => ['--set', v]),
    ]);
    expect(install.status, install.stderr).toBe(0);
    const notes = install.stdout.slice(install.stdout.indexOf('NOTES:'));
    expect(notes).toContain('Safe time: 129 s');
    expect(notes).toContain('{"nodeheal.io/pool":"db"}');
  });

  it.each([
    [['agent.selfFence.enabled=true'], /agent\.selfFence\.nodeSelector is required/],
    [
      [
        'agent.selfFence.enabled=true',
        'agent.selfFence.nodeSelector.pool=db',
        'agent.selfFence.probeTimeoutSeconds=6',
      ],
      /probeTimeoutSeconds must be at most/,
    ],
    [
      [
        'agent.selfFence.enabled=true',
        'agent.selfFence.nodeSelector.pool=db',
        'agent.selfFence.unreachableSeconds=9',
      ],
      /at least twice/,
    ],
    [
      [
        'agent.selfFence.enabled=true',
        'agent.selfFence.nodeSelector.pool=db',
        'agent.nodeSelector.pool=web',
      ],
      /contradicts agent\.nodeSelector/,
    ],
    [
      [
        'agent.selfFence.enabled=true',
        'agent.selfFence.nodeSelector.pool=db',
        'agent.catalog.commands.reboot=null',
      ],
      /needs the host command reboot/,
    ],
    [['agent.selfFence.unreachableSecond=9'], /additional propert.*'unreachableSecond'/],
  ])('refuses %j', (set, message) => {
    const result = helmTemplateResult(
      [],
      ['secrets.existingWebhookSecret=w', 'secrets.existingAgentSecret=a', ...set],
    );
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(message);
  });
});

// The local stack: real servers on loopback, each with a free port, its own directory and log,
// readiness awaited, and torn down on stop, on exit, on Ctrl-C, and (attached mode) even when
// the parent is SIGKILLed.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { auditFlags, writeAuditPolicy } from './audit.ts';
import { generatePki, writeKubeconfig, type Pki } from './certs.ts';
import { debianBinaries, ensureDebianPackages } from './debian.ts';
import { binaryPath, ensureGoBinaries, type GoComponentName } from './go-build.ts';
import {
  writeAlertmanagerConfig,
  writePrometheusConfig,
  type WebhookTarget,
} from './monitoring-config.ts';
import { repoRoot } from './paths.ts';
import { freePort } from './ports.ts';
import {
  isAlive,
  killGroupNow,
  ManagedProcess,
  stopPid,
  type ProcessSpec,
  type StackMode,
} from './process.ts';
import { say } from './say.ts';
import { tlsGet } from './tls-get.ts';
import { httpGet, waitFor } from './wait.ts';

/** Parts a caller can ask for; dependencies are added (monitoring needs kube). */
export type StackPart = 'redis' | 'kube' | 'monitoring';
export const allParts: StackPart[] = ['redis', 'kube', 'monitoring'];

export interface StackOptions {
  mode: StackMode;
  parts?: StackPart[];
  /** 2 starts an HA pair of Alertmanagers gossiping with each other. */
  alertmanagers?: 1 | 2;
  /** Debian's Alertmanager package, or the current release built from Go. */
  alertmanagerFlavor?: 'debian' | 'upstream';
  webhook?: WebhookTarget;
  /** How long a silent node stays Ready before kube-controller-manager marks it (default 16 s). */
  nodeMonitorGracePeriodSeconds?: number;
  /**
   * KWOK's node Lease duration (default 8 s, renewed every quarter of it). Large pools use a
   * kubelet's 40 s: 1,000 nodes renewing every 2 s would be 500 writes/s on two cores.
   */
  nodeLeaseDurationSeconds?: number;
  /**
   * Where the apiserver appends its audit log of nodeheal's ServiceAccounts (see audit.ts);
   * outside the run dir so that it outlives the stack. Default: `<runDir>/kube-apiserver/audit.log`.
   */
  auditLog?: string;
}

/** Everything a client needs to reach the stack; written to state.json in daemon mode. */
export interface StackInfo {
  runDir: string;
  mode: StackMode;
  startedAt: string;
  parts: StackPart[];
  pids: Record<string, number>;
  logs: Record<string, string>;
  redisUrl?: string;
  redisPort?: number;
  etcdUrl?: string;
  apiserverUrl?: string;
  /** Audit log of nodeheal's ServiceAccounts' requests (JSON lines). */
  auditLog?: string;
  kubeconfig?: string;
  kubectl?: string;
  caCert?: string;
  kwokUrl?: string;
  ksmUrl?: string;
  prometheusUrl?: string;
  alertmanagerUrls: string[];
  alertmanagerConfig?: string;
  alertmanagerFlavor?: 'debian' | 'upstream';
  promtool: string;
}

export function goComponentsFor(parts: StackPart[], options: Partial<StackOptions> = {}) {
  const names: GoComponentName[] = [];
  if (parts.includes('kube')) names.push('etcd', 'kube', 'kwok');
  if (parts.includes('monitoring')) names.push('ksm');
  if (options.alertmanagerFlavor === 'upstream') names.push('alertmanager');
  return names;
}

function withDependencies(parts: StackPart[]): StackPart[] {
  const set = new Set(parts);
  if (set.has('monitoring')) set.add('kube');
  return allParts.filter((p) => set.has(p));
}

export class Stack {
  readonly processes: ManagedProcess[] = [];
  readonly info: StackInfo;
  private stopped = false;
  private readonly onExit = () => this.killNow();
  private readonly onSignal = (signal: NodeJS.Signals) => {
    this.killNow();
    // Let the process die of the signal as it would have without us, unless someone else
    // (vitest, a CLI) also listens and will exit by itself.
    if (process.listenerCount(signal) === 1) {
      process.removeListener(signal, this.onSignal);
      process.kill(process.pid, signal);
    }
  };

  readonly options: StackOptions;

  constructor(options: StackOptions, runDir: string) {
    this.options = options;
    this.info = {
      runDir,
      mode: options.mode,
      startedAt: new Date().toISOString(),
      parts: withDependencies(options.parts ?? allParts),
      pids: {},
      logs: {},
      alertmanagerUrls: [],
      promtool: debianBinaries.promtool.path,
    };
    if (options.mode === 'attached') {
      process.on('exit', this.onExit);
      process.on('SIGINT', this.onSignal);
      process.on('SIGTERM', this.onSignal);
      process.on('SIGHUP', this.onSignal);
    }
  }

  /** Environment variables for clients of this stack (also printed by `stack env`). */
  env(): Record<string, string> {
    return stackEnv(this.info);
  }

  start(spec: Omit<ProcessSpec, 'logFile'> & { dir: string }): ManagedProcess {
    mkdirSync(spec.dir, { recursive: true });
    const logFile = join(spec.dir, `${spec.name}.log`);
    const proc = new ManagedProcess({ ...spec, logFile }, this.info.runDir, this.options.mode);
    this.processes.push(proc);
    this.info.pids[spec.name] = proc.pid;
    this.info.logs[spec.name] = logFile;
    return proc;
  }

  /**
   * Stops every process (newest first, so clients go before their servers) and removes the run
   * dir, unless `keepLogs` asks to keep it for a failure report.
   */
  async stop(options: { keepLogs?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const proc of [...this.processes].reverse()) await proc.stop();
    this.detach();
    if (options.keepLogs) say(`logs kept in ${this.info.runDir}`);
    else rmSync(this.info.runDir, { recursive: true, force: true });
  }

  /** Forgets the exit handlers: used once a daemonised stack is handed over to state.json. */
  detach(): void {
    process.removeListener('exit', this.onExit);
    process.removeListener('SIGINT', this.onSignal);
    process.removeListener('SIGTERM', this.onSignal);
    process.removeListener('SIGHUP', this.onSignal);
  }

  private killNow(): void {
    if (this.stopped) return;
    for (const proc of this.processes) killGroupNow(proc.pid);
  }
}

export function stackEnv(info: StackInfo): Record<string, string> {
  const env: Record<string, string> = {};
  if (info.kubeconfig) env.KUBECONFIG = info.kubeconfig;
  if (info.redisUrl) env.NODEHEAL_REDIS_URL = info.redisUrl;
  if (info.prometheusUrl) env.PROMETHEUS_URL = info.prometheusUrl;
  if (info.alertmanagerUrls[0]) env.ALERTMANAGER_URL = info.alertmanagerUrls[0];
  if (info.alertmanagerUrls.length > 1) env.ALERTMANAGER_URLS = info.alertmanagerUrls.join(',');
  if (info.kubectl) env.KUBECTL = info.kubectl;
  env.PROMTOOL = info.promtool;
  try {
    env.HELM = binaryPath('helm', 'helm');
  } catch {
    // Not built yet (node test/stack/prepare.ts builds it; test helpers build it on demand).
  }
  return env;
}

/** Installs and builds what is missing, then starts the requested parts and waits for them. */
export async function startStack(options: StackOptions): Promise<Stack> {
  const parts = withDependencies(options.parts ?? allParts);
  ensureDebianPackages();
  await ensureGoBinaries(goComponentsFor(parts, options));
  const runDir = mkdtempSync(join(tmpdir(), 'nodeheal-stack-'));
  const stack = new Stack(options, runDir);
  const started = Date.now();
  try {
    if (parts.includes('redis')) await startRedis(stack);
    if (parts.includes('kube')) await startKube(stack);
    if (parts.includes('monitoring')) await startMonitoring(stack);
  } catch (error) {
    await stack.stop({ keepLogs: true });
    throw error;
  }
  say(`stack ready in ${((Date.now() - started) / 1000).toFixed(1)} s (${runDir})`);
  return stack;
}

/**
 * A copy of queue/redis.conf in `dir`, for a Redis to start from: Redis rewrites its config file
 * on `CONFIG REWRITE`, which Sentinel sends on every failover, and the repository's file must
 * never be what it rewrites.
 */
export function redisConfigCopy(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const copy = join(dir, 'redis.conf');
  copyFileSync(join(repoRoot, 'queue', 'redis.conf'), copy);
  return copy;
}

/** Starts a Redis (with queue/redis.conf) in `stack`; a test may start a private one to stop at will. */
export async function startRedis(stack: Stack, name = 'redis'): Promise<ManagedProcess> {
  const port = await freePort();
  const dir = join(stack.info.runDir, name);
  const proc = stack.start({
    name,
    dir,
    command: debianBinaries.redisServer.path,
    args: [redisConfigCopy(dir)]
      .concat(['--port', String(port), '--bind', '127.0.0.1', '--dir', dir])
      .concat(['--daemonize', 'no', '--logfile', '""', '--save', '""']),
  });
  await waitFor('redis', () => redisPing(port), {
    timeoutMs: 15_000,
    isDead: () => proc.deathReason(),
  });
  stack.info.redisPort = port;
  stack.info.redisUrl = `redis://127.0.0.1:${port}`;
  return proc;
}

/**
 * Restarts a Redis started by `startRedis` on the same port and directory: its AOF brings back
 * every acknowledged write, as after a crash and restart in production.
 */
export async function restartRedis(stack: Stack, proc: ManagedProcess): Promise<ManagedProcess> {
  await proc.stop();
  const again = stack.start({ ...proc.spec, dir: dirname(proc.spec.logFile) });
  const port = Number(proc.spec.args[proc.spec.args.indexOf('--port') + 1]);
  await waitFor('redis (restarted)', () => redisPing(port), {
    timeoutMs: 15_000,
    isDead: () => again.deathReason(),
  });
  return again;
}

/**
 * Starts a process of `stack` again (stopping it first if it still runs) with the same command,
 * arguments, port and directory, as after an outage; resolves once `ready` answers true.
 */
export async function restartProcess(
  stack: Stack,
  proc: ManagedProcess,
  ready: () => Promise<true | undefined>,
): Promise<ManagedProcess> {
  await proc.stop();
  const again = stack.start({ ...proc.spec, dir: dirname(proc.spec.logFile) });
  await waitFor(`${proc.spec.name} (restarted)`, ready, {
    timeoutMs: 90_000,
    isDead: () => again.deathReason(),
  });
  return again;
}

/** A stack with no process yet, for tests that start private servers (a Redis to stop, extra Alertmanagers). */
export function emptyStack(): Stack {
  return new Stack(
    { mode: 'attached', parts: [] },
    mkdtempSync(join(tmpdir(), 'nodeheal-private-')),
  );
}

/** RESP PING over a raw socket: readiness needs no client library. */
export async function redisPing(port: number): Promise<true | undefined> {
  return await new Promise((resolvePing) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolvePing(ok ? true : undefined);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
    socket.connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
  });
}

async function startKube(stack: Stack): Promise<void> {
  const runDir = stack.info.runDir;
  const pki = generatePki(join(runDir, 'pki'));
  // etcd
  const etcdPort = await freePort();
  const etcdPeerPort = await freePort();
  const etcdDir = join(runDir, 'etcd');
  const etcdUrl = `http://127.0.0.1:${etcdPort}`;
  const etcd = stack.start({
    name: 'etcd',
    dir: etcdDir,
    command: binaryPath('etcd', 'etcd'),
    args: [
      '--name=nodeheal',
      `--data-dir=${join(etcdDir, 'data')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-cluster=nodeheal=http://127.0.0.1:${etcdPeerPort}`,
      // Test data is thrown away with the run: fsync would only slow every write down.
      '--unsafe-no-fsync',
      '--log-level=warn',
    ],
  });
  await waitFor(
    'etcd',
    async () => ((await httpGet(`${etcdUrl}/health`))?.includes('"true"') ? true : undefined),
    { timeoutMs: 30_000, isDead: () => etcd.deathReason() },
  );
  stack.info.etcdUrl = etcdUrl;

  // kube-apiserver
  const apiPort = await freePort();
  const apiserverUrl = `https://127.0.0.1:${apiPort}`;
  const apiDir = join(runDir, 'kube-apiserver');
  mkdirSync(apiDir, { recursive: true });
  const auditPolicy = join(apiDir, 'audit-policy.yaml');
  writeAuditPolicy(auditPolicy);
  const auditLog = stack.options.auditLog ?? join(apiDir, 'audit.log');
  mkdirSync(dirname(auditLog), { recursive: true });
  const apiserver = stack.start({
    name: 'kube-apiserver',
    dir: apiDir,
    command: binaryPath('kube', 'kube-apiserver'),
    args: [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--cert-dir=${apiDir}`,
      `--tls-cert-file=${pki.serverCert}`,
      `--tls-private-key-file=${pki.serverKey}`,
      `--client-ca-file=${pki.caCert}`,
      '--authorization-mode=RBAC',
      '--anonymous-auth=false',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${pki.saPub}`,
      `--service-account-signing-key-file=${pki.saKey}`,
      '--service-cluster-ip-range=10.0.0.0/24',
      // Loopback addresses are not valid Endpoints; there is no in-cluster client to route.
      '--endpoint-reconciler-type=none',
      // Real clusters allow privileged pods (the node agent is one); the default refuses them.
      '--allow-privileged=true',
      '--profiling=false',
      ...auditFlags(auditPolicy, auditLog),
      '--v=1',
    ],
  });
  stack.info.auditLog = auditLog;
  await waitFor(
    'kube-apiserver',
    async () => {
      const res = await tlsGet(`${apiserverUrl}/readyz`, { ca: pki.caCert, ...pki.clients.admin });
      return res.status === 200 ? true : undefined;
    },
    { timeoutMs: 90_000, isDead: () => apiserver.deathReason() },
  );
  stack.info.apiserverUrl = apiserverUrl;
  stack.info.caCert = pki.caCert;
  const kubeconfig = join(runDir, 'admin.kubeconfig');
  writeKubeconfig(kubeconfig, apiserverUrl, pki, 'admin');
  stack.info.kubeconfig = kubeconfig;
  stack.info.kubectl = binaryPath('kube', 'kubectl');

  await Promise.all([
    startControllerManager(stack, pki),
    startScheduler(stack, pki),
    startKwok(stack, pki),
  ]);
}

async function startSecureComponent(
  stack: Stack,
  pki: Pki,
  name: 'kube-controller-manager' | 'kube-scheduler',
  extraArgs: string[],
): Promise<void> {
  const dir = join(stack.info.runDir, name);
  mkdirSync(dir, { recursive: true });
  const kubeconfig = join(dir, 'kubeconfig');
  writeKubeconfig(kubeconfig, stack.info.apiserverUrl ?? '', pki, name);
  const port = await freePort();
  const proc = stack.start({
    name,
    dir,
    command: binaryPath('kube', name),
    args: [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${port}`,
      '--leader-elect=false',
      '--v=1',
      ...extraArgs,
    ],
  });
  await waitFor(
    name,
    async () => {
      const res = await tlsGet(`https://127.0.0.1:${port}/healthz`, { insecure: true });
      return res.status === 200 ? true : undefined;
    },
    { timeoutMs: 60_000, isDead: () => proc.deathReason() },
  );
}

async function startControllerManager(stack: Stack, pki: Pki): Promise<void> {
  const grace = stack.options.nodeMonitorGracePeriodSeconds ?? 16;
  await startSecureComponent(stack, pki, 'kube-controller-manager', [
    `--cert-dir=${join(stack.info.runDir, 'kube-controller-manager')}`,
    '--use-service-account-credentials=true',
    `--service-account-private-key-file=${pki.saKey}`,
    `--root-ca-file=${pki.caCert}`,
    // Short node monitoring so that a stopped heartbeat turns into NotReady within seconds.
    '--node-monitor-period=2s',
    `--node-monitor-grace-period=${grace}s`,
  ]);
}

async function startScheduler(stack: Stack, pki: Pki): Promise<void> {
  await startSecureComponent(stack, pki, 'kube-scheduler', []);
}

/** KWOK label that marks a node as simulated and alive; any other value freezes it. */
export const kwokManagedLabel = 'kwok.x-k8s.io/node';
export const kwokManagedValue = 'fake';

async function startKwok(stack: Stack, pki: Pki): Promise<void> {
  const dir = join(stack.info.runDir, 'kwok');
  mkdirSync(dir, { recursive: true });
  const kubeconfig = join(dir, 'kubeconfig');
  writeKubeconfig(kubeconfig, stack.info.apiserverUrl ?? '', pki, 'kwok');
  const port = await freePort();
  const proc = stack.start({
    name: 'kwok',
    dir,
    command: binaryPath('kwok', 'kwok'),
    args: [
      `--kubeconfig=${kubeconfig}`,
      `--config=${join(repoRoot, 'test', 'stack', 'kwok', 'stages.yaml')}`,
      '--manage-all-nodes=false',
      `--manage-nodes-with-label-selector=${kwokManagedLabel}=${kwokManagedValue}`,
      // Lease renewed every 2 s: a node that stops renewing is noticed within the grace period.
      `--node-lease-duration-seconds=${stack.options.nodeLeaseDurationSeconds ?? 8}`,
      '--cidr=10.244.0.1/16',
      '--node-ip=10.200.0.1',
      `--server-address=127.0.0.1:${port}`,
    ],
    env: { HOME: dir },
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor('kwok', async () => ((await httpGet(`${url}/healthz`)) ? true : undefined), {
    timeoutMs: 30_000,
    isDead: () => proc.deathReason(),
  });
  stack.info.kwokUrl = url;
}

async function startMonitoring(stack: Stack): Promise<void> {
  const runDir = stack.info.runDir;
  const pki = { dir: join(runDir, 'pki') };
  // kube-state-metrics, limited to what nodeheal's rules read.
  const ksmDir = join(runDir, 'kube-state-metrics');
  mkdirSync(ksmDir, { recursive: true });
  const ksmKubeconfig = join(ksmDir, 'kubeconfig');
  writeKubeconfig(
    ksmKubeconfig,
    stack.info.apiserverUrl ?? '',
    readPki(pki.dir),
    'kube-state-metrics',
  );
  const ksmPort = await freePort();
  const ksmTelemetry = await freePort();
  const ksm = stack.start({
    name: 'kube-state-metrics',
    dir: ksmDir,
    command: binaryPath('ksm', 'kube-state-metrics'),
    args: [
      `--kubeconfig=${ksmKubeconfig}`,
      '--host=127.0.0.1',
      `--port=${ksmPort}`,
      '--telemetry-host=127.0.0.1',
      `--telemetry-port=${ksmTelemetry}`,
      '--resources=nodes,pods,poddisruptionbudgets,replicasets,daemonsets,deployments,leases',
    ],
  });
  const ksmUrl = `http://127.0.0.1:${ksmPort}`;
  await waitFor(
    'kube-state-metrics',
    async () => ((await httpGet(`${ksmUrl}/healthz`)) !== undefined ? true : undefined),
    { timeoutMs: 60_000, isDead: () => ksm.deathReason() },
  );
  stack.info.ksmUrl = ksmUrl;

  const flavor = stack.options.alertmanagerFlavor ?? 'debian';
  const alertmanagers = await startAlertmanagers(stack, {
    flavor,
    count: stack.options.alertmanagers ?? 1,
    webhook: stack.options.webhook,
  });
  stack.info.alertmanagerUrls = alertmanagers.urls;
  stack.info.alertmanagerConfig = alertmanagers.config;
  stack.info.alertmanagerFlavor = flavor;
  const webPorts = alertmanagers.urls.map((u) => Number(new URL(u).port));

  // Prometheus: scrapes kube-state-metrics, evaluates alert-rules/prometheus/*.yaml.
  const promPort = await freePort();
  const promDir = join(runDir, 'prometheus');
  mkdirSync(promDir, { recursive: true });
  const promConfig = join(promDir, 'prometheus.yml');
  writePrometheusConfig(
    promConfig,
    `127.0.0.1:${ksmPort}`,
    webPorts.map((p) => `127.0.0.1:${p}`),
  );
  const prom = stack.start({
    name: 'prometheus',
    dir: promDir,
    command: debianBinaries.prometheus.path,
    args: [
      `--config.file=${promConfig}`,
      `--storage.tsdb.path=${join(promDir, 'data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
      '--web.enable-lifecycle',
    ],
  });
  const promUrl = `http://127.0.0.1:${promPort}`;
  await waitFor(
    'prometheus',
    async () => ((await httpGet(`${promUrl}/-/ready`)) ? true : undefined),
    {
      timeoutMs: 30_000,
      isDead: () => prom.deathReason(),
    },
  );
  stack.info.prometheusUrl = promUrl;
}

export interface AlertmanagerSet {
  urls: string[];
  config: string;
  processes: ManagedProcess[];
}

/**
 * Starts `count` Alertmanagers (2: an HA pair gossiping on their own cluster ports) that route
 * every alert to `webhook`. Debian's package, or the current release built from Go.
 */
export async function startAlertmanagers(
  stack: Stack,
  options: { flavor: 'debian' | 'upstream'; count: 1 | 2; webhook?: WebhookTarget; name?: string },
): Promise<AlertmanagerSet> {
  const prefix = options.name ?? 'alertmanager';
  const config = join(stack.info.runDir, `${prefix}.yml`);
  writeAlertmanagerConfig(config, options.webhook);
  const webPorts = await Promise.all(Array.from({ length: options.count }, () => freePort()));
  const clusterPorts = await Promise.all(Array.from({ length: options.count }, () => freePort()));
  const processes = webPorts.map((webPort, i) => {
    const dir = join(stack.info.runDir, `${prefix}-${i}`);
    const clusterArgs =
      options.count === 1
        ? ['--cluster.listen-address=']
        : [
            `--cluster.listen-address=127.0.0.1:${clusterPorts[i]}`,
            `--cluster.advertise-address=127.0.0.1:${clusterPorts[i]}`,
            ...clusterPorts.filter((_, j) => j !== i).map((p) => `--cluster.peer=127.0.0.1:${p}`),
            '--cluster.settle-timeout=2s',
            '--cluster.pushpull-interval=2s',
            '--cluster.gossip-interval=100ms',
          ];
    return stack.start({
      name: `${prefix}-${i}`,
      dir,
      command:
        options.flavor === 'debian'
          ? debianBinaries.alertmanager.path
          : binaryPath('alertmanager', 'alertmanager'),
      args: [
        `--config.file=${config}`,
        `--storage.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${webPort}`,
        ...clusterArgs,
      ],
    });
  });
  await Promise.all(
    webPorts.map((port, i) =>
      waitFor(
        `${prefix}-${i}`,
        async () => ((await httpGet(`http://127.0.0.1:${port}/-/ready`)) ? true : undefined),
        { timeoutMs: 30_000, isDead: () => processes[i]?.deathReason() },
      ),
    ),
  );
  return { urls: webPorts.map((p) => `http://127.0.0.1:${p}`), config, processes };
}

function readPki(dir: string): Pki {
  const f = (n: string) => join(dir, n);
  const client = (n: string) => ({ cert: f(`${n}.crt`), key: f(`${n}.key`) });
  return {
    dir,
    caCert: f('ca.crt'),
    caKey: f('ca.key'),
    serverCert: f('apiserver.crt'),
    serverKey: f('apiserver.key'),
    saKey: f('sa.key'),
    saPub: f('sa.pub'),
    clients: {
      admin: client('admin'),
      'kube-controller-manager': client('kube-controller-manager'),
      'kube-scheduler': client('kube-scheduler'),
      kwok: client('kwok'),
      'kube-state-metrics': client('kube-state-metrics'),
    },
  };
}

/** Points Alertmanagers sharing `configFile` at a new webhook receiver and reloads them. */
export async function configureAlertmanager(
  configFile: string,
  urls: string[],
  target: WebhookTarget | undefined,
) {
  writeAlertmanagerConfig(configFile, target);
  for (const url of urls) {
    const res = await fetch(`${url}/-/reload`, { method: 'POST' });
    if (!res.ok) throw new Error(`reloading ${url} failed: ${res.status} ${await res.text()}`);
  }
}

/** Stops the processes of a stack recorded in a state file (daemon mode). */
export async function stopRecordedStack(info: StackInfo): Promise<void> {
  const names = Object.keys(info.pids).reverse();
  for (const name of names) {
    const pid = info.pids[name];
    if (pid !== undefined && isAlive(pid)) await stopPid(pid);
  }
  rmSync(info.runDir, { recursive: true, force: true });
}

export function writeState(path: string, info: StackInfo): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, JSON.stringify(info, null, 2) + '\n');
}

export function readState(path: string): StackInfo | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as StackInfo;
  } catch {
    return undefined;
  }
}

// A small kubelet for nodeheal's own workloads: reads each Deployment's pod template from the
// apiserver (as Helm created it) and runs its containers with podman from the local image, with
// the template's command, args, env, volumes and securityContext, and the in-cluster identity
// Kubernetes would give the pod (ServiceAccount token, CA, namespace, KUBERNETES_SERVICE_*).
//
// Differences from a kubelet, on purpose: every pod shares the host's network namespace (the
// stack listens on loopback), so one replica per Deployment runs and ports come from the chart's
// values; resource limits are not enforced (this host's cgroup layout); no restarts.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type {
  V1Container,
  V1PodSpec,
  V1PodTemplateSpec,
  V1Probe,
  V1SecurityContext,
} from '@kubernetes/client-node';
import type { KubeClients } from '../helpers/kube.ts';
import { podman, podmanEnv } from '../podman.ts';
import type { StackInfo } from '../stack.ts';
import { sleep } from '../wait.ts';
import {
  containerEnv,
  expandVars,
  PodConfigError,
  serviceLinkEnv,
  type PodIdentity,
} from './pod-env.ts';
import { materialiseVolumes, mountArgs, serviceAccountVolume } from './pod-volumes.ts';

/** Label on every container the runner starts, so a run's leftovers can be found and removed. */
export const RUNNER_LABEL = 'io.nodeheal.test.pod-runner';

export interface RunningContainer {
  pod: string;
  container: string;
  /** podman's name for it. */
  name: string;
  readinessProbe?: V1Probe;
  ports: Map<string, number>;
}

export interface RunningPod {
  name: string;
  workload: string;
  containers: RunningContainer[];
  /** What the kubelet's readiness probe would say now. */
  ready: () => Promise<boolean>;
  logs: () => string;
  /** SIGTERM, then SIGKILL after the pod's grace period; the containers are removed. */
  stop: () => void;
}

/** podman arguments for a container's securityContext merged over the pod's. */
export function securityArgs(spec: V1PodSpec, container: V1Container, imageUser: string): string[] {
  const pod = spec.securityContext ?? {};
  const c: V1SecurityContext = container.securityContext ?? {};
  const args: string[] = [];
  const uid = c.runAsUser ?? pod.runAsUser;
  const gid = c.runAsGroup ?? pod.runAsGroup;
  const runAsNonRoot = c.runAsNonRoot ?? pod.runAsNonRoot;
  if (runAsNonRoot) {
    // The kubelet's rule: the user must be known to be non-zero, numerically.
    const effective = uid ?? (/^\d+/.test(imageUser) ? Number(imageUser.split(':')[0]) : undefined);
    if (effective === undefined || effective === 0) {
      throw new PodConfigError(
        `container ${container.name} has runAsNonRoot and its user (${imageUser || 'root'}) is ` +
          'not a non-zero UID',
      );
    }
  }
  if (uid !== undefined) args.push('--user', gid !== undefined ? `${uid}:${gid}` : String(uid));
  if (pod.fsGroup !== undefined) args.push('--group-add', String(pod.fsGroup));
  for (const g of pod.supplementalGroups ?? []) args.push('--group-add', String(g));
  // Kubernetes gives a read-only root no writable tmpfs: podman would add /tmp, /run, /var/tmp.
  if (c.readOnlyRootFilesystem) args.push('--read-only', '--read-only-tmpfs=false');
  if (c.allowPrivilegeEscalation === false) args.push('--security-opt', 'no-new-privileges');
  if (c.privileged) args.push('--privileged');
  for (const cap of c.capabilities?.drop ?? []) args.push('--cap-drop', cap);
  for (const cap of c.capabilities?.add ?? []) args.push('--cap-add', cap);
  const seccomp = c.seccompProfile?.type ?? pod.seccompProfile?.type;
  if (seccomp === 'Unconfined') args.push('--security-opt', 'seccomp=unconfined');
  if (spec.hostPID) args.push('--pid', 'host');
  return args;
}

async function probeOnce(probe: V1Probe, ports: Map<string, number>, name: string) {
  const port = (p: number | string | undefined) =>
    typeof p === 'number' ? p : /^\d+$/.test(String(p)) ? Number(p) : ports.get(String(p));
  if (probe.httpGet) {
    const p = port(probe.httpGet.port);
    if (p === undefined) throw new PodConfigError(`probe port ${String(probe.httpGet.port)}`);
    const scheme = (probe.httpGet.scheme ?? 'HTTP').toLowerCase();
    const timeout = (probe.timeoutSeconds ?? 1) * 1000;
    try {
      const res = await fetch(`${scheme}://127.0.0.1:${p}${probe.httpGet.path ?? '/'}`, {
        signal: AbortSignal.timeout(timeout),
      });
      return res.status >= 200 && res.status < 400;
    } catch {
      return false;
    }
  }
  if (probe.tcpSocket) {
    const p = port(probe.tcpSocket.port);
    return await new Promise<boolean>((resolve) => {
      const socket = connect(p ?? 0, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
  }
  if (probe.exec) {
    try {
      podman(['exec', name, ...(probe.exec.command ?? [])]);
      return true;
    } catch {
      return false;
    }
  }
  throw new PodConfigError('probe without httpGet, tcpSocket or exec');
}

function containerRunning(name: string): boolean {
  try {
    return podman(['inspect', '--format', '{{.State.Running}}', name]).trim() === 'true';
  } catch {
    return false;
  }
}

export interface PodRunnerOptions {
  /** Admin clients: the runner plays the kubelet, which may read the pod's Secrets. */
  kube: KubeClients;
  stack: StackInfo;
  namespace: string;
  /** Which Deployments: a label selector (e.g. `app.kubernetes.io/instance=nodeheal`). */
  selector: string;
  /** A run id, put in a label on each container (leftovers are removed by it). */
  runId: string;
}

/** Runs one pod of a pod template with podman. */
export async function runPodTemplate(
  options: PodRunnerOptions,
  workload: string,
  template: V1PodTemplateSpec,
): Promise<RunningPod> {
  const spec = template.spec;
  if (!spec) throw new PodConfigError(`${workload}: pod template without spec`);
  const podName = `${workload}-${randomUUID().slice(0, 5)}`;
  const dir = mkdtempSync(join(tmpdir(), `nodeheal-pod-${podName}-`));
  const api = new URL(options.stack.apiserverUrl ?? '');
  const id: PodIdentity = {
    namespace: options.namespace,
    podName,
    podUid: randomUUID(),
    nodeName: 'pod-runner',
    podIp: '127.0.0.1',
    metadata: { ...template.metadata, name: podName, namespace: options.namespace },
  };
  const volumes = await materialiseVolumes(options.kube, spec, id, dir);
  const sa = await serviceAccountVolume(options.kube, spec, id, dir, options.stack.caCert ?? '');
  const links = await serviceLinkEnv(options.kube, spec, options.namespace, {
    host: api.hostname,
    port: Number(api.port),
  });
  const containers: RunningContainer[] = [];
  /** The containers' output, kept once they are removed. */
  let kept: string | undefined;
  for (const container of spec.containers) {
    if (!container.image) throw new PodConfigError(`${workload}/${container.name}: no image`);
    const imageUser = podman([
      'image',
      'inspect',
      '--format',
      '{{.Config.User}}',
      container.image,
    ]).trim();
    const env = await containerEnv(options.kube, container, spec, id, links);
    const name = `nh-${podName}-${container.name}`;
    const args = ['run', '--detach', '--name', name, '--network', 'host', '--pull', 'never'];
    args.push('--label', `${RUNNER_LABEL}=${options.runId}`, '--hostname', podName);
    args.push(...securityArgs(spec, container, imageUser));
    args.push(...mountArgs(container, volumes, sa));
    for (const [k, v] of Object.entries(env)) args.push('--env', `${k}=${v}`);
    if (container.workingDir) args.push('--workdir', container.workingDir);
    // command replaces the image's ENTRYPOINT, args its CMD; both see $(VAR) expansion.
    const command = (container.command ?? []).map((a) => expandVars(a, env));
    const cmdArgs = (container.args ?? []).map((a) => expandVars(a, env));
    if (command.length > 0) args.push('--entrypoint', JSON.stringify(command));
    args.push(container.image, ...cmdArgs);
    podman(args);
    const ports = new Map<string, number>();
    for (const p of container.ports ?? []) if (p.name) ports.set(p.name, p.containerPort);
    containers.push({
      pod: podName,
      container: container.name,
      name,
      readinessProbe: container.readinessProbe,
      ports,
    });
  }
  const grace = spec.terminationGracePeriodSeconds ?? 30;
  const logs = () => {
    if (kept !== undefined) return kept;
    let output = '';
    for (const c of containers) {
      try {
        // podman logs replays the container's stdout and stderr on its own stdout and stderr.
        const res = spawnSync('podman', ['--runtime', 'runc', 'logs', c.name], {
          env: podmanEnv(),
          encoding: 'utf8',
          maxBuffer: 64 * 1024 * 1024,
        });
        if (res.status === 0) output += `${res.stdout}${res.stderr}`;
      } catch {
        // removed already
      }
    }
    return output;
  };
  return {
    name: podName,
    workload,
    containers,
    ready: async () => {
      for (const c of containers) {
        if (!containerRunning(c.name)) return false;
        if (c.readinessProbe && !(await probeOnce(c.readinessProbe, c.ports, c.name))) return false;
      }
      return true;
    },
    logs,
    stop: () => {
      for (const c of containers) {
        try {
          podman(['stop', '--time', String(grace), c.name]);
        } catch {
          // already stopped
        }
      }
      const text = logs();
      for (const c of containers) podman(['rm', '--force', '--ignore', c.name]);
      rmSync(dir, { recursive: true, force: true });
      kept = text;
    },
  };
}

/** Runs one pod of every Deployment matching the selector, as a kubelet would. */
export async function runDeployments(options: PodRunnerOptions): Promise<RunningPod[]> {
  const list = await options.kube.apps.listNamespacedDeployment({
    namespace: options.namespace,
    labelSelector: options.selector,
  });
  if (list.items.length === 0) {
    throw new PodConfigError(`no Deployment matches ${options.selector} in ${options.namespace}`);
  }
  const pods: RunningPod[] = [];
  try {
    for (const deployment of list.items) {
      pods.push(
        await runPodTemplate(options, deployment.metadata!.name!, deployment.spec!.template),
      );
    }
  } catch (error) {
    for (const pod of pods) pod.stop();
    throw error;
  }
  return pods;
}

/** Waits until every pod's readiness probe passes, as the kubelet would report Ready. */
export async function waitReady(pods: RunningPod[], timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const pod of pods) {
    while (!(await pod.ready())) {
      if (Date.now() > deadline) {
        throw new Error(
          `pod ${pod.name} not ready after ${timeoutMs} ms:\n${pod.logs().slice(-3000)}`,
        );
      }
      await sleep(250);
    }
  }
}

/** Removes every container a runner started (a crashed test's leftovers), returns their names. */
export function removeRunnerContainers(runId?: string): string[] {
  const filter = runId ? `label=${RUNNER_LABEL}=${runId}` : `label=${RUNNER_LABEL}`;
  const names = podman(['ps', '--all', '--filter', filter, '--format', '{{.Names}}'])
    .split('\n')
    .filter(Boolean);
  if (names.length > 0) podman(['rm', '--force', '--ignore', ...names]);
  return names;
}

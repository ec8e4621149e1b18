// The self-fence watchdog of the node agent: every check interval, probe the apiserver and (when
// it is not reached) the peers by TCP connect, feed what was seen to the pure decision of
// src/safety/self-fence.ts, and when it says so run the catalogued `reboot`. Nothing here needs
// credentials; a TCP handshake with the apiserver or another node's agent is the contact.
import { Resolver } from 'node:dns/promises';
import { isIP, connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { Logger } from '../log/index.ts';
import {
  INITIAL_SELF_FENCE_STATE,
  selfFenceDecision,
  selfFenceRebootFailed,
  selfFenceSafeTimeSeconds,
  type SelfFenceState,
} from '../safety/index.ts';
import type { HostPort, SelfFenceConfig } from './agent-config.ts';

/** The result of the reboot command, as far as the watchdog cares. */
export interface RebootRun {
  exitCode: number;
  output: string;
  durationMs: number;
}

export interface SelfFenceWatchdogOptions {
  config: SelfFenceConfig;
  node: string;
  /** This agent's own address: never counted as a peer (connecting to oneself always works). */
  self: HostPort;
  /** Runs the catalogued `reboot` under this id (the agent's record of commands). */
  reboot: (id: string) => Promise<RebootRun>;
  logger: Logger;
  /** Monotonic milliseconds; injectable for tests. */
  now?: () => number;
  /** TCP reachability within `timeoutMs`; injectable for tests. */
  probe?: (target: HostPort, timeoutMs: number) => Promise<boolean>;
  /** A DNS name to IP addresses within `timeoutMs` (empty when it does not resolve). */
  resolve?: (name: string, timeoutMs: number) => Promise<string[]>;
}

export interface SelfFenceWatchdog {
  /** Stops checking; resolves when a check or reboot in progress has ended. */
  stop: () => Promise<void>;
  /** The decision state (for tests and logs). */
  state: () => SelfFenceState;
}

/** True when a TCP connection to `target` is established within `timeoutMs`. */
export function tcpReachable(target: HostPort, timeoutMs: number): Promise<boolean> {
  return new Promise((resolveProbe) => {
    const socket = connect({ host: target.host, port: target.port });
    const done = (reachable: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolveProbe(reachable);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * The A and AAAA records of `name`, through the resolvers of /etc/resolv.conf (c-ares, one try,
 * bounded by `timeoutMs`; never the libuv thread pool, which a hung lookup would block).
 */
export async function resolvePeers(name: string, timeoutMs: number): Promise<string[]> {
  const resolver = new Resolver({ timeout: Math.max(1, Math.floor(timeoutMs)), tries: 1 });
  const timer = setTimeout(() => resolver.cancel(), timeoutMs);
  try {
    const answers = await Promise.allSettled([resolver.resolve4(name), resolver.resolve6(name)]);
    return answers.flatMap((a) => (a.status === 'fulfilled' ? a.value : []));
  } finally {
    clearTimeout(timer);
  }
}

const UNSPECIFIED = new Set(['0.0.0.0', '::', '']);

/** Addresses that mean "this agent": its listen address, or any local one when unspecified. */
function isSelf(target: HostPort, self: HostPort): boolean {
  if (target.port !== self.port) return false;
  if (target.host === self.host) return true;
  if (!UNSPECIFIED.has(self.host)) return false;
  return Object.values(networkInterfaces())
    .flat()
    .some((i) => i?.address === target.host);
}

function sample<T>(items: readonly T[], n: number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i -= 1) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy.slice(0, n);
}

const fmt = (t: HostPort) =>
  t.host.includes(':') ? `[${t.host}]:${t.port}` : `${t.host}:${t.port}`;

/**
 * Starts the watchdog. Side effects at the edge; the rules are `selfFenceDecision`'s.
 *
 * - A check starts every `checkIntervalSeconds` (start to start). It probes the apiserver; only
 *   when that fails does it probe peers: the static ones and the addresses `peersDns` resolves
 *   to (on this agent's port), without this agent's own address, at most `maxPeersPerCheck`
 *   of them chosen at random, all at once. Every probe and the resolution give up after
 *   `probeTimeoutSeconds`.
 * - The decision is logged once per change of its reason (armed, lost contact, re-armed,
 *   ...), not every check. A reboot is logged at error level with its reason and timings, then
 *   the catalogued `reboot` runs (`reboot(id)`, id `self-fence-<unix ms>`). A reboot that fails
 *   is logged and retried a full `unreachableSeconds` later if contact does not come back.
 * - `stop()` ends the checks (the agent's SIGTERM).
 */
export function startSelfFenceWatchdog(options: SelfFenceWatchdogOptions): SelfFenceWatchdog {
  const { config, logger, node, self } = options;
  const { settings } = config;
  const now = options.now ?? (() => performance.now());
  const probe = options.probe ?? tcpReachable;
  const resolve = options.resolve ?? resolvePeers;
  const intervalMs = settings.checkIntervalSeconds * 1000;
  const timeoutMs = settings.probeTimeoutSeconds * 1000;
  const safeTimeSeconds = selfFenceSafeTimeSeconds(settings);
  const log = { node, selfFence: true };

  let state: SelfFenceState = INITIAL_SELF_FENCE_STATE;
  let lastReason: string | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  async function peerTargets(): Promise<HostPort[]> {
    const targets = [...config.peers];
    if (config.peersDns !== undefined) {
      for (const host of await resolve(config.peersDns, timeoutMs)) {
        if (isIP(host)) targets.push({ host, port: self.port });
      }
    }
    const unique = new Map(targets.filter((t) => !isSelf(t, self)).map((t) => [fmt(t), t]));
    return sample([...unique.values()], settings.maxPeersPerCheck);
  }

  async function check(): Promise<void> {
    const apiserver =
      config.apiserver !== undefined ? await probe(config.apiserver, timeoutMs) : false;
    let peersProbed = 0;
    let peersReachable = 0;
    if (!apiserver) {
      const peers = await peerTargets();
      peersProbed = peers.length;
      const results = await Promise.all(peers.map((p) => probe(p, timeoutMs)));
      peersReachable = results.filter(Boolean).length;
    }
    if (stopped) return;
    const at = now();
    const decision = selfFenceDecision(state, { apiserver, peersReachable }, at, settings);
    state = decision.state;
    const seen = {
      ...log,
      reason: decision.reason,
      apiserverReached: apiserver,
      peersProbed,
      peersReachable,
      unreachableForMs:
        decision.unreachableForMs === undefined ? null : Math.round(decision.unreachableForMs),
    };
    if (decision.action === 'reboot') {
      lastReason = decision.reason;
      const id = `self-fence-${Date.now()}`;
      logger.error(
        {
          ...seen,
          rebootId: id,
          unreachableSeconds: settings.unreachableSeconds,
          checkIntervalSeconds: settings.checkIntervalSeconds,
          probeTimeoutSeconds: settings.probeTimeoutSeconds,
          rebootSeconds: settings.rebootSeconds,
          safeTimeSeconds,
        },
        'self-fence: neither the apiserver nor any peer reachable for unreachableSeconds; rebooting this node',
      );
      const run = await options.reboot(id);
      if (run.exitCode !== 0) {
        state = selfFenceRebootFailed(state, now());
        logger.error(
          { ...log, rebootId: id, exitCode: run.exitCode, output: run.output },
          'self-fence: the reboot command failed; retrying after another unreachableSeconds without contact',
        );
      }
      return;
    }
    // One line per change of situation, not per check.
    const previous = lastReason;
    lastReason = decision.reason;
    if (decision.reason === previous) return;
    if (decision.reason === 'armed') {
      logger.info({ ...seen, safeTimeSeconds }, 'self-fence: first contact; armed');
    } else if (decision.reason === 're-armed') {
      logger.info(seen, 'self-fence: contact back after this outage fenced; re-armed');
    } else if (decision.reason === 'contact' && previous === 'waiting') {
      logger.info(seen, 'self-fence: contact back before the deadline');
    } else if (decision.reason === 'waiting') {
      logger.warn(
        { ...seen, unreachableSeconds: settings.unreachableSeconds },
        'self-fence: lost contact with the apiserver and every peer',
      );
    } else if (decision.reason === 'not-armed') {
      logger.warn(
        seen,
        'self-fence: nothing reached since the agent started; not armed (never fences before a first contact)',
      );
    }
  }

  function schedule(delayMs: number): void {
    if (stopped) return;
    timer = setTimeout(() => {
      const started = now();
      running = check()
        .catch((error: unknown) => logger.error({ ...log, err: error }, 'self-fence check failed'))
        .finally(() => {
          running = undefined;
          schedule(Math.max(0, started + intervalMs - now()));
        });
    }, delayMs);
  }

  logger.info(
    {
      ...log,
      apiserver: config.apiserver ? fmt(config.apiserver) : null,
      peers: config.peers.map(fmt),
      peersDns: config.peersDns ?? null,
      ...settings,
      safeTimeSeconds,
    },
    'self-fence watchdog started',
  );
  schedule(0);

  return {
    state: () => state,
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

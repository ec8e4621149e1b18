// Self-fence: the node agent reboots its own node when it has been cut off from the apiserver
// and from every peer for long enough, so that after a known safe time the rest of the cluster
// may assume the node is down (fenced) and move its workloads. Pure: settings, the safe time,
// and the watchdog's decision; the probes and the reboot live in src/agent.
import { z } from 'zod';

/** The agent's self-fence settings (seconds; fractions allowed for tests). */
export const selfFenceSettingsSchema = z
  .object({
    /** Reboot once nothing was reachable for this long since the last contact (default 60). */
    unreachableSeconds: z.number().min(1).max(3600).default(60),
    /** A check (probe the apiserver, then peers) starts this often (default 5). */
    checkIntervalSeconds: z.number().min(0.1).max(300).default(5),
    /** Each probe of a check gives up after this long (default 2; at most the interval). */
    probeTimeoutSeconds: z.number().min(0.05).max(60).default(2),
    /** How long the catalogued `reboot` takes to take the node down (default 60). */
    rebootSeconds: z.number().min(0).max(3600).default(60),
    /** Peers probed per check at most (random subset), only when the apiserver is not reached. */
    maxPeersPerCheck: z.int().min(1).max(100).default(8),
  })
  .superRefine((s, ctx) => {
    if (s.probeTimeoutSeconds > s.checkIntervalSeconds) {
      ctx.addIssue({
        code: 'custom',
        path: ['probeTimeoutSeconds'],
        message: `must be at most checkIntervalSeconds (${s.checkIntervalSeconds}): a check ends before the next starts`,
      });
    }
    if (s.unreachableSeconds < 2 * s.checkIntervalSeconds) {
      ctx.addIssue({
        code: 'custom',
        path: ['unreachableSeconds'],
        message: `must be at least twice checkIntervalSeconds (${2 * s.checkIntervalSeconds}): one lost check must never fence`,
      });
    }
  });

export type SelfFenceSettings = z.output<typeof selfFenceSettingsSchema>;

export const DEFAULT_SELF_FENCE_SETTINGS: Readonly<SelfFenceSettings> = Object.freeze(
  selfFenceSettingsSchema.parse({}),
);

/**
 * Seconds after the node was last known reachable after which the cluster may assume that a
 * self-fencing node has rebooted: `unreachableSeconds + checkIntervalSeconds +
 * 2 × probeTimeoutSeconds + rebootSeconds`, rounded up to a whole second.
 *
 * Let X be the last moment anything could have had contact with the node. Then:
 * - `probeTimeoutSeconds`: the agent's last successful check may end up to one probe timeout
 *   after X (a probe that connected just before X, in a check that waited for its slowest
 *   probe), and the agent's clock of unreachability starts at the end of that check;
 * - `unreachableSeconds`: the agent waits this long without contact before it fences;
 * - `checkIntervalSeconds`: the check that first sees the deadline passed starts at most one
 *   interval after it (checks are not continuous)...
 * - `probeTimeoutSeconds` (again): ...and decides only when its own probes have given up;
 * - `rebootSeconds`: the catalogued `reboot` (`systemctl --no-block reboot`) has been started
 *   but takes this long to stop the workloads and take the node off the network.
 *
 * The agent measures with a monotonic clock (a stepped wall clock does not move its deadline);
 * the drift between two machines' clocks over a few minutes is negligible against these terms.
 * The bound holds only for an agent that runs (see docs/agent.md "Self-fence", limits).
 */
export function selfFenceSafeTimeSeconds(settings: SelfFenceSettings): number {
  return Math.ceil(
    settings.unreachableSeconds +
      settings.checkIntervalSeconds +
      2 * settings.probeTimeoutSeconds +
      settings.rebootSeconds,
  );
}

/** The watchdog's memory between checks (times are monotonic milliseconds). */
export interface SelfFenceState {
  /** End of the last check that had contact; undefined until the first one: not armed. */
  readonly lastContactAt: number | undefined;
  /** When this outage's reboot was decided; cleared by the next contact (re-armed). */
  readonly fencedAt: number | undefined;
  /** When a reboot attempt of this outage failed; the next one waits a full unreachableSeconds. */
  readonly failedRebootAt: number | undefined;
}

export const INITIAL_SELF_FENCE_STATE: SelfFenceState = Object.freeze({
  lastContactAt: undefined,
  fencedAt: undefined,
  failedRebootAt: undefined,
});

/** What one check saw. */
export interface SelfFenceProbe {
  /** A TCP connection to the apiserver succeeded within the probe timeout. */
  readonly apiserver: boolean;
  /** Peers (other nodes' agents) a TCP connection succeeded to. */
  readonly peersReachable: number;
}

export type SelfFenceReason =
  | 'not-armed' // nothing reached since the agent started: never fences (a joining node)
  | 'armed' // first contact since the agent started
  | 'contact' // reached something; the timer restarts
  | 're-armed' // contact back after this outage fenced (or tried to)
  | 'waiting' // no contact, but not for unreachableSeconds yet
  | 'unreachable' // no contact for unreachableSeconds: reboot now
  | 'already-fenced'; // this outage already fenced: nothing more

export interface SelfFenceDecision {
  readonly state: SelfFenceState;
  readonly action: 'none' | 'reboot';
  readonly reason: SelfFenceReason;
  /** Milliseconds since the last contact (undefined when not armed). */
  readonly unreachableForMs: number | undefined;
}

/**
 * The watchdog's decision after one check, at monotonic time `now` (ms).
 *
 * - Contact is the apiserver reached or at least one peer reached. Any contact sets
 *   `lastContactAt = now` and clears the outage (`fencedAt`, `failedRebootAt`): `armed` the
 *   first time, `re-armed` after an outage that fenced, else `contact`; never a reboot.
 * - Without contact and never armed (`lastContactAt` undefined): `not-armed`, no reboot. An
 *   agent that reached nothing since it started (a node still joining, a node that came back
 *   from its fence still cut off) must not reboot-loop.
 * - Without contact after this outage already fenced: `already-fenced`, no reboot (once per
 *   outage).
 * - Without contact for at least `unreachableSeconds` since the last contact (or since a
 *   failed reboot attempt of this outage, whichever is later): `reboot`, and `fencedAt = now`.
 * - Otherwise `waiting`.
 */
export function selfFenceDecision(
  state: SelfFenceState,
  probe: SelfFenceProbe,
  now: number,
  settings: Pick<SelfFenceSettings, 'unreachableSeconds'>,
): SelfFenceDecision {
  if (probe.apiserver || probe.peersReachable > 0) {
    const reason: SelfFenceReason =
      state.lastContactAt === undefined
        ? 'armed'
        : state.fencedAt !== undefined || state.failedRebootAt !== undefined
          ? 're-armed'
          : 'contact';
    return {
      state: { lastContactAt: now, fencedAt: undefined, failedRebootAt: undefined },
      action: 'none',
      reason,
      unreachableForMs: 0,
    };
  }
  if (state.lastContactAt === undefined) {
    return { state, action: 'none', reason: 'not-armed', unreachableForMs: undefined };
  }
  const unreachableForMs = Math.max(0, now - state.lastContactAt);
  if (state.fencedAt !== undefined) {
    return { state, action: 'none', reason: 'already-fenced', unreachableForMs };
  }
  const since = Math.max(state.lastContactAt, state.failedRebootAt ?? -Infinity);
  if (now - since >= settings.unreachableSeconds * 1000) {
    return {
      state: { ...state, fencedAt: now },
      action: 'reboot',
      reason: 'unreachable',
      unreachableForMs,
    };
  }
  return { state, action: 'none', reason: 'waiting', unreachableForMs };
}

/**
 * The state after the reboot decided at `fencedAt` failed (the catalog command exited non-zero
 * or could not run) at `now`: the outage is no longer fenced, and the next attempt comes a full
 * `unreachableSeconds` later if contact does not come back meanwhile.
 */
export function selfFenceRebootFailed(state: SelfFenceState, now: number): SelfFenceState {
  return { ...state, fencedAt: undefined, failedRebootAt: now };
}

/**
 * What the worker is told about the self-fencing pools (`NODEHEAL_SELF_FENCE`, JSON): nodes
 * whose labels match every pair of `selector` run a self-fencing agent, and may be assumed down
 * `safeTimeSeconds` after they were last heard from (see `selfFenceSafeTimeSeconds`).
 */
export const selfFenceWorkerSchema = z.strictObject({
  selector: z
    .record(z.string().min(1), z.string())
    .refine((s) => Object.keys(s).length > 0, 'an empty selector would fence every node'),
  safeTimeSeconds: z.int().min(1).max(86_400),
});

export type SelfFenceWorker = z.output<typeof selfFenceWorkerSchema>;

/** A node is in a self-fencing pool when its labels carry every pair of the selector. */
export function selfFenceApplies(
  fence: SelfFenceWorker,
  labels: Readonly<Record<string, string>>,
): boolean {
  return Object.entries(fence.selector).every(([key, value]) => labels[key] === value);
}

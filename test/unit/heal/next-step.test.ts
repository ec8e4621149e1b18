import { describe, expect, it } from 'vitest';
import {
  currentCommand,
  healRecordSchema,
  nextStep,
  recordState,
  retryBackoffMs,
  stepResults,
  type Command,
  type HealStatus,
  type Observation,
  type StepState,
  type TransitionKind,
} from '../../../src/heal/index.ts';
import type { LadderStep } from '../../../src/rules/catalog-types.ts';
import {
  at,
  blocked,
  cancel,
  cleared,
  cordoned,
  DISK,
  done,
  drive,
  ENDS_IN_DRAIN,
  failed,
  firing,
  fresh,
  GENERIC,
  gone,
  MEMORY,
  MIN,
  NO_REPLACE,
  NOT_READY,
  resolved,
  SEC,
  start,
  T0,
  tick,
  type Event,
} from './fixtures.ts';

// Times of the node-not-ready walk through the whole ladder.
const A = 10 * SEC; // restart-kubelet done
const B = A + 3 * MIN; // its verification window ends: escalate to reboot
const C = B + 20 * SEC; // reboot done
const D = C + 10 * MIN; // its window ends: escalate to replace
const E = D + 30 * SEC; // replacement requested

const TO_REPLACE: Event[] = [
  [0, start],
  [A, done(0)],
  [B, tick],
  [C, done(1)],
  [D, tick],
  [E, done(2)],
];

// The generic ladder up to replace acting: cordon done at 5s, drain done at 3m.
const GENERIC_TO_REPLACE: Event[] = [
  [0, start],
  [5 * SEC, done(0, true)],
  [3 * MIN, done(1)],
];

interface Scenario {
  name: string;
  ladder?: readonly LadderStep[];
  events: Event[];
  status: HealStatus;
  /** While running: where the record is. */
  step?: number;
  state?: StepState;
  /** Matched with toMatchObject against the last command. */
  command: Partial<Command> & { kind: Command['kind'] };
  kinds: TransitionKind[];
  /** The outcome reason (finished) or, while running, the last transition's detail. */
  reason?: RegExp;
  /** Results of the step attempts, in order (success-rate input). */
  results?: Array<'success' | 'failure'>;
  cordonedByUs?: boolean;
  /** The record's `gate` (defaults to null unless given). */
  gate?: string | null;
}

const scenarios: Scenario[] = [
  // Start.
  {
    name: 'start acts step 0 with a deadline of its timeout',
    events: [[0, start]],
    status: 'running',
    step: 0,
    state: 'acting',
    command: {
      kind: 'act',
      stepIndex: 0,
      attempt: 1,
      deadline: T0 + 3 * MIN,
      step: { action: 'restart-kubelet', timeoutMs: 3 * MIN },
    },
    kinds: ['started'],
    reason: /Heal started: node-not-ready on worker-1; acting restart-kubelet/,
  },
  {
    name: 'a tick on a new record starts it like start',
    events: [[0, tick]],
    status: 'running',
    step: 0,
    state: 'acting',
    command: { kind: 'act', stepIndex: 0 },
    kinds: ['started'],
  },
  {
    name: 'start before the record was created (clock behind) waits for createdAt',
    events: [[-SEC, start]],
    status: 'running',
    step: 0,
    state: 'pending',
    command: { kind: 'wait-retry', until: T0, stepIndex: 0, attempt: 1 },
    kinds: [],
  },

  // Remedies: verify, heal, escalate.
  {
    name: 'remedy done: verify until done + timeout',
    events: [
      [0, start],
      [A, done(0)],
    ],
    status: 'running',
    step: 0,
    state: 'verifying',
    command: { kind: 'verify', until: T0 + A + 3 * MIN, stepIndex: 0, awaiting: 'fault-resolved' },
    kinds: ['started', 'step-done'],
    reason: /restart-kubelet done: step 0 ok; waiting for node-not-ready to resolve until/,
  },
  {
    name: 'fault resolves inside the window: healed',
    events: [
      [0, start],
      [A, done(0)],
      [70 * SEC, resolved(60 * SEC)],
    ],
    status: 'healed',
    command: { kind: 'finish', status: 'healed', uncordon: false },
    kinds: ['started', 'step-done', 'healed'],
    reason: /restart-kubelet worked: node-not-ready resolved at 2025-03-01T12:01:00.000Z/,
    results: ['success'],
  },
  {
    name: 'fault resolves 1 ms before the deadline: healed',
    events: [
      [0, start],
      [A, done(0)],
      [B - 1, resolved(B - 1)],
    ],
    status: 'healed',
    command: { kind: 'finish', status: 'healed' },
    kinds: ['started', 'step-done', 'healed'],
    results: ['success'],
  },
  {
    name: 'tick 1 ms before the deadline: still verifying',
    events: [
      [0, start],
      [A, done(0)],
      [B - 1, tick],
    ],
    status: 'running',
    step: 0,
    state: 'verifying',
    command: { kind: 'verify', until: T0 + B },
    kinds: ['started', 'step-done'],
  },
  {
    name: 'tick at the deadline: Escalated, the next step acts at once',
    events: [
      [0, start],
      [A, done(0)],
      [B, tick],
    ],
    status: 'running',
    step: 1,
    state: 'acting',
    command: {
      kind: 'act',
      stepIndex: 1,
      attempt: 1,
      deadline: T0 + B + 10 * MIN,
      step: { action: 'reboot', timeoutMs: 10 * MIN },
    },
    kinds: ['started', 'step-done', 'escalated', 'acting'],
    results: ['failure'],
  },
  {
    name: 'resolution processed after the deadline, before any tick: healed (the fault is gone)',
    events: [
      [0, start],
      [A, done(0)],
      [B + 30 * SEC, resolved(B + 30 * SEC)],
    ],
    status: 'healed',
    command: { kind: 'finish', status: 'healed' },
    kinds: ['started', 'step-done', 'healed'],
    results: ['success'],
  },
  {
    name: 'the whole ladder: replacement done when the node is gone',
    events: [...TO_REPLACE, [E + 5 * MIN, gone]],
    status: 'healed',
    command: { kind: 'finish', status: 'healed', uncordon: false },
    kinds: [
      'started',
      'step-done',
      'escalated',
      'acting',
      'step-done',
      'escalated',
      'acting',
      'step-done',
      'healed',
    ],
    reason: /worker-1 replaced: the Node object is gone/,
    results: ['failure', 'failure', 'success'],
  },
  {
    name: 'replace done: verify waits for node-gone',
    events: TO_REPLACE,
    status: 'running',
    step: 2,
    state: 'verifying',
    command: { kind: 'verify', until: T0 + E + 20 * MIN, stepIndex: 2, awaiting: 'node-gone' },
    kinds: [
      'started',
      'step-done',
      'escalated',
      'acting',
      'step-done',
      'escalated',
      'acting',
      'step-done',
    ],
    reason: /waiting for worker-1 to be gone/,
  },
  {
    name: 'replacement not gone by its deadline: ladder exhausted, abandoned',
    events: [...TO_REPLACE, [E + 20 * MIN, tick]],
    status: 'abandoned',
    command: { kind: 'finish', status: 'abandoned', uncordon: false },
    kinds: [
      'started',
      'step-done',
      'escalated',
      'acting',
      'step-done',
      'escalated',
      'acting',
      'step-done',
      'abandoned',
    ],
    reason:
      /^Ladder exhausted: replacement requested but worker-1 still exists after 20m; left for a human$/,
    results: ['failure', 'failure', 'failure'],
  },
  {
    name: 'fault resolves while the replacement is verified: noted, still waiting for node-gone',
    events: [...TO_REPLACE, [E + MIN, resolved(E + MIN)]],
    status: 'running',
    step: 2,
    state: 'verifying',
    command: { kind: 'verify', awaiting: 'node-gone' },
    kinds: [
      'started',
      'step-done',
      'escalated',
      'acting',
      'step-done',
      'escalated',
      'acting',
      'step-done',
      'fault-resolved',
    ],
    reason: /the replacement goes on/,
  },
  {
    name: 'resolved during replacement, then gone: healed',
    events: [...TO_REPLACE, [E + MIN, resolved(E + MIN)], [E + 2 * MIN, gone]],
    status: 'healed',
    command: { kind: 'finish', status: 'healed', uncordon: false },
    kinds: [
      'started',
      'step-done',
      'escalated',
      'acting',
      'step-done',
      'escalated',
      'acting',
      'step-done',
      'fault-resolved',
      'healed',
    ],
    results: ['failure', 'failure', 'success'],
  },
  {
    name: 'resolved during replacement, no node-gone by the deadline: abandoned',
    events: [...TO_REPLACE, [E + MIN, resolved(E + MIN)], [E + 20 * MIN, tick]],
    status: 'abandoned',
    command: { kind: 'finish', status: 'abandoned' },
    kinds: [
      'started',
      'step-done',
      'escalated',
      'acting',
      'step-done',
      'escalated',
      'acting',
      'step-done',
      'fault-resolved',
      'abandoned',
    ],
    reason: /^Ladder exhausted: replacement requested/,
  },
  {
    name: 'remedies only, none works: ladder exhausted, abandoned (node not cordoned)',
    ladder: NO_REPLACE,
    events: [
      [0, start],
      [5 * SEC, done(0)],
      [5 * SEC + 10 * MIN, tick],
      [6 * SEC + 10 * MIN, done(1)],
      [6 * SEC + 25 * MIN, tick],
    ],
    status: 'abandoned',
    command: { kind: 'finish', status: 'abandoned', uncordon: false },
    kinds: ['started', 'step-done', 'escalated', 'acting', 'step-done', 'abandoned'],
    reason: /^Ladder exhausted: reboot did not clear node-not-ready within 15m; left for a human$/,
    results: ['failure', 'failure'],
  },

  // Preparation: cordon and drain move on at once.
  {
    name: 'cordon done: drain acts at once, the cordon is ours',
    ladder: GENERIC,
    events: [
      [0, start],
      [5 * SEC, done(0, true)],
    ],
    status: 'running',
    step: 1,
    state: 'acting',
    command: {
      kind: 'act',
      stepIndex: 1,
      attempt: 1,
      deadline: T0 + 5 * SEC + 10 * MIN,
      step: { action: 'drain', timeoutMs: 10 * MIN },
    },
    kinds: ['started', 'step-done', 'acting'],
    results: ['success'],
    cordonedByUs: true,
  },
  {
    name: 'drain done: replace acts at once',
    ladder: GENERIC,
    events: GENERIC_TO_REPLACE,
    status: 'running',
    step: 2,
    state: 'acting',
    command: {
      kind: 'act',
      stepIndex: 2,
      deadline: T0 + 23 * MIN,
      step: { action: 'replace', timeoutMs: 20 * MIN },
    },
    kinds: ['started', 'step-done', 'acting', 'step-done', 'acting'],
    results: ['success', 'success'],
    cordonedByUs: true,
  },
  {
    name: 'memory-pressure: drain done, reboot acts at once',
    ladder: MEMORY,
    events: [
      [0, start],
      [5 * MIN, done(0, true)],
    ],
    status: 'running',
    step: 1,
    state: 'acting',
    command: { kind: 'act', stepIndex: 1, step: { action: 'reboot', timeoutMs: 10 * MIN } },
    kinds: ['started', 'step-done', 'acting'],
    cordonedByUs: true,
  },
  {
    name: 'fault resolves during drain: drain runs to its end, then healed and uncordoned',
    ladder: GENERIC,
    events: [
      [0, start],
      [5 * SEC, done(0, true)],
      [MIN, resolved(50 * SEC)],
      [3 * MIN, done(1)],
    ],
    status: 'healed',
    command: { kind: 'finish', status: 'healed', uncordon: true },
    kinds: ['started', 'step-done', 'acting', 'fault-resolved', 'healed'],
    reason:
      /^drain done \(step 1 ok\); node-not-ready had resolved at 2025-03-01T12:00:50.000Z, during the step/,
    results: ['success', 'success'],
    cordonedByUs: true,
  },
  {
    name: 'fault resolves during drain, fires again: replace follows',
    ladder: GENERIC,
    events: [
      [0, start],
      [5 * SEC, done(0, true)],
      [MIN, resolved(50 * SEC)],
      [2 * MIN, firing],
      [3 * MIN, done(1)],
    ],
    status: 'running',
    step: 2,
    state: 'acting',
    command: { kind: 'act', stepIndex: 2 },
    kinds: [
      'started',
      'step-done',
      'acting',
      'fault-resolved',
      'fault-firing',
      'step-done',
      'acting',
    ],
  },
  {
    name: 'fault resolves during cordon of someone else: healed, nothing to uncordon',
    ladder: GENERIC,
    events: [
      [0, start],
      [2 * SEC, resolved(SEC)],
      [5 * SEC, done(0, false)],
    ],
    status: 'healed',
    command: { kind: 'finish', status: 'healed', uncordon: false },
    kinds: ['started', 'fault-resolved', 'healed'],
    results: ['success'],
    cordonedByUs: false,
  },
  {
    name: 'drain fails permanently: abandoned, node stays cordoned (no replace over live pods)',
    ladder: GENERIC,
    events: [
      [0, start],
      [5 * SEC, done(0, true)],
      [4 * MIN, failed(1, true)],
    ],
    status: 'abandoned',
    command: { kind: 'finish', status: 'abandoned', uncordon: false },
    kinds: ['started', 'step-done', 'acting', 'abandoned'],
    reason: /^drain failed: step 1 broke; .*left for a human; the node stays cordoned$/,
    results: ['success', 'failure'],
  },
  {
    name: 'drain reports nothing by its deadline: abandoned',
    ladder: GENERIC,
    events: [
      [0, start],
      [5 * SEC, done(0, true)],
      [5 * SEC + 10 * MIN, tick],
    ],
    status: 'abandoned',
    command: { kind: 'finish', status: 'abandoned' },
    kinds: ['started', 'step-done', 'acting', 'abandoned'],
    reason: /^drain failed: no result within 10m; .*the node stays cordoned$/,
    results: ['success', 'failure'],
  },
  {
    name: 'drain tick 1 ms before its deadline: still acting',
    ladder: GENERIC,
    events: [
      [0, start],
      [5 * SEC, done(0, true)],
      [5 * SEC + 10 * MIN - 1, tick],
    ],
    status: 'running',
    step: 1,
    state: 'acting',
    command: { kind: 'act', stepIndex: 1 },
    kinds: ['started', 'step-done', 'acting'],
  },
  {
    name: 'cordon fails transiently 4 times (backoff 15s, 30s, 60s): abandoned',
    ladder: GENERIC,
    events: [
      [0, start],
      [SEC, failed(0, false)],
      [16 * SEC, tick],
      [17 * SEC, failed(0, false)],
      [47 * SEC, tick],
      [48 * SEC, failed(0, false)],
      [108 * SEC, tick],
      [109 * SEC, failed(0, false)],
    ],
    status: 'abandoned',
    command: { kind: 'finish', status: 'abandoned' },
    kinds: [
      'started',
      'retry-scheduled',
      'acting',
      'retry-scheduled',
      'acting',
      'retry-scheduled',
      'acting',
      'abandoned',
    ],
    reason: /^cordon failed 4 times \(last: step 0 broke\); .*left for a human$/,
    results: ['failure'],
  },
  {
    name: 'a ladder ending in drain verifies the drain like a remedy',
    ladder: ENDS_IN_DRAIN,
    events: [
      [0, start],
      [10 * SEC, done(0)],
      [10 * SEC + 8 * MIN, tick],
      [10 * SEC + 10 * MIN, done(1, true)],
    ],
    status: 'running',
    step: 1,
    state: 'verifying',
    command: {
      kind: 'verify',
      until: T0 + 10 * SEC + 25 * MIN,
      stepIndex: 1,
      awaiting: 'fault-resolved',
    },
    kinds: ['started', 'step-done', 'escalated', 'acting', 'step-done'],
  },
  {
    name: 'a ladder ending in drain: resolved after it, healed and uncordoned',
    ladder: ENDS_IN_DRAIN,
    events: [
      [0, start],
      [10 * SEC, done(0)],
      [10 * SEC + 8 * MIN, tick],
      [10 * SEC + 10 * MIN, done(1, true)],
      [20 * MIN, resolved(20 * MIN)],
    ],
    status: 'healed',
    command: { kind: 'finish', status: 'healed', uncordon: true },
    kinds: ['started', 'step-done', 'escalated', 'acting', 'step-done', 'healed'],
    results: ['failure', 'success'],
  },
  {
    name: 'a ladder ending in drain: not resolved, abandoned with the node cordoned',
    ladder: ENDS_IN_DRAIN,
    events: [
      [0, start],
      [10 * SEC, done(0)],
      [10 * SEC + 8 * MIN, tick],
      [10 * SEC + 10 * MIN, done(1, true)],
      [10 * SEC + 25 * MIN, tick],
    ],
    status: 'abandoned',
    command: { kind: 'finish', status: 'abandoned', uncordon: false },
    kinds: ['started', 'step-done', 'escalated', 'acting', 'step-done', 'abandoned'],
    reason:
      /^Ladder exhausted: drain did not clear node-not-ready within 15m; left for a human; the node stays cordoned$/,
    results: ['failure', 'failure'],
  },

  // Replace in flight.
  {
    name: 'resolved while replace is acting, replace done: the replacement goes through',
    ladder: GENERIC,
    events: [
      ...GENERIC_TO_REPLACE,
      [3 * MIN + SEC, resolved(3 * MIN)],
      [3 * MIN + 10 * SEC, done(2)],
    ],
    status: 'running',
    step: 2,
    state: 'verifying',
    command: { kind: 'verify', awaiting: 'node-gone', until: T0 + 23 * MIN + 10 * SEC },
    kinds: ['started', 'step-done', 'acting', 'step-done', 'acting', 'fault-resolved', 'step-done'],
  },
  {
    name: 'resolved while replace is acting, replace fails: healed, uncordoned (not replaced)',
    ladder: GENERIC,
    events: [
      ...GENERIC_TO_REPLACE,
      [3 * MIN + SEC, resolved(3 * MIN)],
      [3 * MIN + 10 * SEC, failed(2, true)],
    ],
    status: 'healed',
    command: { kind: 'finish', status: 'healed', uncordon: true },
    kinds: ['started', 'step-done', 'acting', 'step-done', 'acting', 'fault-resolved', 'healed'],
    reason: /^replace failed \(step 2 broke\) but node-not-ready had resolved/,
    results: ['success', 'success'],
  },
  {
    name: 'node gone while replace is acting: healed, nothing to uncordon',
    ladder: GENERIC,
    events: [...GENERIC_TO_REPLACE, [4 * MIN, gone]],
    status: 'healed',
    command: { kind: 'finish', status: 'healed', uncordon: false },
    kinds: ['started', 'step-done', 'acting', 'step-done', 'acting', 'healed'],
    results: ['success', 'success', 'success'],
  },
  {
    name: 'replace fails transiently, fault resolves before the retry: healed, uncordoned',
    ladder: GENERIC,
    events: [
      ...GENERIC_TO_REPLACE,
      [3 * MIN + 5 * SEC, failed(2, false)],
      [3 * MIN + 8 * SEC, resolved(3 * MIN + 7 * SEC)],
    ],
    status: 'healed',
    command: { kind: 'finish', status: 'healed', uncordon: true },
    kinds: ['started', 'step-done', 'acting', 'step-done', 'acting', 'retry-scheduled', 'healed'],
    reason: /while replace waited to be retried/,
    results: ['success', 'success'],
  },
  {
    name: 'replace fails transiently, node gone before the retry: healed',
    ladder: GENERIC,
    events: [
      ...GENERIC_TO_REPLACE,
      [3 * MIN + 5 * SEC, failed(2, false)],
      [3 * MIN + 8 * SEC, gone],
    ],
    status: 'healed',
    command: { kind: 'finish', status: 'healed', uncordon: false },
    kinds: ['started', 'step-done', 'acting', 'step-done', 'acting', 'retry-scheduled', 'healed'],
  },

  // Remedy failures and retries.
  {
    name: 'remedy fails permanently: Escalated, the next step acts',
    events: [
      [0, start],
      [5 * SEC, failed(0, true)],
    ],
    status: 'running',
    step: 1,
    state: 'acting',
    command: { kind: 'act', stepIndex: 1, attempt: 1, deadline: T0 + 5 * SEC + 10 * MIN },
    kinds: ['started', 'escalated', 'acting'],
    results: ['failure'],
  },
  {
    name: 'remedy fails transiently: wait-retry 15 s',
    events: [
      [0, start],
      [5 * SEC, failed(0, false)],
    ],
    status: 'running',
    step: 0,
    state: 'pending',
    command: { kind: 'wait-retry', until: T0 + 20 * SEC, stepIndex: 0, attempt: 2 },
    kinds: ['started', 'retry-scheduled'],
    reason: /restart-kubelet failed \(transient\): step 0 broke; retry 1 of 3 in 15s/,
  },
  {
    name: 'tick 1 ms before the retry: still waiting',
    events: [
      [0, start],
      [5 * SEC, failed(0, false)],
      [20 * SEC - 1, tick],
    ],
    status: 'running',
    step: 0,
    state: 'pending',
    command: { kind: 'wait-retry', until: T0 + 20 * SEC },
    kinds: ['started', 'retry-scheduled'],
  },
  {
    name: 'tick at the retry: attempt 2 acts with a fresh deadline',
    events: [
      [0, start],
      [5 * SEC, failed(0, false)],
      [20 * SEC, tick],
    ],
    status: 'running',
    step: 0,
    state: 'acting',
    command: { kind: 'act', stepIndex: 0, attempt: 2, deadline: T0 + 20 * SEC + 3 * MIN },
    kinds: ['started', 'retry-scheduled', 'acting'],
    reason: /acting restart-kubelet \(attempt 2\)/,
  },
  {
    name: 'start at the retry time (resumed worker) acts like a tick',
    events: [
      [0, start],
      [5 * SEC, failed(0, false)],
      [MIN, start],
    ],
    status: 'running',
    step: 0,
    state: 'acting',
    command: { kind: 'act', stepIndex: 0, attempt: 2 },
    kinds: ['started', 'retry-scheduled', 'acting'],
  },
  {
    name: 'a permanent failure after a retry escalates',
    events: [
      [0, start],
      [5 * SEC, failed(0, false)],
      [20 * SEC, tick],
      [25 * SEC, failed(0, true)],
    ],
    status: 'running',
    step: 1,
    state: 'acting',
    command: { kind: 'act', stepIndex: 1, attempt: 1 },
    kinds: ['started', 'retry-scheduled', 'acting', 'escalated', 'acting'],
    results: ['failure'],
  },
  {
    name: 'a 4th transient failure escalates',
    events: [
      [0, start],
      [SEC, failed(0, false)],
      [16 * SEC, tick],
      [17 * SEC, failed(0, false)],
      [47 * SEC, tick],
      [48 * SEC, failed(0, false)],
      [108 * SEC, tick],
      [109 * SEC, failed(0, false)],
    ],
    status: 'running',
    step: 1,
    state: 'acting',
    command: { kind: 'act', stepIndex: 1, attempt: 1 },
    kinds: [
      'started',
      'retry-scheduled',
      'acting',
      'retry-scheduled',
      'acting',
      'retry-scheduled',
      'acting',
      'escalated',
      'acting',
    ],
    results: ['failure'],
  },
  {
    name: 'remedy reports nothing by its deadline: Escalated',
    events: [
      [0, start],
      [3 * MIN, tick],
    ],
    status: 'running',
    step: 1,
    state: 'acting',
    command: { kind: 'act', stepIndex: 1 },
    kinds: ['started', 'escalated', 'acting'],
    reason: /acting reboot/,
    results: ['failure'],
  },
  {
    name: 'resolved while the remedy acts, then done: healed without a verification wait',
    events: [
      [0, start],
      [2 * SEC, resolved(SEC)],
      [5 * SEC, done(0)],
    ],
    status: 'healed',
    command: { kind: 'finish', status: 'healed', uncordon: false },
    kinds: ['started', 'fault-resolved', 'healed'],
    results: ['success'],
  },
  {
    name: 'resolved while the remedy acts, then it fails: healed, no attempt result',
    events: [
      [0, start],
      [2 * SEC, resolved(SEC)],
      [5 * SEC, failed(0, true)],
    ],
    status: 'healed',
    command: { kind: 'finish', status: 'healed' },
    kinds: ['started', 'fault-resolved', 'healed'],
    results: [],
  },
  {
    name: 'resolved while the remedy acts, fires again, done: verification as usual',
    events: [
      [0, start],
      [2 * SEC, resolved(SEC)],
      [3 * SEC, firing],
      [5 * SEC, done(0)],
    ],
    status: 'running',
    step: 0,
    state: 'verifying',
    command: { kind: 'verify', until: T0 + 5 * SEC + 3 * MIN },
    kinds: ['started', 'fault-resolved', 'fault-firing', 'step-done'],
  },
  {
    name: 'resolved while waiting to retry: healed',
    events: [
      [0, start],
      [5 * SEC, failed(0, false)],
      [10 * SEC, resolved(9 * SEC)],
    ],
    status: 'healed',
    command: { kind: 'finish', status: 'healed' },
    kinds: ['started', 'retry-scheduled', 'healed'],
    reason: /resolved at 2025-03-01T12:00:09.000Z while restart-kubelet waited to be retried/,
    results: [],
  },

  // The node disappears.
  {
    name: 'node gone while a remedy is verified: cancelled (deleted outside this heal)',
    events: [
      [0, start],
      [A, done(0)],
      [MIN, gone],
    ],
    status: 'cancelled',
    command: { kind: 'finish', status: 'cancelled', uncordon: false },
    kinds: ['started', 'step-done', 'cancelled'],
    reason: /^worker-1 was deleted outside this heal \(during restart-kubelet\)/,
  },
  {
    name: 'node gone during drain: cancelled',
    ladder: GENERIC,
    events: [
      [0, start],
      [5 * SEC, done(0, true)],
      [MIN, gone],
    ],
    status: 'cancelled',
    command: { kind: 'finish', status: 'cancelled', uncordon: false },
    kinds: ['started', 'step-done', 'acting', 'cancelled'],
  },
  {
    name: 'node gone before the heal started: cancelled',
    events: [[0, gone]],
    status: 'cancelled',
    command: { kind: 'finish', status: 'cancelled' },
    kinds: ['cancelled'],
  },

  // Before the start.
  {
    name: 'fault resolved before any step acted: cancelled',
    events: [[0, resolved(-SEC)]],
    status: 'cancelled',
    command: { kind: 'finish', status: 'cancelled', uncordon: false },
    kinds: ['cancelled'],
    reason: /^node-not-ready resolved before any step acted$/,
  },
  {
    name: 'cancel before the start',
    events: [[0, cancel]],
    status: 'cancelled',
    command: { kind: 'finish', status: 'cancelled' },
    kinds: ['cancelled'],
    reason: /^cancelled by alice: maintenance$/,
  },

  // Safety: a gate that will not lift.
  {
    name: 'a gate that will not lift refuses the first act after the start: abandoned, nothing changed',
    events: [
      [0, start],
      [SEC, blocked('opt-out', 0)],
    ],
    status: 'abandoned',
    command: { kind: 'finish', status: 'abandoned', uncordon: false },
    kinds: ['started', 'abandoned'],
    reason:
      /^blocked by safety gate opt-out before restart-kubelet: opt-out says no; nothing was changed on the node$/,
    gate: 'opt-out',
  },
  {
    name: 'opt-out refuses a later step: abandoned, left for a human',
    events: [
      [0, start],
      [A, done(0)],
      [B, tick],
      [B + SEC, blocked('opt-out', 1)],
    ],
    status: 'abandoned',
    command: { kind: 'finish', status: 'abandoned' },
    kinds: ['started', 'step-done', 'escalated', 'acting', 'abandoned'],
    reason: /^blocked by safety gate opt-out before reboot: opt-out says no; left for a human$/,
    gate: 'opt-out',
  },
  {
    name: 'control plane refuses replace after cordon and drain: abandoned, stays cordoned',
    ladder: GENERIC,
    events: [...GENERIC_TO_REPLACE, [3 * MIN + SEC, blocked('control-plane')]],
    status: 'abandoned',
    command: { kind: 'finish', status: 'abandoned', uncordon: false },
    kinds: ['started', 'step-done', 'acting', 'step-done', 'acting', 'abandoned'],
    reason: /control-plane before replace: .*left for a human; the node stays cordoned$/,
    gate: 'control-plane',
  },
  {
    name: 'opt-out before the start: skipped, nothing was done on the node',
    events: [[0, blocked('opt-out')]],
    status: 'skipped',
    command: { kind: 'finish', status: 'skipped', uncordon: false },
    kinds: ['skipped'],
    reason:
      /^skipped: safety gate opt-out refused restart-kubelet: opt-out says no; nothing was done on the node$/,
    gate: 'opt-out',
  },
  {
    name: 'a control-plane node with only disruptive steps, before the start: skipped',
    ladder: GENERIC,
    events: [[0, blocked('control-plane', 0)]],
    status: 'skipped',
    command: { kind: 'finish', status: 'skipped', uncordon: false },
    kinds: ['skipped'],
    reason: /^skipped: safety gate control-plane refused cordon: /,
    gate: 'control-plane',
  },

  // Safety: a gate that may lift holds the step.
  {
    name: 'a pause holds the next step after an escalation: pending on it, not abandoned',
    events: [
      [0, start],
      [A, done(0)],
      [B, tick],
      [B + SEC, blocked('paused', 1, { until: B + 31 * SEC })],
    ],
    status: 'running',
    step: 1,
    state: 'pending',
    command: { kind: 'wait-gate', gate: 'paused', until: T0 + B + 31 * SEC, stepIndex: 1 },
    kinds: ['started', 'step-done', 'escalated', 'acting', 'held'],
    reason: /^reboot waits for safety gate paused: paused says no; asking again at /,
    gate: 'paused',
  },
  {
    name: 'a pause holds replace after the drain; resume lets it act',
    ladder: GENERIC,
    events: [
      ...GENERIC_TO_REPLACE,
      [3 * MIN + SEC, blocked('paused', 2, { until: 4 * MIN })],
      [10 * MIN, cleared(2)],
    ],
    status: 'running',
    step: 2,
    state: 'acting',
    command: { kind: 'act', stepIndex: 2, attempt: 1, deadline: T0 + 10 * MIN + 20 * MIN },
    kinds: ['started', 'step-done', 'acting', 'step-done', 'acting', 'held', 'acting'],
    reason: /^acting replace$/,
    cordonedByUs: true,
  },
  {
    name: 'a storm holds the retry of a step',
    events: [
      [0, start],
      [5 * SEC, failed(0, false)],
      [20 * SEC, tick],
      [21 * SEC, blocked('storm', 0, { until: MIN })],
    ],
    status: 'running',
    step: 0,
    state: 'pending',
    command: { kind: 'wait-gate', gate: 'storm', stepIndex: 0 },
    kinds: ['started', 'retry-scheduled', 'acting', 'held'],
    gate: 'storm',
  },
  {
    name: 'held, then the retry acts as attempt 2 (holding is not an attempt)',
    events: [
      [0, start],
      [5 * SEC, failed(0, false)],
      [20 * SEC, tick],
      [21 * SEC, blocked('storm', 0, { until: MIN })],
      [2 * MIN, cleared(0)],
    ],
    status: 'running',
    state: 'acting',
    command: { kind: 'act', stepIndex: 0, attempt: 2 },
    kinds: ['started', 'retry-scheduled', 'acting', 'held', 'acting'],
    reason: /^acting restart-kubelet \(attempt 2\)$/,
  },
  {
    name: 'held before the start; cleared: the heal starts then',
    events: [
      [0, blocked('cluster-budget', 0, { until: MIN })],
      [2 * MIN, cleared(0)],
    ],
    status: 'running',
    step: 0,
    state: 'acting',
    command: { kind: 'act', stepIndex: 0, deadline: T0 + 5 * MIN },
    kinds: ['held', 'started'],
  },
  {
    name: 'held by one gate, then another: a second held',
    events: [
      [0, start],
      [A, done(0)],
      [B, tick],
      [B + SEC, blocked('paused', 1, { until: B + MIN })],
      [B + MIN, blocked('storm', 1, { until: B + 2 * MIN })],
    ],
    status: 'running',
    state: 'pending',
    command: { kind: 'wait-gate', gate: 'storm', until: T0 + B + 2 * MIN },
    kinds: ['started', 'step-done', 'escalated', 'acting', 'held', 'held'],
    gate: 'storm',
  },
  {
    name: 'held, then a gate that will not lift: abandoned',
    events: [
      [0, start],
      [A, done(0)],
      [B, tick],
      [B + SEC, blocked('paused', 1, { until: B + MIN })],
      [B + MIN, blocked('opt-out', 1)],
    ],
    status: 'abandoned',
    command: { kind: 'finish', status: 'abandoned' },
    kinds: ['started', 'step-done', 'escalated', 'acting', 'held', 'abandoned'],
    reason: /^blocked by safety gate opt-out before reboot: .*left for a human$/,
    gate: 'opt-out',
  },
  {
    name: 'held, the fault resolves: healed',
    events: [
      [0, start],
      [A, done(0)],
      [B, tick],
      [B + SEC, blocked('paused', 1, { until: B + MIN })],
      [B + MIN, resolved(B + MIN)],
    ],
    status: 'healed',
    command: { kind: 'finish', status: 'healed' },
    kinds: ['started', 'step-done', 'escalated', 'acting', 'held', 'healed'],
    reason: /while reboot waited to start$/,
  },
  {
    name: 'held, cancelled: cancelled',
    events: [
      [0, start],
      [A, done(0)],
      [B, tick],
      [B + SEC, blocked('paused', 1, { until: B + MIN })],
      [B + MIN, cancel],
    ],
    status: 'cancelled',
    command: { kind: 'finish', status: 'cancelled', uncordon: false },
    kinds: ['started', 'step-done', 'escalated', 'acting', 'held', 'cancelled'],
    reason: /^cancelled by alice: maintenance$/,
  },
  {
    name: 'held, the deadline passes: a tick acts it (the runner asks the gates at the act)',
    events: [
      [0, start],
      [A, done(0)],
      [B, tick],
      [B + SEC, blocked('paused', 1, { until: B + MIN })],
      [B + MIN, tick],
    ],
    status: 'running',
    state: 'acting',
    command: { kind: 'act', stepIndex: 1 },
    kinds: ['started', 'step-done', 'escalated', 'acting', 'held', 'acting'],
  },
  {
    name: 'daily cap on an expert remedy: skip to replace',
    events: [
      [0, start],
      [SEC, blocked('daily-cap', 0)],
    ],
    status: 'running',
    step: 2,
    state: 'acting',
    command: { kind: 'act', stepIndex: 2, step: { action: 'replace', timeoutMs: 20 * MIN } },
    kinds: ['started', 'skipped', 'skipped', 'acting'],
  },
  {
    name: 'daily cap on clean-disk: skip to drain (drain before replace)',
    ladder: DISK,
    events: [
      [0, start],
      [SEC, blocked('daily-cap', 0)],
    ],
    status: 'running',
    step: 1,
    state: 'acting',
    command: { kind: 'act', stepIndex: 1, step: { action: 'drain', timeoutMs: 15 * MIN } },
    kinds: ['started', 'skipped', 'acting'],
  },
  {
    name: 'daily cap while waiting to retry: skip to replace',
    events: [
      [0, start],
      [5 * SEC, failed(0, false)],
      [6 * SEC, blocked('daily-cap', 0)],
    ],
    status: 'running',
    step: 2,
    state: 'acting',
    command: { kind: 'act', stepIndex: 2, attempt: 1 },
    kinds: ['started', 'retry-scheduled', 'skipped', 'skipped', 'acting'],
  },
  {
    name: 'daily cap with no cordon, drain or replace left: abandoned',
    ladder: NO_REPLACE,
    events: [
      [0, start],
      [SEC, blocked('daily-cap', 0)],
    ],
    status: 'abandoned',
    command: { kind: 'finish', status: 'abandoned' },
    kinds: ['started', 'abandoned'],
    reason: /^blocked by safety gate daily-cap before sync-clock/,
    gate: 'daily-cap',
  },
  {
    name: 'daily cap before the start with no cordon, drain or replace: skipped',
    ladder: NO_REPLACE,
    events: [[0, blocked('daily-cap', 0)]],
    status: 'skipped',
    command: { kind: 'finish', status: 'skipped' },
    kinds: ['skipped'],
    reason: /^skipped: safety gate daily-cap refused sync-clock/,
    gate: 'daily-cap',
  },
  {
    name: 'daily cap before the start with replace in the ladder: the heal starts at replace',
    events: [[0, blocked('daily-cap', 0)]],
    status: 'running',
    step: 2,
    state: 'acting',
    command: { kind: 'act', stepIndex: 2 },
    kinds: ['skipped', 'skipped', 'started'],
  },
  {
    name: 'daily cap on a drain: abandoned (only expert remedies are skipped)',
    ladder: MEMORY,
    events: [
      [0, start],
      [SEC, blocked('daily-cap', 0)],
    ],
    status: 'abandoned',
    command: { kind: 'finish', status: 'abandoned' },
    kinds: ['started', 'abandoned'],
    gate: 'daily-cap',
  },

  // Cancel.
  {
    name: 'cancel while verifying',
    events: [
      [0, start],
      [A, done(0)],
      [MIN, cancel],
    ],
    status: 'cancelled',
    command: { kind: 'finish', status: 'cancelled', uncordon: false },
    kinds: ['started', 'step-done', 'cancelled'],
    reason: /^cancelled by alice: maintenance$/,
  },
  {
    name: 'cancel during drain after nodeheal cordoned: nodeheal uncordons',
    ladder: GENERIC,
    events: [
      [0, start],
      [5 * SEC, done(0, true)],
      [MIN, cancel],
    ],
    status: 'cancelled',
    command: { kind: 'finish', status: 'cancelled', uncordon: true },
    kinds: ['started', 'step-done', 'acting', 'cancelled'],
    reason:
      /^cancelled by alice: maintenance; nodeheal uncordons the node \(the cordon was its own\)$/,
  },
  {
    name: 'cancel mid-drain: the cordon noted when it was made is undone',
    ladder: MEMORY,
    events: [
      [0, start],
      [SEC, cordoned(0)],
      [MIN, cancel],
    ],
    status: 'cancelled',
    command: { kind: 'finish', status: 'cancelled', uncordon: true },
    kinds: ['started', 'cancelled'],
    reason: /nodeheal uncordons the node/,
    cordonedByUs: true,
  },
  {
    name: 'cancel mid-drain of a node someone else had cordoned: left as it is',
    ladder: MEMORY,
    events: [
      [0, start],
      [SEC, cordoned(0, false)],
      [MIN, cancel],
    ],
    status: 'cancelled',
    command: { kind: 'finish', status: 'cancelled', uncordon: false },
    kinds: ['started', 'cancelled'],
    reason: /^cancelled by alice: maintenance$/,
    cordonedByUs: false,
  },
  {
    name: 'a cordon noted mid-step changes nothing else',
    ladder: MEMORY,
    events: [
      [0, start],
      [SEC, cordoned(0)],
    ],
    status: 'running',
    state: 'acting',
    command: { kind: 'act', stepIndex: 0, attempt: 1 },
    kinds: ['started'],
    cordonedByUs: true,
  },
];

function outcome(s: Scenario) {
  return drive(fresh(s.ladder ?? NOT_READY), s.events);
}

describe('nextStep: the heal ladder', () => {
  it.each(scenarios)('$name', (s) => {
    const { record, command } = outcome(s);
    expect(record.status).toBe(s.status);
    if (s.step !== undefined) expect(record.stepIndex).toBe(s.step);
    if (s.state !== undefined) expect(record.stepState).toBe(s.state);
    expect(command).toMatchObject(s.command);
    expect(record.transitions.map((t) => t.kind)).toEqual(s.kinds);
    if (s.reason !== undefined) {
      const text =
        record.status === 'running' ? record.transitions.at(-1)?.detail : record.outcomeReason;
      expect(text).toMatch(s.reason);
    }
    if (s.status === 'running') {
      expect(record.outcomeReason).toBeNull();
      expect(record.endedAt).toBeNull();
    } else {
      expect(command).toEqual({
        kind: 'finish',
        status: s.status,
        reason: record.outcomeReason,
        uncordon:
          (record.status === 'healed' || record.status === 'cancelled') &&
          record.cordonedByUs &&
          !record.nodeGone,
      });
      expect(record.deadline).toBeNull();
      expect(record.endedAt).toBe(T0 + (s.events.at(-1)?.[0] ?? Number.NaN));
    }
    if (s.results !== undefined) {
      expect(record.transitions.flatMap((t) => (t.result === undefined ? [] : [t.result]))).toEqual(
        s.results,
      );
    }
    if (s.cordonedByUs !== undefined) expect(record.cordonedByUs).toBe(s.cordonedByUs);
    expect(record.gate).toBe(s.gate ?? null);
  });
});

describe('nextStep: invariants over every scenario', () => {
  it.each(scenarios)('transitions chain and carry their time: $name', (s) => {
    const { record } = outcome(s);
    const times = new Set(s.events.map(([t]) => T0 + t));
    let previous: string = 'pending';
    for (const transition of record.transitions) {
      expect(transition.from).toBe(previous);
      expect(times.has(transition.at)).toBe(true);
      expect(transition.action).toBe(record.ladder[transition.step]?.action);
      expect(transition.detail.length).toBeGreaterThan(0);
      previous = transition.to;
    }
    expect(previous).toBe(recordState(record));
    const ats = record.transitions.map((t) => t.at);
    expect(ats).toEqual([...ats].sort((a, b) => a - b));
  });

  it.each(scenarios)('the record survives JSON and its schema: $name', (s) => {
    const { record } = outcome(s);
    expect(healRecordSchema.parse(JSON.parse(JSON.stringify(record)))).toEqual(record);
  });

  it.each(scenarios)('delivering every observation twice changes nothing: $name', (s) => {
    const once = outcome(s);
    const twice = drive(
      fresh(s.ladder ?? NOT_READY),
      s.events.flatMap((event) => [event, event]),
    );
    expect(twice.record).toEqual(once.record);
    expect(twice.command).toEqual(once.command);
    expect(twice.changed.filter((_, i) => i % 2 === 1).every((changed) => !changed)).toBe(true);
  });

  it.each(scenarios)('updatedAt is the last change, and changed is honest: $name', (s) => {
    const run = outcome(s);
    const lastChange = run.changed.lastIndexOf(true);
    expect(run.record.updatedAt).toBe(
      lastChange === -1 ? T0 : T0 + (s.events[lastChange]?.[0] ?? Number.NaN),
    );
  });

  it.each(scenarios)('stepResults reads the attempt results: $name', (s) => {
    const { record } = outcome(s);
    const results = stepResults(undefined, record);
    expect(results.map((r) => (r.success ? 'success' : 'failure'))).toEqual(
      record.transitions.flatMap((t) => (t.result === undefined ? [] : [t.result])),
    );
    for (const r of results) expect(r.fault).toBe('node-not-ready');
  });
});

// A record at some point of a heal, and the observation that does not apply there.
interface IgnoredCase {
  name: string;
  ladder?: readonly LadderStep[];
  before: Event[];
  t: number;
  observation: Observation;
}

const ACTING: Event[] = [[0, start]];
const VERIFYING: Event[] = [
  [0, start],
  [A, done(0)],
];
const RETRYING: Event[] = [
  [0, start],
  [5 * SEC, failed(0, false)],
];
const NOTED: Event[] = [
  [0, start],
  [2 * SEC, resolved(SEC)],
];
const HEALED: Event[] = [...VERIFYING, [MIN, resolved(MIN)]];
const ABANDONED: Event[] = [
  [0, start],
  [SEC, blocked('opt-out')],
];
const SKIPPED: Event[] = [[0, blocked('opt-out', 0)]];
const HELD: Event[] = [
  [0, start],
  [A, done(0)],
  [B, tick],
  [B + SEC, blocked('paused', 1, { until: B + MIN })],
];
const CANCELLED: Event[] = [[0, cancel]];

const everyObservation: Array<[string, Observation]> = [
  ['start', start],
  ['tick', tick],
  ['step-done', done(0)],
  ['step-failed', failed(0, true)],
  ['fault-resolved', resolved(MIN)],
  ['fault-firing', firing],
  ['node-gone', gone],
  ['safety-blocked', blocked('storm')],
  ['safety-blocked (may lift)', blocked('storm', undefined, { until: MIN })],
  ['gate-cleared', cleared(0)],
  ['cordoned', cordoned(0)],
  ['cancel', cancel],
];

const ignored: IgnoredCase[] = [
  { name: 'new: step-done', before: [], t: 0, observation: done(0) },
  { name: 'new: step-failed', before: [], t: 0, observation: failed(0, false) },
  { name: 'new: fault-firing', before: [], t: 0, observation: firing },
  { name: 'acting: start (resume)', before: ACTING, t: MIN, observation: start },
  {
    name: 'acting: tick before the act deadline',
    before: ACTING,
    t: 3 * MIN - 1,
    observation: tick,
  },
  { name: 'acting: step-done for another step', before: ACTING, t: MIN, observation: done(1) },
  {
    name: 'acting: step-failed for another step',
    before: ACTING,
    t: MIN,
    observation: failed(1, true),
  },
  {
    name: 'acting: fault-firing without a resolution',
    before: ACTING,
    t: MIN,
    observation: firing,
  },
  {
    name: 'acting: safety-blocked for another step',
    before: ACTING,
    t: MIN,
    observation: blocked('storm', 1),
  },
  {
    name: 'acting: a second resolution',
    before: NOTED,
    t: 3 * SEC,
    observation: resolved(3 * SEC),
  },
  { name: 'verifying: start (resume)', before: VERIFYING, t: MIN, observation: start },
  { name: 'verifying: tick before the deadline', before: VERIFYING, t: B - 1, observation: tick },
  { name: 'verifying: step-done again', before: VERIFYING, t: MIN, observation: done(0) },
  { name: 'verifying: step-failed late', before: VERIFYING, t: MIN, observation: failed(0, false) },
  { name: 'verifying: fault-firing', before: VERIFYING, t: MIN, observation: firing },
  {
    name: 'verifying: safety-blocked storm',
    before: VERIFYING,
    t: MIN,
    observation: blocked('storm'),
  },
  {
    name: 'verifying: safety-blocked paused',
    before: VERIFYING,
    t: MIN,
    observation: blocked('paused', 0),
  },
  { name: 'verifying: daily cap', before: VERIFYING, t: MIN, observation: blocked('daily-cap') },
  {
    name: 'verifying: a gate that may lift',
    before: VERIFYING,
    t: MIN,
    observation: blocked('paused', 0, { until: 2 * MIN }),
  },
  {
    name: 'acting: gate-cleared (nothing holds it)',
    before: ACTING,
    t: MIN,
    observation: cleared(0),
  },
  { name: 'verifying: cordoned', before: VERIFYING, t: MIN, observation: cordoned(0) },
  { name: 'acting: cordoned for another step', before: ACTING, t: MIN, observation: cordoned(1) },
  {
    name: 'acting: a cordon someone else owns',
    before: ACTING,
    t: MIN,
    observation: cordoned(0, false),
  },
  {
    name: 'held: the same gate again',
    before: HELD,
    t: B + 30 * SEC,
    observation: blocked('paused', 1, { until: B + 2 * MIN }),
  },
  {
    name: 'held: gate-cleared for another step',
    before: HELD,
    t: B + MIN,
    observation: cleared(0),
  },
  { name: 'held: tick before its deadline', before: HELD, t: B + 30 * SEC, observation: tick },
  { name: 'held: start (resume)', before: HELD, t: B + 30 * SEC, observation: start },
  {
    name: 'held: start past its deadline (resume)',
    before: HELD,
    t: B + 5 * MIN,
    observation: start,
  },
  {
    name: 'waiting to retry: start before the retry',
    before: RETRYING,
    t: 19 * SEC,
    observation: start,
  },
  {
    name: 'waiting to retry: tick before the retry',
    before: RETRYING,
    t: 19 * SEC,
    observation: tick,
  },
  { name: 'waiting to retry: step-done', before: RETRYING, t: 10 * SEC, observation: done(0) },
  {
    name: 'waiting to retry: step-failed',
    before: RETRYING,
    t: 10 * SEC,
    observation: failed(0, true),
  },
  { name: 'waiting to retry: fault-firing', before: RETRYING, t: 10 * SEC, observation: firing },
  {
    name: 'verifying replace: a second resolution',
    before: [...TO_REPLACE, [E + MIN, resolved(E + MIN)]],
    t: E + 2 * MIN,
    observation: resolved(E + 2 * MIN),
  },
  ...everyObservation.flatMap(([label, observation]) => [
    { name: `healed: ${label}`, before: HEALED, t: B + MIN, observation },
    { name: `abandoned: ${label}`, before: ABANDONED, t: B + MIN, observation },
    { name: `cancelled: ${label}`, before: CANCELLED, t: B + MIN, observation },
    { name: `skipped: ${label}`, before: SKIPPED, t: B + MIN, observation },
  ]),
];

describe('nextStep: observations that do not apply are ignored', () => {
  it.each(ignored)('$name', (c) => {
    const record =
      c.before.length === 0
        ? fresh(c.ladder ?? NOT_READY)
        : drive(fresh(c.ladder ?? NOT_READY), c.before).record;
    const result = nextStep(record, c.observation, at(c.t));
    expect(result.record).toBe(record);
    expect(result.changed).toBe(false);
    expect(result.command).toEqual(currentCommand(record));
  });
});

describe('nextStep: a restarted worker resumes from the stored record', () => {
  it.each<{
    name: string;
    ladder?: readonly LadderStep[];
    before: Event[];
    command: Partial<Command>;
  }>([
    {
      name: 'acting step 0: the same act again',
      before: ACTING,
      command: { kind: 'act', stepIndex: 0, attempt: 1, deadline: T0 + 3 * MIN },
    },
    {
      name: 'acting reboot after an escalation: reboot again, never restart-kubelet',
      before: [...VERIFYING, [B, tick]],
      command: { kind: 'act', stepIndex: 1, step: { action: 'reboot', timeoutMs: 10 * MIN } },
    },
    {
      name: 'acting a retry: the same attempt',
      before: [...RETRYING, [20 * SEC, tick]],
      command: { kind: 'act', stepIndex: 0, attempt: 2 },
    },
    {
      name: 'acting drain after cordon: drain again, not cordon',
      ladder: GENERIC,
      before: [
        [0, start],
        [5 * SEC, done(0, true)],
      ],
      command: { kind: 'act', stepIndex: 1, step: { action: 'drain', timeoutMs: 10 * MIN } },
    },
    {
      name: 'verifying: the same verification window',
      before: VERIFYING,
      command: { kind: 'verify', until: T0 + B, stepIndex: 0 },
    },
    {
      name: 'waiting to retry: the same retry time',
      before: RETRYING,
      command: { kind: 'wait-retry', until: T0 + 20 * SEC, attempt: 2 },
    },
    {
      name: 'held by a gate: wait for the same gate',
      before: HELD,
      command: { kind: 'wait-gate', gate: 'paused', until: T0 + B + MIN, stepIndex: 1 },
    },
    {
      name: 'skipped: finish',
      before: SKIPPED,
      command: { kind: 'finish', status: 'skipped', uncordon: false },
    },
    {
      name: 'healed: finish, nothing runs again',
      before: HEALED,
      command: { kind: 'finish', status: 'healed' },
    },
  ])('$name', (c) => {
    const stored = drive(fresh(c.ladder ?? NOT_READY), c.before);
    const resumed = healRecordSchema.parse(JSON.parse(JSON.stringify(stored.record)));
    const result = nextStep(resumed, start, at((c.before.at(-1)?.[0] ?? 0) + SEC));
    expect(result.changed).toBe(false);
    expect(result.command).toMatchObject(c.command);
    expect(result.command).toEqual(stored.command);
  });
});

describe('nextStep: timing details', () => {
  it.each([
    [1, 15 * SEC],
    [2, 30 * SEC],
    [3, 60 * SEC],
    [4, 120 * SEC],
    [5, 240 * SEC],
    [6, 5 * MIN],
    [20, 5 * MIN],
  ])('retry %i waits %i ms', (retry, ms) => {
    expect(retryBackoffMs(retry)).toBe(ms);
  });

  it('a retry keeps stepStartedAt; an escalation resets it', () => {
    const retried = drive(fresh(), [...RETRYING, [20 * SEC, tick]]).record;
    expect(retried.stepStartedAt).toBe(T0);
    const escalated = drive(fresh(), [...VERIFYING, [B, tick]]).record;
    expect(escalated.stepStartedAt).toBe(T0 + B);
  });

  it('retries reset on the next step', () => {
    const run = drive(fresh(), [...RETRYING, [20 * SEC, tick], [21 * SEC, failed(0, true)]]);
    expect(run.record.retries).toBe(0);
    expect(run.command).toMatchObject({ kind: 'act', stepIndex: 1, attempt: 1 });
  });

  it('the resolution time is kept for time to heal, clamped to now', () => {
    const healed = drive(fresh(), [...VERIFYING, [MIN, resolved(50 * SEC)]]).record;
    expect(healed.faultResolvedAt).toBe(T0 + 50 * SEC);
    const future = drive(fresh(), [...VERIFYING, [MIN, resolved(5 * MIN)]]).record;
    expect(future.faultResolvedAt).toBe(T0 + MIN);
  });

  it('a dry run says so when it starts', () => {
    const run = drive(fresh(NOT_READY, { dryRun: true }), ACTING);
    expect(run.record.dryRun).toBe(true);
    expect(run.record.transitions[0]?.detail).toMatch(/^Heal started \(dry run\): /);
  });

  it('the acting command after a note is the same act (nothing new to run)', () => {
    const run = drive(fresh(GENERIC), [
      [0, start],
      [5 * SEC, done(0, true)],
      [MIN, resolved(50 * SEC)],
    ]);
    expect(run.commands[1]).toEqual(run.commands[2]);
    expect(run.changed).toEqual([true, true, true]);
  });
});

// The expert-rule catalog after validation: durations in milliseconds, defaults applied.

/** Remedy actions nodeheal knows; a rule file can only name these. Order is not significant. */
export const REMEDY_ACTIONS = [
  'restart-kubelet',
  'restart-container-runtime',
  'clean-disk',
  'sync-clock',
  'reboot',
  'cordon',
  'drain',
  'replace',
] as const;

export type RemedyAction = (typeof REMEDY_ACTIONS)[number];

/** Name of the fault returned for alerts that no rule claims; reserved in rule files. */
export const GENERIC_FAULT_NAME = 'unknown';

/** More than `maxTransitions` firing/resolved transitions within `windowMs` holds the heal `holdForMs` longer. */
export interface FlapPolicy {
  readonly maxTransitions: number;
  readonly windowMs: number;
  readonly holdForMs: number;
}

/** Which alerts signal a fault: the alert name plus exact `label: value` matches (all must hold). */
export interface AlertSelector {
  readonly alertname: string;
  readonly matchers: Readonly<Record<string, string>>;
  /**
   * This alert's own debounce, instead of the fault's: for alerts whose Prometheus rule already
   * waited a long `for` (kube-prometheus-stack's KubeNodeNotReady fires after 15 minutes).
   */
  readonly debounceMs?: number;
}

/** Alerts nodeheal deliberately does not heal (answered as ignored, `left_alone`), and why. */
export interface LeftAlone {
  readonly alertname: string;
  readonly matchers: Readonly<Record<string, string>>;
  readonly reason: string;
}

/** Skip a step whose recorded success rate over its last `overLast` attempts is below `rate`. */
export interface SuccessRateGate {
  readonly rate: number;
  readonly overLast: number;
}

export interface LadderStep {
  readonly action: RemedyAction;
  /** How long to wait for the fault to resolve after the step before escalating. */
  readonly timeoutMs: number;
  readonly skipBelowSuccessRate?: SuccessRateGate;
}

/**
 * In which order a heal tries the fault's expert remedies: `written` (the ladder as written, the
 * default), or `fastest` (least expected time to heal, learned per pool, once each remedy has
 * enough recorded durations; replace and its cordon/drain stay last).
 */
export const LADDER_ORDERS = ['written', 'fastest'] as const;
export type LadderOrder = (typeof LADDER_ORDERS)[number];

/**
 * Whether a heal of the fault asks a human first: `none` (the default), or `outage` (a drain,
 * reboot or replace of a node that is still Ready waits for an operator's approval when it would
 * leave a workload without a replica, lose local data or evict a pod nothing recreates).
 */
export const APPROVAL_MODES = ['none', 'outage'] as const;
export type ApprovalMode = (typeof APPROVAL_MODES)[number];

export interface Fault {
  /** kebab-case, unique in the catalog; `unknown` is the generic fault. */
  readonly name: string;
  readonly description: string;
  /** Empty for the generic fault. */
  readonly alerts: readonly AlertSelector[];
  /** How long the fault must persist, counted from the alert's startsAt, before acting. */
  readonly debounceMs: number;
  readonly flap: FlapPolicy;
  /** Ordered remedies, tried one after another; never empty. */
  readonly ladder: readonly LadderStep[];
  /** How the ladder is ordered when a heal starts; absent means `written`. */
  readonly order?: LadderOrder;
  /** Whether a heal that would cause an outage waits for approval; absent means `none`. */
  readonly approval?: ApprovalMode;
}

export interface Catalog {
  readonly version: 1;
  /** Where the catalog came from (file name given to the loader). */
  readonly source: string;
  readonly defaults: { readonly debounceMs: number; readonly flap: FlapPolicy };
  /** The ladder for faults no rule names (`cordon → drain → replace` unless the file says otherwise). */
  readonly generic: Fault;
  readonly faults: readonly Fault[];
  /** Alerts that are not node faults nodeheal can heal (cluster-wide, or a human's call). */
  readonly leaveAlone: readonly LeftAlone[];
}

/** One problem in a rule file; line and column are 1-based, path is like `faults[2].ladder[0].action`. */
export interface CatalogError {
  readonly line: number;
  readonly column: number;
  readonly path: string;
  readonly message: string;
}

export type LoadCatalogResult =
  | { readonly ok: true; readonly catalog: Catalog }
  | { readonly ok: false; readonly errors: readonly CatalogError[] };

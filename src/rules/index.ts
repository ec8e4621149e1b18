// The expert-rule catalog: load and validate alert-rules/remedies.yaml, map alerts to faults.
export {
  REMEDY_ACTIONS,
  GENERIC_FAULT_NAME,
  LADDER_ORDERS,
  APPROVAL_MODES,
  type ApprovalMode,
  type LadderOrder,
  type RemedyAction,
  type FlapPolicy,
  type AlertSelector,
  type LeftAlone,
  type SuccessRateGate,
  type LadderStep,
  type Fault,
  type Catalog,
  type CatalogError,
  type LoadCatalogResult,
} from './catalog-types.ts';
export { parseDuration, formatDuration, isDuration, InvalidDurationError } from './duration.ts';
export {
  loadCatalog,
  DEFAULT_DEBOUNCE_MS,
  DEFAULT_FLAP,
  DEFAULT_GENERIC_LADDER,
} from './load-catalog.ts';
export { leftAlone, matchFault, selectorMatches } from './match-fault.ts';

// Step hooks with a veto: per pool, HTTP endpoints asked before a disruptive step (a 409 or 423
// holds it; no clear answer holds it too) and told its result after. The config schema, the pure
// contract (request body, reading answers, backoff), signatures, and the HTTP caller.
export {
  DEFAULT_HOOK_TIMEOUT_MS,
  HOOK_PHASES,
  hookApplies,
  hookSchema,
  hooksSchema,
  type HookConfig,
  type HookPhase,
} from './hook-config.ts';
export {
  classifyReply,
  holdDetail,
  HOOK_API_VERSION,
  hookRequestBody,
  MAX_REASON_CHARS,
  MAX_RETRY_AFTER_MS,
  parseRetryAfter,
  podsToEvict,
  reasonOf,
  retryDelayMs,
  stepResult,
  VETO_STATUSES,
  type HookPod,
  type HookReply,
  type HookRequestBody,
  type HookResult,
  type HookStep,
  type HookVerdict,
} from './hook-contract.ts';
export {
  canonicalHookRequest,
  HOOK_HEADERS,
  HOOK_SIGNATURE_SCHEME,
  HOOK_TIMESTAMP_TOLERANCE_MS,
  signHookRequest,
  verifyHookRequest,
  type HookSignedFields,
} from './hook-signing.ts';
export {
  hookCaller,
  MAX_ANSWER_BYTES,
  type HookCaller,
  type HookClientOptions,
} from './hook-client.ts';

// The node agent (DaemonSet): runs only host commands named in its catalog, authenticated by an
// HMAC over every request and a challenge it issued (used once), and reboots its own node when cut off (self-fence); and the client
// nodeheal uses to reach it (HostCommands).
export {
  agentHostCommands,
  dryRunHostCommands,
  agentEndpointForNode,
  type AgentClientOptions,
  type DryRunCall,
} from './agent-client.ts';
export {
  loadAgentCatalog,
  loadAgentCatalogFile,
  formatAgentCatalogErrors,
  catalogCommand,
  AgentCatalogInvalidError,
  DEFAULT_KILL_GRACE_MS,
  DEFAULT_OUTPUT_TAIL_BYTES,
  DEFAULT_COMMAND_PATH,
  type AgentCatalog,
  type AgentCatalogError,
  type AgentCatalogFile,
  type CatalogCommand,
  type LoadAgentCatalogResult,
} from './agent-catalog.ts';
export {
  loadAgentConfig,
  AgentConfigError,
  AGENT_DEFAULTS,
  type AgentConfig,
  type AgentFlags,
  type HostPort,
  type SelfFenceConfig,
} from './agent-config.ts';
export {
  createAgentServer,
  healthHandler,
  type AgentServer,
  type AgentServerOptions,
  type AgentChallengeResponse,
} from './agent-server.ts';
export type { AgentRunResponse } from './command-dispatch.ts';
export {
  ChallengeStore,
  CHALLENGE_TTL_MS,
  MAX_OUTSTANDING_CHALLENGES,
  type ChallengeCheck,
  type ChallengeStoreOptions,
} from './challenge-store.ts';
export { ResultStore, INTERRUPTED_EXIT_CODE, type StoredResult } from './result-store.ts';
export {
  runCommand,
  OutputTail,
  TIMEOUT_EXIT_CODE,
  NOT_EXECUTABLE_EXIT_CODE,
  NOT_FOUND_EXIT_CODE,
  type CommandRun,
} from './run-command.ts';
export {
  AgentSecretFile,
  AgentSecretError,
  parseSecrets,
  MIN_SECRET_LENGTH,
} from './secret-file.ts';
export {
  AGENT_HEADERS,
  CHALLENGE_PATH,
  CLOCK_SKEW_WARN_MS,
  RUN_PATH,
  SIGNATURE_SCHEME,
  canonicalChallengeRequest,
  canonicalRequest,
  canonicalResponse,
  invalidChallengeField,
  invalidField,
  newNonce,
  signChallengeRequest,
  signRequest,
  signResponse,
  verifyChallengeRequest,
  verifyRequest,
  verifyResponse,
  type ChallengeRequestFields,
  type SignedFields,
  type VerifyResult,
} from './signing.ts';
// Types only: startAgent loads the watchdog (and src/safety, and zod with it) when self-fence is
// on; a value exported here would load them into every agent. Its tests import the file itself.
export type {
  RebootRun,
  SelfFenceWatchdog,
  SelfFenceWatchdogOptions,
} from './self-fence-watchdog.ts';
export { startAgent, type RunningAgent } from './start-agent.ts';

// The host command names a catalog may define, as a runtime list for validating the catalog.
// The list lives here rather than coming from src/actions at run time: src/actions/index.ts
// also loads the Kubernetes client (drain, node ops), about 870 modules and 90 MB resident that
// the agent, running on every node, never uses. Only the type is taken from src/actions (a
// type-only import, erased at run time), and the checks below fail the type-check whenever the
// two lists differ in either direction.
import type { HostCommand } from '../actions/index.ts';

export const AGENT_HOST_COMMANDS = [
  'restart-kubelet',
  'restart-container-runtime',
  'clean-images',
  'rotate-logs',
  'sync-clock',
  'reboot',
] as const satisfies readonly HostCommand[];

type Missing = Exclude<HostCommand, (typeof AGENT_HOST_COMMANDS)[number]>;
/** Compiles only while every HostCommand of src/actions is in AGENT_HOST_COMMANDS. */
export const EVERY_HOST_COMMAND_LISTED: [Missing] extends [never] ? true : Missing = true;

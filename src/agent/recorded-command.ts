// Running one catalog command the way the agent always does: the record says "running" before the
// process starts, the result is recorded when it ends, and the start and the outcome are logged.
// A request that nodeheal sent and the reboot the self-fence watchdog decides on both come here,
// so a reboot nobody asked for leaves the same record and log lines as one that was asked for.
import type { Logger } from '../log/index.ts';
import { catalogCommand, type AgentCatalog } from './agent-catalog.ts';
import type { ResultStore, StoredResult } from './result-store.ts';
import { runCommand, type CommandRun } from './run-command.ts';

/** What running a catalog command on this node needs. */
export interface CommandHost {
  /** This node's name, for the log lines. */
  node: string;
  catalog: AgentCatalog;
  results: ResultStore;
  logger: Logger;
  /** Wall clock in Unix milliseconds, for the record's start time. */
  now: () => number;
}

/**
 * Runs the catalog command `command` for `healId` and resolves with its recorded result; a command
 * that is not in the catalog is an error. Nothing here checks whether it already ran or whether
 * another command is running: callers decide that.
 */
export async function runRecordedCommand(
  host: CommandHost,
  healId: string,
  command: string,
): Promise<StoredResult> {
  const { node, catalog, results, logger } = host;
  const entry = catalogCommand(catalog, command);
  if (entry === undefined) throw new Error(`no catalog entry for ${command}`);
  results.begin(healId, command, host.now());
  logger.info({ healId, node, command, argv: entry.argv }, 'agent running host command');
  let run: CommandRun;
  try {
    run = await runCommand(entry, catalog.outputTailBytes);
  } catch (error) {
    // runCommand turns a failure to start into an exit code, but a throw from spawn itself (an
    // argument it rejects) still gets here; the record must not stay "running" for it.
    run = {
      exitCode: 1,
      output: `[nodeheal-agent] ${(error as Error).message}`,
      durationMs: 0,
      timedOut: false,
    };
  }
  const record = results.finish(healId, command, run);
  logger.info(
    {
      healId,
      node,
      command,
      exitCode: run.exitCode,
      durationMs: run.durationMs,
      timedOut: run.timedOut,
    },
    run.exitCode === 0 ? 'host command succeeded' : 'host command failed',
  );
  return record;
}

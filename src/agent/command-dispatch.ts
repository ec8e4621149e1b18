// What an authenticated run request gets: refused for another node or a command outside the
// catalog, answered from the record when its (heal id, command) already ran, joined to the run
// when it is the command running now, refused while another command runs (one at a time per
// node), else the command runs. The request pipeline in agent-server.ts hands over only requests
// that verified and spent their challenge, so nothing here knows about signatures or clocks.
import type { ServerResponse } from 'node:http';
import { catalogCommand } from './agent-catalog.ts';
import { runRecordedCommand, type CommandHost } from './recorded-command.ts';
import { sendJson, type ResponseSigning } from './request-envelope.ts';
import type { StoredResult } from './result-store.ts';
import type { SignedFields } from './signing.ts';

/** The JSON body of a 200 from `POST /v1/run`. */
export interface AgentRunResponse {
  outcome: 'ok' | 'failed';
  exitCode: number;
  output: string;
  durationMs: number;
  timedOut: boolean;
  node: string;
  command: string;
  healId: string;
  startedAt: string;
  /** True when this is the recorded result of an earlier request (nothing ran now). */
  recorded: boolean;
}

/** The command a request is running now. */
export interface RunningCommand {
  healId: string;
  command: string;
}

export interface CommandDispatcher {
  /** Answers the run request on `res`, signed with `signing`; resolves once it has answered. */
  dispatch: (res: ServerResponse, fields: SignedFields, signing: ResponseSigning) => Promise<void>;
  running: () => RunningCommand | undefined;
  /** Resolves once no command is running. */
  idle: () => Promise<void>;
}

function toResponse(node: string, record: StoredResult, recorded: boolean): AgentRunResponse {
  return {
    outcome: record.exitCode === 0 ? 'ok' : 'failed',
    exitCode: record.exitCode,
    output: record.output,
    durationMs: record.durationMs,
    timedOut: record.timedOut,
    node,
    command: record.command,
    healId: record.healId,
    startedAt: record.startedAt,
    recorded,
  };
}

/** The dispatcher of one agent; it holds the command running now. */
export function createCommandDispatcher(host: CommandHost): CommandDispatcher {
  const { node, catalog, logger, results } = host;
  let current: (RunningCommand & { done: Promise<StoredResult> }) | undefined;

  async function dispatch(
    res: ServerResponse,
    fields: SignedFields,
    signing: ResponseSigning,
  ): Promise<void> {
    const log = { healId: fields.healId, node: fields.node, command: fields.command };
    if (fields.node !== node) {
      logger.warn({ ...log, agentNode: node }, 'agent refused: request is for another node');
      sendJson(
        res,
        403,
        { error: 'wrong-node', detail: `this agent runs on ${node}, not ${fields.node}` },
        signing,
      );
      return;
    }
    if (catalogCommand(catalog, fields.command) === undefined) {
      logger.warn(log, 'agent refused: command not in catalog');
      sendJson(
        res,
        404,
        {
          outcome: 'unknown-command',
          detail: `${fields.command} is not in the agent catalog of ${node}`,
        },
        signing,
      );
      return;
    }
    const recorded = results.get(fields.healId, fields.command);
    if (recorded && recorded.state === 'done') {
      logger.info(log, 'agent answered from its record: this heal already ran this command');
      sendJson(res, 200, { ...toResponse(node, recorded, true) }, signing);
      return;
    }
    if (current && current.healId === fields.healId && current.command === fields.command) {
      logger.info(log, 'agent joined the same command already running');
      const record = await current.done;
      sendJson(res, 200, { ...toResponse(node, record, true) }, signing);
      return;
    }
    if (current) {
      logger.warn({ ...log, running: current.command }, 'agent busy: another command is running');
      sendJson(
        res,
        409,
        {
          error: 'busy',
          detail: `${current.command} (heal ${current.healId}) is running on ${node}`,
        },
        signing,
      );
      return;
    }
    const done = runRecordedCommand(host, fields.healId, fields.command);
    current = { healId: fields.healId, command: fields.command, done };
    try {
      const record = await done;
      // Written before `current` clears, so shutdown (`idle()`) never finds no command running
      // while this answer is still unwritten.
      sendJson(res, 200, { ...toResponse(node, record, false) }, signing);
    } finally {
      current = undefined;
    }
  }

  return {
    dispatch,
    running: () => (current ? { healId: current.healId, command: current.command } : undefined),
    idle: async () => {
      while (current) await current.done.catch(() => undefined);
    },
  };
}

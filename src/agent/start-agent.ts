// Starts the node agent: loads its catalog and secret, opens the authenticated command port and
// the loopback health port. Nothing here talks to the Kubernetes API: the agent must work while
// kubelet, the container runtime or the API server is down.
import type { Server } from 'node:http';
import type { Logger } from '../log/index.ts';
import { catalogCommand, loadAgentCatalogFile } from './agent-catalog.ts';
import { AgentConfigError, type AgentConfig } from './agent-config.ts';
import { createAgentServer, healthHandler } from './agent-server.ts';
import { runRecordedCommand } from './recorded-command.ts';
import { ResultStore } from './result-store.ts';
import { AgentSecretFile } from './secret-file.ts';
import type { SelfFenceWatchdog } from './self-fence-watchdog.ts';

// node:http through getBuiltinModule, not `import`: an ESM import of a builtin builds a facade
// that reads every export, and node:http's lazy WebSocket, CloseEvent and MessageEvent getters
// then load the bundled undici (with http2, worker_threads...): about 5 MB resident the agent
// would keep for nothing (measured: docs/benchmarks.md, "Footprint").
const { createServer } = process.getBuiltinModule('node:http');

export interface RunningAgent {
  /** `host:port` the command port listens on. */
  address: string;
  /** `host:port` of the health port, when there is one. */
  healthAddress: string | undefined;
  /** Stops accepting requests, waits for a running command to finish, closes both ports. */
  close: () => Promise<void>;
}

async function listen(server: Server, host: string, port: number): Promise<string> {
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolveListen();
    });
  });
  const address = server.address();
  const actual = typeof address === 'object' && address ? address.port : port;
  return `${host.includes(':') ? `[${host}]` : host}:${actual}`;
}

/**
 * Starts an agent from its configuration.
 *
 * - The catalog and the secret file are read first: a missing or invalid one throws (the
 *   process exits non-zero) before any port opens.
 * - Results are kept in `stateDir` when configured, so a retry after a restart is answered from
 *   the record.
 * - Requests may take as long as the longest catalog timeout: the command port has no response
 *   timeout, only header and idle limits.
 * - With self-fence on, the catalog must have `reboot` (else it throws before any port opens);
 *   the watchdog starts once the ports listen and runs that entry exactly as a request for
 *   `reboot` would (`runRecordedCommand`: the result record and log lines), without waiting for a
 *   command a request is running. `close` stops it first.
 */
export async function startAgent(config: AgentConfig, logger: Logger): Promise<RunningAgent> {
  const catalog = await loadAgentCatalogFile(config.catalog);
  if (config.selfFence && catalogCommand(catalog, 'reboot') === undefined) {
    throw new AgentConfigError(
      `self-fence needs the host command reboot, and the catalog ${config.catalog} has none`,
    );
  }
  const secrets = new AgentSecretFile(config.secretFile);
  let reportedError: string | undefined;
  const results = new ResultStore({ dir: config.stateDir });
  const agent = createAgentServer({
    node: config.node,
    catalog,
    logger,
    results,
    secrets: () => {
      const all = secrets.all();
      const error = secrets.lastError()?.message;
      if (error !== reportedError) {
        reportedError = error;
        if (error)
          logger.error({ err: error }, 'agent secret file unusable; keeping the last good');
        else logger.info('agent secret file reloaded');
      }
      return all;
    },
  });

  const server = createServer({ requestTimeout: 0, headersTimeout: 10_000 }, agent.handle);
  server.keepAliveTimeout = 5_000;
  server.maxHeadersCount = 50;
  const health = config.health ? createServer(healthHandler) : undefined;

  const address = await listen(server, config.listenHost, config.listenPort);
  let healthAddress: string | undefined;
  try {
    healthAddress =
      health && config.health
        ? await listen(health, config.health.host, config.health.port)
        : undefined;
  } catch (error) {
    server.close();
    throw error;
  }
  logger.info(
    {
      node: config.node,
      listen: address,
      health: healthAddress ?? 'off',
      catalog: config.catalog,
      commands: [...catalog.commands.keys()],
      stateDir: config.stateDir ?? null,
    },
    'nodeheal agent listening',
  );

  let watchdog: SelfFenceWatchdog | undefined;
  if (config.selfFence) {
    // Loaded only when on: the watchdog's decision lives in src/safety, which loads zod, and the
    // default agent (no self-fence) keeps neither (docs/benchmarks.md, "Footprint").
    const { startSelfFenceWatchdog } = await import('./self-fence-watchdog.ts');
    watchdog = startSelfFenceWatchdog({
      config: config.selfFence,
      node: config.node,
      self: { host: config.listenHost, port: Number(address.slice(address.lastIndexOf(':') + 1)) },
      logger,
      // Not through the server's dispatcher: a command a request is running must not hold back
      // the reboot of a node that is cut off.
      reboot: (id) =>
        runRecordedCommand(
          { node: config.node, catalog, results, logger, now: Date.now },
          id,
          'reboot',
        ),
    });
  }

  return {
    address,
    healthAddress,
    close: async () => {
      await watchdog?.stop();
      const closed = new Promise<void>((resolveClose) => server.close(() => resolveClose()));
      server.closeIdleConnections();
      await agent.idle();
      // Let the last answer go out, then drop whatever connection is left.
      server.closeIdleConnections();
      await Promise.race([closed, new Promise((r) => setTimeout(r, 2_000).unref())]);
      server.closeAllConnections();
      await closed;
      await new Promise<void>((resolveClose) =>
        health ? health.close(() => resolveClose()) : resolveClose(),
      );
    },
  };
}

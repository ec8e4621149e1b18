// `nodeheal agent`: the node agent of the DaemonSet. Runs catalogued host commands for nodeheal
// over an authenticated port on the node's IP; needs neither kubelet nor the Kubernetes API.
import { loadAgentConfig, startAgent, type AgentFlags } from '../agent/index.ts';
import { createLogger } from '../log/index.ts';

export type AgentOptions = AgentFlags;

export async function agent(options: AgentOptions): Promise<void> {
  const logger = createLogger();
  const config = await loadAgentConfig(options);
  const running = await startAgent(config, logger);

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(
      { signal, listen: running.address },
      'agent shutting down: no new requests, letting a running command finish',
    );
    running.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'agent shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

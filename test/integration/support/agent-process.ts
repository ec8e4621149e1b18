// A real `nodeheal agent` process for one simulated node, with a catalog the test writes.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { eventually } from '../../stack/helpers/poll.ts';
import { repoRoot } from '../../stack/paths.ts';
import { freePort } from '../../stack/ports.ts';

export interface AgentProcess {
  url: string;
  stateDir: string;
  stop: () => Promise<void>;
}

export interface CatalogCommand {
  argv: string[];
  timeout: string;
  env?: Record<string, string>;
}

export async function startAgentProcess(
  node: string,
  secretFile: string,
  commands: Record<string, CatalogCommand>,
): Promise<AgentProcess> {
  const stateDir = mkdtempSync(join(tmpdir(), `nodeheal-agent-${node}-`));
  const catalog = join(stateDir, 'catalog.yaml');
  // '@STATE@' in an argv stands for this agent's state directory (where runs.log is written).
  const resolved = Object.fromEntries(
    Object.entries(commands).map(([name, c]) => [
      name,
      { ...c, argv: c.argv.map((a) => a.replaceAll('@STATE@', stateDir)) },
    ]),
  );
  writeFileSync(catalog, stringify({ version: 1, commands: resolved }));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let output = '';
  const child = spawn(process.execPath, [join(repoRoot, 'src', 'main.ts'), 'agent'], {
    env: {
      ...process.env,
      NODEHEAL_AGENT_LISTEN: `127.0.0.1:${port}`,
      NODEHEAL_AGENT_HEALTH_LISTEN: 'off',
      NODEHEAL_AGENT_SECRET_FILE: secretFile,
      NODEHEAL_AGENT_CATALOG: catalog,
      NODEHEAL_AGENT_NODE: node,
      NODEHEAL_AGENT_STATE_DIR: join(stateDir, 'results'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  await eventually(`agent for ${node} listening (${output.slice(-300)})`, async () => {
    if (child.exitCode !== null) throw new Error(`agent exited: ${output}`);
    // Unauthenticated requests are refused: a 401 proves the agent listens.
    const res = await fetch(`${url}/v1/run`, { method: 'POST' }).catch(() => undefined);
    return res !== undefined;
  });
  return {
    url,
    stateDir,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/**
 * The commands the agent's fixture (test/agent-fixtures/record-run.sh) ran, in order: none when
 * it wrote no runs.log yet. Any other read error is the test's failure, not "nothing ran".
 */
export function commandsRun(agent: Pick<AgentProcess, 'stateDir'>): string[] {
  try {
    return readFileSync(join(agent.stateDir, 'runs.log'), 'utf8').trim().split('\n');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

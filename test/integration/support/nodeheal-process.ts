// Runs the real `nodeheal serve` as a child process for end-to-end tests, with a remedy catalog
// whose debounces are shortened so that tests wait seconds, not minutes.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { freePort } from '../../stack/ports.ts';
import { repoRoot } from '../../stack/paths.ts';
import { eventually } from '../../stack/helpers/poll.ts';

/** The shipped catalog with every debounce set to `debounce` (rules are configuration). */
export function shortDebounceCatalog(debounce: string): string {
  const doc = parseDocument(readFileSync(join(repoRoot, 'alert-rules', 'remedies.yaml'), 'utf8'));
  doc.setIn(['defaults', 'debounce'], debounce);
  doc.setIn(['generic', 'debounce'], debounce);
  const faults = doc.get('faults') as { items: unknown[] };
  faults.items.forEach((_, i) => doc.setIn(['faults', i, 'debounce'], debounce));
  return doc.toString();
}

export interface NodehealProcess {
  url: string;
  child: ChildProcess;
  output: () => string;
  metric: (name: string, labels?: Record<string, string>) => Promise<number>;
  stop: () => Promise<void>;
}

export async function startNodeheal(
  env: Record<string, string>,
  catalogYaml: string,
): Promise<NodehealProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'nodeheal-serve-'));
  const rules = join(dir, 'remedies.yaml');
  writeFileSync(rules, catalogYaml);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let output = '';
  const child = spawn(process.execPath, [join(repoRoot, 'src', 'main.ts'), 'serve'], {
    env: {
      ...process.env,
      NODEHEAL_LISTEN: `127.0.0.1:${port}`,
      NODEHEAL_RULES: rules,
      NODEHEAL_LOG_LEVEL: 'debug',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  await eventually(
    `nodeheal serve on ${url} (output: ${output.slice(-500)})`,
    async () => {
      if (child.exitCode !== null) throw new Error(`nodeheal exited ${child.exitCode}: ${output}`);
      return (await fetch(`${url}/healthz`)).ok;
    },
    30_000,
  );
  const metric = async (name: string, labels: Record<string, string> = {}) => {
    const text = await (await fetch(`${url}/metrics`)).text();
    let total = 0;
    for (const line of text.split('\n')) {
      if (!line.startsWith(name)) continue;
      const ok = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
      if (ok && (line[name.length] === '{' || line[name.length] === ' '))
        total += Number(line.split(' ').pop());
    }
    return total;
  };
  return {
    url,
    child,
    output: () => output,
    metric,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

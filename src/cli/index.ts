// The `nodeheal` command line: one subcommand per role and tool named in DESIGN.md.
import { Command } from 'commander';
import { AGENT_OPTIONS } from './agent-options.ts';
import { runAction as run } from './run-action.ts';

/**
 * Runs long-lived roles until SIGTERM or SIGINT, then stops them all gracefully (a second
 * signal, or 30 s, ends the process regardless).
 */
async function runRoles(starts: (() => Promise<() => Promise<void>>)[]): Promise<void> {
  const stops: (() => Promise<void>)[] = [];
  for (const start of starts) stops.push(await start());
  const stop = () => {
    setTimeout(() => process.exit(0), 30_000).unref();
    void Promise.allSettled(stops.map((s) => s())).then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

export function buildCli(): Command {
  const program = new Command('nodeheal')
    .description(
      'Heals Kubernetes nodes from Prometheus alerts: expert remedies first, then replacement',
    )
    .version('0.1.0');

  program
    .command('serve')
    .description('run the webhook intake, health, readiness and metrics (HTTP)')
    .option(
      '--insecure-no-auth',
      'accept webhooks without credentials (never in production)',
      false,
    )
    .action((opts: { insecureNoAuth: boolean }) =>
      run(async () => runRoles([async () => (await import('./serve.ts')).serve(opts)])),
    );
  program
    .command('worker')
    .description('run heal workers that take due heal jobs from the queue')
    .action(() => run(async () => runRoles([async () => (await import('./worker.ts')).worker()])));
  const agentCommand = program
    .command('agent')
    .description('run the node agent that executes catalogued host commands');
  // The same table src/main.ts parses without commander when the options are plainly valid.
  for (const option of AGENT_OPTIONS) agentCommand.option(option.flags, option.description);
  agentCommand.action((opts: Record<string, string | boolean | undefined>) =>
    run(async () => (await import('./agent.ts')).agent(opts)),
  );
  program
    .command('all')
    .description('run serve and worker in one process (worker metrics on NODEHEAL_WORKER_LISTEN)')
    .option(
      '--insecure-no-auth',
      'accept webhooks without credentials (never in production)',
      false,
    )
    .action((opts: { insecureNoAuth: boolean }) =>
      run(async () =>
        runRoles([
          async () => (await import('./serve.ts')).serve(opts),
          async () => (await import('./worker.ts')).worker(),
        ]),
      ),
    );

  const rules = program.command('rules').description('work with the expert-rule catalog');
  rules
    .command('check')
    .argument(
      '[file]',
      'rule catalog to validate (with --prometheus: the catalog to read the rules against)',
      process.env.NODEHEAL_RULES ?? 'alert-rules/remedies.yaml',
    )
    .description('validate a remedy catalog and report errors with line numbers')
    .option(
      '--prometheus <file>',
      'instead: what nodeheal would do with each alert of a Prometheus rule file or PrometheusRule, by the catalog [file]',
    )
    .option('--json', 'with --prometheus: print JSON', false)
    .action((file: string, opts: { prometheus?: string; json: boolean }) =>
      run(async () => {
        if (opts.json && opts.prometheus === undefined)
          throw new Error('--json goes with --prometheus');
        // Loaded on demand: each command pulls in only what it needs (start-up time).
        const prometheus = opts.prometheus;
        const result =
          prometheus === undefined
            ? await import('./check-rules-file.ts').then((m) => m.checkRulesFile(file))
            : await import('./check-prometheus-rules.ts').then((m) =>
                m.checkPrometheusRulesFile(prometheus, file, opts.json),
              );
        (result.exitCode === 0 ? process.stdout : process.stderr).write(
          result.output.endsWith('\n') ? result.output : `${result.output}\n`,
        );
        return result.exitCode;
      }),
    );

  program
    .command('simulate')
    .description(
      'read a webhook payload (Alertmanager, or --source grafana) on stdin and print what nodeheal would do',
    )
    .option(
      '--source <name>',
      'alert source of the payload: alertmanager or grafana',
      'alertmanager',
    )
    .option(
      '--rules <file>',
      'remedy catalog',
      process.env.NODEHEAL_RULES ?? 'alert-rules/remedies.yaml',
    )
    .option('--now <time>', 'evaluate as of this RFC3339 time (default: now)')
    .option('--kubeconfig <file>', 'resolve instance labels against this cluster (read-only)')
    .option('--json', 'print JSON', false)
    .action(
      (opts: { rules: string; now?: string; json: boolean; kubeconfig?: string; source: string }) =>
        run(async () => (await import('./simulate.ts')).simulate(opts)),
    );
  program
    .command('status')
    .argument('[node]', 'only this node')
    .description('show heal records from Redis: the newest heals, or one node with its transitions')
    .option('--json', 'print JSON (the views of the HTTP API)', false)
    .option('--limit <n>', 'show at most this many heals (1-500, default 100)')
    .action((node: string | undefined, opts: { json: boolean; limit?: string }) =>
      run(async () => (await import('./status.ts')).status(node, opts)),
    );
  return program;
}

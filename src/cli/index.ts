// The `nodeheal` command line: one subcommand per role and tool named in DESIGN.md.
import { Command } from 'commander';
import { notYet } from './not-yet.ts';

export function buildCli(): Command {
  const program = new Command('nodeheal')
    .description(
      'Heals Kubernetes nodes from Prometheus alerts: expert remedies first, then replacement',
    )
    .version('0.1.0');

  program
    .command('serve')
    .description('run the webhook intake, status pages and metrics (HTTP)')
    .action(() => notYet('serve', 'intake arrives with issue 3'));
  program
    .command('worker')
    .description('run heal workers that take due heal jobs from the queue')
    .action(() => notYet('worker', 'heal workers arrive with issue 4'));
  program
    .command('agent')
    .description('run the node agent that executes catalogued host commands')
    .action(() => notYet('agent', 'the node agent arrives with issue 4'));
  program
    .command('all')
    .description('run serve and worker in one process')
    .action(() => notYet('all', 'needs serve (issue 3) and worker (issue 4)'));

  const rules = program.command('rules').description('work with the expert-rule catalog');
  rules
    .command('check')
    .argument('[file]', 'rule catalog to validate', 'alert-rules/remedies.yaml')
    .description('validate a remedy catalog and report errors with line numbers')
    .action(() => notYet('rules check', 'the rule catalog arrives with issue 3'));

  program
    .command('simulate')
    .description('read an Alertmanager payload on stdin and print what nodeheal would do')
    .action(() => notYet('simulate', 'triage arrives with issue 3'));
  program
    .command('status')
    .argument('[node]', 'only this node')
    .description('show heal records')
    .action(() => notYet('status', 'heal records arrive with issue 4'));
  return program;
}

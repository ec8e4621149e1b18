#!/usr/bin/env node
// nodeheal's composition root: parse the command line and run the chosen command.
//
// `nodeheal agent` with plainly valid options starts without commander: the agent runs on every
// node, and commander is about 1 MiB resident it would keep (docs/benchmarks.md, "Footprint").
// Every other command line, `nodeheal agent --help` and agent options commander must refuse
// included, goes through commander (src/cli/index.ts).
import { agentFlagsFromArgv } from './cli/agent-argv.ts';
import { runAction } from './cli/run-action.ts';

const agentFlags = agentFlagsFromArgv(process.argv);
if (agentFlags !== undefined) {
  await runAction(async () => (await import('./cli/agent.ts')).agent(agentFlags));
} else {
  const { buildCli } = await import('./cli/index.ts');
  await buildCli().parseAsync(process.argv);
}

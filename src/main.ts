#!/usr/bin/env node
// nodeheal's composition root: parse the command line and run the chosen command.
import { buildCli } from './cli/index.ts';

await buildCli().parseAsync(process.argv);

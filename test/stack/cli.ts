// `npm run stack -- up|down|status|env`: the local stack from a shell.
//   up [--foreground] [--parts redis,kube,monitoring] [--alertmanagers 2] [--upstream-alertmanager]
//                                        start and return once ready (or stay until Ctrl-C)
//   down                                 stop what `up` started
//   status                               what is running, where, and its logs
//   env                                  shell exports: eval "$(npm run -s stack -- env)"
import { Command, InvalidArgumentError } from 'commander';
import { rmSync } from 'node:fs';
import { stateFile } from './paths.ts';
import { isAlive } from './process.ts';
import {
  allParts,
  readState,
  stackEnv,
  startStack,
  stopRecordedStack,
  writeState,
  type StackPart,
} from './stack.ts';

function parseParts(value: string): StackPart[] {
  const parts = value.split(',').map((p) => p.trim());
  for (const p of parts) {
    if (!allParts.includes(p as StackPart)) {
      throw new InvalidArgumentError(`unknown part "${p}"; parts are ${allParts.join(', ')}`);
    }
  }
  return parts as StackPart[];
}

function parseCount(value: string): 1 | 2 {
  if (value !== '1' && value !== '2') throw new InvalidArgumentError('must be 1 or 2');
  return Number(value) as 1 | 2;
}

const program = new Command('stack').description("nodeheal's local stack of real servers");

program
  .command('up')
  .description('start the stack and return once every part is ready')
  .option('--foreground', 'stay attached; Ctrl-C stops everything', false)
  .option('--parts <list>', `comma-separated parts (${allParts.join(',')})`, parseParts)
  .option('--alertmanagers <n>', '1, or 2 for an HA pair', parseCount, 1)
  .option('--upstream-alertmanager', 'use the current Alertmanager built from Go', false)
  .action(
    async (opts: {
      foreground: boolean;
      parts?: StackPart[];
      alertmanagers: 1 | 2;
      upstreamAlertmanager: boolean;
    }) => {
      const previous = readState(stateFile());
      if (previous && Object.values(previous.pids).some(isAlive)) {
        console.error(`a stack is already running (${stateFile()}); run \`npm run stack -- down\``);
        process.exit(1);
      }
      const stack = await startStack({
        mode: opts.foreground ? 'attached' : 'daemon',
        parts: opts.parts ?? allParts,
        alertmanagers: opts.alertmanagers,
        alertmanagerFlavor: opts.upstreamAlertmanager ? 'upstream' : 'debian',
      });
      writeState(stateFile(), stack.info);
      printWhere(stack.info.pids, stackEnv(stack.info));
      if (opts.foreground) {
        console.error('stack running in the foreground; Ctrl-C stops it');
        const stop = async () => {
          await stack.stop();
          rmSync(stateFile(), { force: true });
          process.exit(0);
        };
        process.once('SIGINT', () => void stop());
        process.once('SIGTERM', () => void stop());
      } else {
        stack.detach();
        console.error(`stack left running; stop it with \`npm run stack -- down\``);
        process.exit(0);
      }
    },
  );

program
  .command('down')
  .description('stop the stack that `up` started')
  .action(async () => {
    const info = readState(stateFile());
    if (!info) {
      console.error('no stack recorded; nothing to stop');
      return;
    }
    await stopRecordedStack(info);
    rmSync(stateFile(), { force: true });
    console.error('stack stopped');
  });

program
  .command('status')
  .description('show what is running and where its logs are')
  .action(() => {
    const info = readState(stateFile());
    if (!info) {
      console.log('no stack recorded');
      process.exitCode = 1;
      return;
    }
    for (const [name, pid] of Object.entries(info.pids)) {
      const state = isAlive(pid) ? 'running' : 'DEAD';
      console.log(`${name.padEnd(24)} ${state.padEnd(8)} pid ${pid}  log ${info.logs[name]}`);
    }
    printWhere({}, stackEnv(info));
    if (!Object.values(info.pids).every(isAlive)) process.exitCode = 1;
  });

program
  .command('env')
  .description('print shell exports for clients of the running stack')
  .action(() => {
    const info = readState(stateFile());
    if (!info) {
      console.error('no stack recorded; run `npm run stack -- up` first');
      process.exitCode = 1;
      return;
    }
    for (const [key, value] of Object.entries(stackEnv(info))) {
      console.log(`export ${key}='${value.replaceAll("'", "'\\''")}'`);
    }
  });

function printWhere(pids: Record<string, number>, env: Record<string, string>): void {
  for (const [name, pid] of Object.entries(pids)) console.error(`  ${name} (pid ${pid})`);
  for (const [key, value] of Object.entries(env)) console.error(`  ${key}=${value}`);
}

await program.parseAsync(process.argv);

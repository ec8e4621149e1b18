// How a command ends, shared by commander's actions (src/cli/index.ts) and the agent's start
// without commander (src/main.ts): no commander import here.

/** Errors that stop a command print one clear line and exit 1 (config, rules, auth set-up). */
export async function runAction(action: () => Promise<number | void>): Promise<void> {
  try {
    const code = await action();
    if (typeof code === 'number') process.exitCode = code;
  } catch (error) {
    process.stderr.write(`nodeheal: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}

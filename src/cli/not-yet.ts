// Commands that DESIGN.md promises but that have not been built yet say so honestly.
export const NOT_YET_EXIT_CODE = 2;

export function notYet(command: string, issue: string): never {
  process.stderr.write(`nodeheal ${command}: not implemented yet (${issue})\n`);
  process.exit(NOT_YET_EXIT_CODE);
}

// Progress messages for people watching a build or a stack start; always on stderr so that
// `stack env` output stays clean for eval.
export function say(message: string): void {
  process.stderr.write(`[stack] ${message}\n`);
}

// Vitest global setup for the `stack` project: one local stack for every integration test file,
// stopped (and checked) when the run ends, whether it passed or failed.
import type { TestProject } from 'vitest/node';
import { startStack, type StackInfo } from './stack.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    stack: StackInfo;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const stack = await startStack({ mode: 'attached', alertmanagers: 2 });
  project.provide('stack', stack.info);
  return async () => {
    await stack.stop();
  };
}

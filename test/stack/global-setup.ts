// Vitest global setup for the `stack` project: one local stack for every integration test file,
// stopped (and checked) when the run ends, whether it passed or failed.
import { rmSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
import { suiteAuditLog } from './audit.ts';
import { startStack, type StackInfo } from './stack.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    stack: StackInfo;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // The audit log of this run alone: check-rbac-usage.ts compares it with the chart's ClusterRole.
  rmSync(suiteAuditLog, { force: true });
  const stack = await startStack({ mode: 'attached', alertmanagers: 2, auditLog: suiteAuditLog });
  project.provide('stack', stack.info);
  return async () => {
    await stack.stop();
  };
}

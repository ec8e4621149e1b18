// Vitest global setup for the `stack` project: one local stack for every integration test file,
// stopped (and checked) when the run ends, whether it passed or failed.
import type { TestProject } from 'vitest/node';
import { newSuiteAuditLog } from './audit.ts';
import { startStack, type StackInfo } from './stack.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    stack: StackInfo;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // The audit log of this run alone: check-rbac-usage.ts compares it with the chart's ClusterRole.
  const auditLog = newSuiteAuditLog();
  const stack = await startStack({ mode: 'attached', alertmanagers: 2, auditLog });
  project.provide('stack', stack.info);
  return async () => {
    await stack.stop();
  };
}

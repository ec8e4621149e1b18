// kubectl (built with the stack) as the stack's admin: for what kubectl does better than a typed
// client, such as server-side apply of whole YAML files and waiting for CRDs.
import { execFileSync } from 'node:child_process';
import type { StackInfo } from '../stack.ts';

/** Runs kubectl with the stack's admin kubeconfig; throws with kubectl's own message. */
export function kubectl(stack: StackInfo, args: string[], input?: string): string {
  if (!stack.kubectl || !stack.kubeconfig) throw new Error('this stack has no Kubernetes part');
  try {
    return execFileSync(stack.kubectl, ['--kubeconfig', stack.kubeconfig, ...args], {
      input,
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'],
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (error) {
    const e = error as { stderr?: string; stdout?: string; message: string };
    throw new Error(`kubectl ${args.join(' ')} failed: ${e.stderr ?? ''}${e.stdout ?? ''}`.trim(), {
      cause: error,
    });
  }
}

/** Server-side applies CRD files and waits until every CRD is Established. */
export function applyCrds(stack: StackInfo, files: string[]): void {
  const args = ['apply', '--server-side', '--force-conflicts', '--field-manager=nodeheal-tests'];
  for (const file of files) args.push('-f', file);
  kubectl(stack, args);
  for (const file of files) {
    kubectl(stack, ['wait', '--for=condition=Established', '--timeout=60s', '-f', file]);
  }
}

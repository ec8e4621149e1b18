// The apiserver's audit log, limited to nodeheal's own identities: what every nodeheal process in
// the tests asked the apiserver for, so that the chart's ClusterRole can be compared with what
// nodeheal really uses (test/stack/check-rbac-usage.ts).
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { setHeaderOptions } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { repoRoot } from './paths.ts';

const auditDir = join(repoRoot, '.stack', 'audit');
const latestPointer = join(auditDir, 'latest');

/**
 * A new audit log for a test suite's shared stack (outlives the stack; read after the run), one
 * per run so that two runs on one checkout never write into each other's; `latestSuiteAuditLog`
 * finds it. Logs of runs older than a day are removed.
 */
export function newSuiteAuditLog(): string {
  mkdirSync(auditDir, { recursive: true });
  for (const name of readdirSync(auditDir)) {
    const path = join(auditDir, name);
    if (name.endsWith('.log') && Date.now() - statSync(path).mtimeMs > 86_400_000) rmSync(path);
  }
  const path = join(auditDir, `suite-${Date.now()}-${process.pid}.log`);
  writeFileSync(latestPointer, `${path}\n`);
  return path;
}

/** The audit log of the latest suite run on this checkout, if any. */
export function latestSuiteAuditLog(): string | undefined {
  return existsSync(latestPointer) ? readFileSync(latestPointer, 'utf8').trim() : undefined;
}

/**
 * Namespaces whose ServiceAccounts are nodeheal: `nodeheal-system` (the heal tests' identity,
 * bound to the chart's ClusterRole) and `nodeheal` (the release the chart test installs).
 */
export const AUDITED_SA_NAMESPACES = ['nodeheal-system', 'nodeheal'] as const;

/**
 * User agent of requests a test makes with nodeheal's token on purpose to see them refused
 * (negative RBAC checks): they are not something nodeheal uses, and their 403 is expected.
 */
export const RBAC_PROBE_USER_AGENT = 'nodeheal-rbac-probe';
export const rbacProbe = setHeaderOptions('User-Agent', RBAC_PROBE_USER_AGENT);

/** Writes an audit policy: Metadata for nodeheal's ServiceAccounts, nothing for anyone else. */
export function writeAuditPolicy(path: string): void {
  const policy = {
    apiVersion: 'audit.k8s.io/v1',
    kind: 'Policy',
    // One event per request (ResponseComplete, or Panic), not one per stage.
    omitStages: ['RequestReceived', 'ResponseStarted'],
    rules: [
      {
        level: 'Metadata',
        userGroups: AUDITED_SA_NAMESPACES.map((ns) => `system:serviceaccounts:${ns}`),
      },
      { level: 'None' },
    ],
  };
  writeFileSync(path, stringify(policy));
}

/** kube-apiserver flags that write the audit log at `logPath` with the policy at `policyPath`. */
export function auditFlags(policyPath: string, logPath: string): string[] {
  return [
    `--audit-policy-file=${policyPath}`,
    `--audit-log-path=${logPath}`,
    '--audit-log-format=json',
    // Written as events happen (the suite reads it right after the run).
    '--audit-log-mode=blocking',
    '--audit-log-maxsize=0',
  ];
}

/** One permission as RBAC names it. */
export interface Grant {
  verb: string;
  group: string;
  /** `resource` or `resource/subresource`. */
  resource: string;
}

export const grantKey = (g: Grant) => `${g.verb} ${g.group || 'core'} ${g.resource}`;

export interface AuditedRequest extends Grant {
  user: string;
  userAgent: string;
  /** The authorizer's answer: `allow` or `forbid`. */
  decision: string;
  uri: string;
  namespace: string;
  name: string;
  /** HTTP status of the answer. */
  code: number;
  at: string;
}

interface AuditEvent {
  verb?: string;
  requestURI?: string;
  user?: { username?: string };
  userAgent?: string;
  objectRef?: {
    apiGroup?: string;
    resource?: string;
    subresource?: string;
    namespace?: string;
    name?: string;
  };
  annotations?: Record<string, string>;
  responseStatus?: { code?: number };
  requestReceivedTimestamp?: string;
}

/** Reads a JSON-lines audit log; resource requests only (discovery and /healthz are not RBAC'd by resource). */
export function readAuditLog(path: string): AuditedRequest[] {
  if (!existsSync(path)) return [];
  const requests: AuditedRequest[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const event = JSON.parse(line) as AuditEvent;
    const ref = event.objectRef;
    if (!ref?.resource || !event.verb) continue;
    requests.push({
      verb: event.verb,
      group: ref.apiGroup ?? '',
      resource: ref.subresource ? `${ref.resource}/${ref.subresource}` : ref.resource,
      user: event.user?.username ?? '?',
      userAgent: event.userAgent ?? '',
      decision: event.annotations?.['authorization.k8s.io/decision'] ?? '?',
      uri: event.requestURI ?? '',
      namespace: ref.namespace ?? '',
      name: ref.name ?? '',
      code: event.responseStatus?.code ?? 0,
      at: event.requestReceivedTimestamp ?? '',
    });
  }
  return requests;
}

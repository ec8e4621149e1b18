// Grants the chart's ClusterRole keeps although no test in the suite exercises them, each with the
// reason. check-rbac-usage.ts fails when one of these starts being used (then it needs no entry
// here) and when the chart grants anything that is neither used nor listed here.
import type { Grant } from './audit.ts';

export interface UnreachedGrant extends Grant {
  why: string;
}

export const unreachedGrants: UnreachedGrant[] = [
  {
    verb: 'get',
    group: '',
    resource: 'pods',
    why:
      'the drainer reads a pod only when its eviction answers 409 Conflict (the pod was deleted ' +
      'and recreated under the same name between the list and the eviction: src/actions/drain.ts ' +
      '#isGone); a race between two API calls that no test can provoke on demand',
  },
];

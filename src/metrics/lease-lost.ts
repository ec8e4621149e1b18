// `nodeheal_heal_lease_lost_total{reason}`: running heals this worker stopped and handed back
// because they may have lost their node lock (worker/lease-watchdog.ts): `held-by-other` (a
// renewal found another heal holding it), `not-renewed` (no renewal answered for 3/4 of the
// lock's lifetime: Redis unreachable or the path to it cut). Both series start at 0.
import { Counter, type Registry } from 'prom-client';

export const LEASE_LOST_REASONS = ['held-by-other', 'not-renewed'] as const;

export function leaseLostCounter(registry: Registry): (reason: string) => void {
  const counter = new Counter({
    name: 'nodeheal_heal_lease_lost_total',
    help: 'Running heals stopped and handed back because they may have lost their node lock, by reason: held-by-other (another heal holds it), not-renewed (no renewal answered for 3/4 of its lifetime).',
    labelNames: ['reason'],
    registers: [registry],
  });
  for (const reason of LEASE_LOST_REASONS) counter.inc({ reason }, 0);
  return (reason) => counter.inc({ reason });
}

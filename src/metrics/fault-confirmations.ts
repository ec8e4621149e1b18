// `nodeheal_fault_confirmations_total{result}`: what the check before a heal's first action found
// (worker/confirm-step.ts). A high `resolved-in-alertmanager` rate means firing notifications
// reach nodeheal late (after their debounce); `waited-out` means a resolved notification never
// came (`send_resolved: false`, or an Alertmanager that does not hold the alerts).
import { Counter, type Registry } from 'prom-client';

export function faultConfirmationsCounter(registry: Registry): (result: string) => void {
  const counter = new Counter({
    name: 'nodeheal_fault_confirmations_total',
    help: "Checks that a due heal's fault is still there before its first action, by result.",
    labelNames: ['result'],
    registers: [registry],
  });
  return (result) => counter.inc({ result });
}

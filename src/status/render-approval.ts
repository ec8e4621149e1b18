// The approval part of a heal's page (`approval: outage`): a heal that waits for an operator says
// so first, with how to answer; a heal that was approved or rejected says by whom.
import { ANNOTATION_APPROVE, ANNOTATION_REJECT } from '../heal/index.ts';
import type { HealDetail } from './heal-views.ts';
import { html, type SafeHtml } from './html.ts';

export function approvalBanner(heal: HealDetail): SafeHtml {
  if (heal.status === 'awaiting-approval') {
    const why = heal.transitions.findLast((t) => t.kind === 'held')?.detail ?? '';
    return html`<p class="banner" data-approval="waiting">
      <strong>Awaiting approval</strong>: ${why}. Approve with
      <code>POST /heals/${heal.id}/approve</code> (admin token) or
      <code>kubectl annotate node ${heal.node} ${ANNOTATION_APPROVE}=${heal.id}</code>; reject with
      <code>POST /heals/${heal.id}/reject</code> or
      <code>${ANNOTATION_REJECT}=${heal.id}</code> (the heal is then cancelled).
    </p>`;
  }
  const decided = heal.approval;
  if (decided === null) return html``;
  return html`<p data-approval="${decided.decision}">
    ${decided.decision === 'approved' ? 'Approved' : 'Rejected'} by
    ${decided.by}${decided.reason ? html`: ${decided.reason}` : ''}.
  </p>`;
}

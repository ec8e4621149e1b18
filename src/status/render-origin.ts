// The "why it started" and "time to heal" parts of a heal's page: the alert that opened the heal
// (labels, annotations, links back to its expression and its sender) and the phases of its time.
import type { HealPhases } from '../heal/index.ts';
import { externalLink, html, type SafeHtml } from './html.ts';
import type { HealDetail } from './heal-views.ts';
import { duration, when, type RenderContext } from './render-parts.ts';

export function labelTable(labels: Readonly<Record<string, string>>): SafeHtml {
  const names = Object.keys(labels).sort();
  if (names.length === 0) return html`<span class="muted">none</span>`;
  return html`<table class="labels">
    <tbody>
      ${names.map(
        (name) =>
          html`<tr>
            <th class="mono">${name}</th>
            <td class="mono detail">${labels[name]}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

/** Why the heal started: the alert that opened it (and the faults that joined it), since when. */
export function whyStarted(heal: HealDetail, ctx: RenderContext): SafeHtml {
  const origin = heal.origin;
  const joined =
    heal.joined.length === 0
      ? ''
      : html`<h3>Faults that joined it</h3>
          ${heal.joined.map(
            (j) =>
              html`<dl class="joined">
                <dt>fault</dt>
                <dd>${j.fault} (alert ${j.alertname})</dd>
                <dt>firing since</dt>
                <dd>${when(j.faultStartedAt, ctx.now)}</dd>
                <dt>joined</dt>
                <dd>${when(j.joinedAt, ctx.now)}</dd>
                <dt>labels</dt>
                <dd>${labelTable(j.labels)}</dd>
              </dl>`,
          )}`;
  if (origin === null) {
    return html`<p class="muted">
        This record predates the alert details: fault ${heal.fault}, firing since
        ${when(heal.faultStartedAt, ctx.now)}.
      </p>
      ${joined}`;
  }
  const { summary, description, runbook_url: runbook } = origin.annotations;
  return html`<dl class="origin">
      <dt>alert</dt>
      <dd>
        <strong>${origin.alertname}</strong> <span class="muted mono">${origin.fingerprint}</span>
      </dd>
      ${
        summary
          ? html`<dt>summary</dt>
              <dd class="summary">${summary}</dd>`
          : ''
      }
      ${
        description
          ? html`<dt>description</dt>
              <dd class="description">${description}</dd>`
          : ''
      }
      ${
        runbook
          ? html`<dt>runbook</dt>
              <dd>${externalLink(runbook)}</dd>`
          : ''
      }
      <dt>firing since</dt>
      <dd>${when(heal.faultStartedAt, ctx.now)}</dd>
      <dt>received</dt>
      <dd>${when(origin.receivedAt, ctx.now)}</dd>
      <dt>due</dt>
      <dd>${when(origin.dueAt, ctx.now)}</dd>
      <dt>expression</dt>
      <dd class="generator">
        ${
          origin.generatorURL === ''
            ? html`<span class="muted">not sent</span>`
            : externalLink(origin.generatorURL, 'open in Prometheus')
        }
      </dd>
      <dt>sent by</dt>
      <dd class="source">
        ${
          origin.sourceURL === ''
            ? html`<span class="muted">not sent</span>`
            : externalLink(origin.sourceURL, 'open in Alertmanager (or Grafana)')
        }
      </dd>
      <dt>labels</dt>
      <dd>${labelTable(origin.labels)}</dd>
    </dl>
    ${joined}`;
}

const PHASES: readonly [keyof HealPhases, string, string][] = [
  ['detectionMs', 'detection', 'fault start → alert received'],
  ['debounceMs', 'debounce', 'alert received → heal due'],
  ['queuedMs', 'queued', 'due → heal started (a free worker, gates deferring the start)'],
  ['gatesMs', 'waiting on gates', 'steps held by safety gates'],
  ['actingMs', 'acting', 'steps acting, retries'],
  ['verificationMs', 'verification', 'waiting for the fault to clear or capacity back'],
];

/** The time to heal, phase by phase. */
export function phaseTable(phases: HealPhases): SafeHtml {
  const total = phases.totalMs;
  const rows = PHASES.map(([key, name, what]) => {
    const ms = phases[key];
    const value = typeof ms === 'number' ? ms : null;
    return html`<tr data-phase="${name}">
      <th>${name}</th>
      <td class="num">${value === null ? '—' : duration(value)}</td>
      <td class="num muted">
        ${value === null || total <= 0 ? '' : `${Math.round((value / total) * 100)}%`}
      </td>
      <td class="muted">${what}</td>
    </tr>`;
  });
  return html`<div class="scroll">
    <table class="phases">
      <tbody>
        ${rows}
        <tr data-phase="total">
          <th>total${phases.running ? ' so far' : ''}</th>
          <td class="num"><strong>${duration(total)}</strong></td>
          <td></td>
          <td class="muted">fault start → ${phases.running ? 'now' : 'end of the heal'}</td>
        </tr>
      </tbody>
    </table>
  </div>`;
}

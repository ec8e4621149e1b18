// The HTML status pages (what Grafana data links open): the heal list, one heal with its ladder
// and timeline, one node's heals, and error pages. Pure: views and `now` in, a string out.
import type { BlockedNote, PauseState } from '../store/index.ts';
import { html, page, safeHref, type SafeHtml } from './html.ts';
import { duration, when, type RenderContext } from './render-parts.ts';
import { phaseTable, whyStarted } from './render-origin.ts';
import { costSection } from './render-cost.ts';
import { approvalBanner } from './render-approval.ts';
import { isoTime, relativeTime } from './time-format.ts';
import { isOngoing } from './heal-views.ts';
import type { HealDetail, HealListView, HealSummary, NodeView, StepView } from './heal-views.ts';

export type { RenderContext };

function badge(state: string): SafeHtml {
  return html`<span class="badge s-${state}">${state}</span>`;
}

function pauseBanner(paused: PauseState | null): SafeHtml {
  if (paused === null) return html``;
  return html`<p class="banner">
    <strong>Healing is paused</strong> by ${paused.by} since
    <span class="mono">${isoTime(paused.at)}</span>${paused.reason ? html`: ${paused.reason}` : ''}.
    No step acts until an operator resumes.
  </p>`;
}

function stepLabel(h: HealSummary): string {
  return `${h.step} (${h.stepIndex + 1}/${h.ladderLength}${isOngoing(h.status) ? `, ${h.stepState}` : ''})`;
}

function healTable(heals: readonly HealSummary[], ctx: RenderContext, showNode = true): SafeHtml {
  if (heals.length === 0) return html`<p class="muted">No heals recorded.</p>`;
  const rows = heals.map(
    (h) =>
      html`<tr>
        <td><a class="mono id" href="${safeHref(h.links.self)}">${h.id}</a></td>
        ${showNode ? html`<td><a href="${safeHref(h.links.node)}">${h.node}</a></td>` : ''}
        <td>${h.fault}</td>
        <td>${badge(h.status)}${h.dryRun ? html` <span class="muted">dry run</span>` : ''}</td>
        <td>${stepLabel(h)}</td>
        <td>${when(h.updatedAt, ctx.now)}</td>
        <td class="detail">${h.outcomeReason ?? ''}</td>
      </tr>`,
  );
  return html`<div class="scroll">
    <table>
      <thead>
        <tr>
          <th>heal</th>
          ${showNode ? html`<th>node</th>` : ''}
          <th>fault</th>
          <th>status</th>
          <th>step</th>
          <th>updated</th>
          <th>outcome</th>
        </tr>
      </thead>
      <tbody>
        ${rows}
      </tbody>
    </table>
  </div>`;
}

export interface ListFilters {
  node?: string | undefined;
  status?: string | undefined;
  limit: number;
}

export function renderHealList(
  view: HealListView,
  filters: ListFilters,
  ctx: RenderContext,
): string {
  const scope = [
    filters.node ? `node ${filters.node}` : undefined,
    filters.status ? `status ${filters.status}` : undefined,
  ].filter((s) => s !== undefined);
  const body = html`<h1>Heals</h1>
    ${pauseBanner(view.paused)}
    <p class="muted">
      ${view.heals.length} shown, newest first${scope.length > 0 ? `, ${scope.join(', ')}` : ''} (at
      most ${filters.limit}). As of <span class="mono">${isoTime(ctx.now.getTime())}</span>.
    </p>
    ${healTable(view.heals, ctx)}`;
  return page('Heals', body, ctx.links.heals());
}

function ladderTable(steps: readonly StepView[]): SafeHtml {
  const rows = steps.map(
    (s) =>
      html`<tr>
        <td>${s.index + 1}</td>
        <td>${s.action}</td>
        <td>${duration(s.timeoutMs)}</td>
        <td>${badge(s.state)}</td>
        <td>
          ${s.result === null ? '' : html`<span class="s-${s.result}">${s.result === 'success' ? 'worked' : 'failed'}</span>`}
        </td>
        <td>${s.attempts > 0 ? s.attempts : ''}</td>
      </tr>`,
  );
  return html`<div class="scroll">
    <table>
      <thead>
        <tr>
          <th>#</th>
          <th>action</th>
          <th>timeout</th>
          <th>state</th>
          <th>result</th>
          <th>attempts</th>
        </tr>
      </thead>
      <tbody>
        ${rows}
      </tbody>
    </table>
  </div>`;
}

function timeline(heal: HealDetail): SafeHtml {
  if (heal.transitions.length === 0) {
    return html`<p class="muted">No transitions yet: the heal has not started.</p>`;
  }
  const rows = heal.transitions.map(
    (t) =>
      html`<tr>
        <td class="mono">${isoTime(t.at)}</td>
        <td>${t.kind}</td>
        <td>${t.step + 1}. ${t.action}</td>
        <td>${t.from} → ${t.to}</td>
        <td class="detail">${t.detail}</td>
      </tr>`,
  );
  return html`<div class="scroll">
    <table>
      <thead>
        <tr>
          <th>time</th>
          <th>transition</th>
          <th>step</th>
          <th>state</th>
          <th>detail</th>
        </tr>
      </thead>
      <tbody>
        ${rows}
      </tbody>
    </table>
  </div>`;
}

function healFacts(heal: HealDetail, ctx: RenderContext): SafeHtml {
  const running = isOngoing(heal.status);
  return html`<dl>
    <dt>status</dt>
    <dd>
      ${badge(heal.status)}${heal.dryRun ? html` <strong>dry run</strong> (no side effects)` : ''}
    </dd>
    <dt>node</dt>
    <dd>
      <a href="${safeHref(heal.links.node)}">${heal.node}</a>${heal.nodeGone ? ' (gone)' : ''}
    </dd>
    <dt>fault</dt>
    <dd>${heal.fault}</dd>
    ${
      heal.joined.length === 0
        ? ''
        : html`<dt>also due (recorded on this heal)</dt>
            <dd>
              ${heal.joined.map(
                (j, i) =>
                  html`${i > 0 ? ', ' : ''}${j.fault} (${j.alertname}, joined
                  ${when(j.joinedAt, ctx.now)})`,
              )}
            </dd>`
    }
    ${
      heal.ladderFault === null
        ? ''
        : html`<dt>ladder</dt>
            <dd>
              ${heal.ladderFault}'s from step ${(heal.ladderFrom ?? 0) + 1} (more drastic than
              ${heal.fault}'s)
            </dd>`
    }
    <dt>pool</dt>
    <dd>${heal.pool || '—'}</dd>
    <dt>fault started</dt>
    <dd>${when(heal.faultStartedAt, ctx.now)}</dd>
    <dt>fault resolved</dt>
    <dd>${when(heal.faultResolvedAt, ctx.now)}</dd>
    <dt>created</dt>
    <dd>${when(heal.createdAt, ctx.now)}</dd>
    <dt>updated</dt>
    <dd>${when(heal.updatedAt, ctx.now)}</dd>
    ${
      running
        ? html`<dt>next deadline</dt>
            <dd>${when(heal.deadline, ctx.now)}</dd>`
        : ''
    }
    ${
      running && heal.retries > 0
        ? html`<dt>retries</dt>
            <dd>${heal.retries}</dd>`
        : ''
    }
    ${
      heal.endedAt === null
        ? ''
        : html`<dt>ended</dt>
            <dd>
              ${when(heal.endedAt, ctx.now)} after
              ${duration(Math.max(0, heal.endedAt - heal.createdAt))}
            </dd>`
    }
    <dt>cordoned by nodeheal</dt>
    <dd>${heal.cordonedByUs ? 'yes' : 'no'}</dd>
    ${
      heal.replacement === null
        ? ''
        : html`<dt>replaced by</dt>
            <dd>
              <a class="replacement" href="${safeHref(heal.links.replacement ?? '#')}"
                >${heal.replacement}</a
              >
            </dd>`
    }
    ${
      heal.capacityBackAt === null
        ? ''
        : html`<dt>capacity back</dt>
            <dd>${when(heal.capacityBackAt, ctx.now)}</dd>`
    }
    ${
      heal.fence
        ? html`<dt>fenced</dt>
            <dd>
              by ${heal.fence.method} (${heal.fence.by}) ${when(heal.fence.at, ctx.now)}:
              ${heal.fence.detail}
            </dd>`
        : ''
    }
    ${
      heal.outOfServiceAt === null
        ? ''
        : html`<dt>out-of-service taint</dt>
            <dd>${when(heal.outOfServiceAt, ctx.now)}</dd>`
    }
  </dl>`;
}

function outcome(heal: HealDetail): SafeHtml {
  if (isOngoing(heal.status)) {
    const waiting = heal.fence === null ? heal.transitions.at(-1) : undefined;
    return html`<p>
        Running: step ${heal.stepIndex + 1} of ${heal.ladder.length}
        (${heal.ladder[heal.stepIndex]?.action}), ${heal.stepState}.
      </p>
      ${
        waiting?.kind === 'awaiting-fence'
          ? html`<p class="banner"><strong>Waiting for a fence</strong>: ${waiting.detail}</p>`
          : ''
      }${
        // The store's note (shown above) says the same with its retry time; without one, the
        // record's own `held` transition says why the step waits.
        heal.gate !== null && heal.blocked === null
          ? html`<p class="banner">
              <strong>Held by safety gate ${heal.gate}</strong>:
              ${heal.transitions.findLast((t) => t.kind === 'held')?.detail ?? ''}
            </p>`
          : ''
      }`;
  }
  return html`<p>${badge(heal.status)} ${heal.outcomeReason ?? ''}</p>`;
}

function notes(heal: HealDetail, ctx: RenderContext): SafeHtml {
  return html`${
    heal.blocked
      ? html`<p class="banner">
          <strong>Held by safety gate ${heal.blocked.gate}</strong>: ${heal.blocked.detail}
          <span class="muted"
            >(${isoTime(heal.blocked.at)}${
              heal.blocked.retryAt === undefined
                ? ''
                : `; asks again ${relativeTime(heal.blocked.retryAt, ctx.now)}`
            })</span
          >
        </p>`
      : ''
  }${
    heal.cancelRequestedBy
      ? html`<p class="banner">
          Cancel requested by ${heal.cancelRequestedBy}; the worker stops the heal at its next step.
        </p>`
      : ''
  }`;
}

function healSection(heal: HealDetail, ctx: RenderContext): SafeHtml {
  return html`${approvalBanner(heal)} ${notes(heal, ctx)} ${healFacts(heal, ctx)}
    <h2>Why it started</h2>
    ${whyStarted(heal, ctx)}
    <h2>What it disrupts</h2>
    ${costSection(heal.cost)}
    <h2>Time to heal</h2>
    ${phaseTable(heal.phases)}
    <h2>Outcome</h2>
    ${outcome(heal)}
    <h2>Ladder</h2>
    ${ladderTable(heal.steps)}
    <h2>Timeline</h2>
    ${timeline(heal)}`;
}

export function renderHealPage(
  heal: HealDetail,
  paused: PauseState | null,
  ctx: RenderContext,
): string {
  const body = html`<h1>Heal <span class="mono">${heal.id}</span></h1>
    ${isOngoing(heal.status) ? pauseBanner(paused) : ''} ${healSection(heal, ctx)}`;
  return page(`Heal ${heal.id}`, body, ctx.links.heals());
}

/** A heal a safety gate holds back before it started: no record yet, only the gate's note. */
export function renderWaitingPage(
  id: string,
  blocked: BlockedNote,
  paused: PauseState | null,
  ctx: RenderContext,
): string {
  const body = html`<h1>Heal <span class="mono">${id}</span></h1>
    ${pauseBanner(paused)}
    <p>
      <span class="badge s-pending">waiting</span> Not started yet: a safety gate holds it back.
    </p>
    <p class="banner">
      <strong>Held by safety gate ${blocked.gate}</strong>: ${blocked.detail}
      <span class="muted"
        >(${isoTime(blocked.at)}${
          blocked.retryAt === undefined
            ? ''
            : `; asks again ${relativeTime(blocked.retryAt, ctx.now)}`
        })</span
      >
    </p>
    <dl>
      <dt>node</dt>
      <dd><a href="${safeHref(ctx.links.node(blocked.node))}">${blocked.node}</a></dd>
      <dt>fault</dt>
      <dd>${blocked.fault}</dd>
    </dl>`;
  return page(`Heal ${id}`, body, ctx.links.heals());
}

export function renderNodePage(view: NodeView, ctx: RenderContext): string {
  const body = html`<h1>Node ${view.node}</h1>
    ${pauseBanner(view.paused)}
    ${
      view.current
        ? html`<h2>
              Current heal:
              <a class="mono" href="${safeHref(view.current.links.self)}">${view.current.id}</a>
              (${view.current.fault})
            </h2>
            ${healSection(view.current, ctx)}`
        : html`<p>No heal is running on this node.</p>`
    }
    <h2>All heals of ${view.node}</h2>
    ${healTable(view.heals, ctx, false)}`;
  return page(`Node ${view.node}`, body, ctx.links.heals());
}

export function renderErrorPage(status: number, message: string, ctx: RenderContext): string {
  const body = html`<h1>${status}</h1>
    <p>${message}</p>`;
  return page(String(status), body, ctx.links.heals());
}

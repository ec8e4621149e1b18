// What `GET /remedies` shows: the measured success rate of each remedy per fault, the learned
// durations of each step per pool and fault, and the expected time to heal of each fault's
// ladder per pool (the ladder its newest heal in that pool ran). Pure: tables and records in.
import {
  durationStats,
  expectedTimeToHeal,
  isPreparation,
  parseDurationKey,
  stepCosts,
  successStats,
  type DurationTable,
  type HealRecord,
  type SuccessTable,
} from '../heal/index.ts';
import { html, page, type SafeHtml } from './html.ts';
import { duration, type RenderContext } from './render-parts.ts';

export interface RateView {
  fault: string;
  action: string;
  attempts: number;
  successes: number;
  rate: number | null;
}

export interface DurationView {
  pool: string;
  fault: string;
  action: string;
  /** Recorded durations (the newest 20 are kept). */
  count: number;
  p50Ms: number | null;
  meanMs: number | null;
}

export interface ExpectedStepView {
  action: string;
  /** The mean recorded duration, or the step's timeout when none is recorded (`samples` 0). */
  durationMs: number;
  samples: number;
  /** Chance the step ends the heal, as the cost model counts it (smoothed). */
  healChance: number;
  /** Expected time to heal from this step on. */
  expectedMs: number;
}

export interface ExpectedView {
  pool: string;
  fault: string;
  /** The heal whose ladder (in the order it ran) this is. */
  healId: string;
  /** Expected time to heal from the first step. */
  expectedMs: number;
  steps: ExpectedStepView[];
}

export interface RemediesView {
  rates: RateView[];
  durations: DurationView[];
  expected: ExpectedView[];
}

export function remediesView(
  rates: SuccessTable,
  durations: DurationTable,
  records: readonly HealRecord[],
): RemediesView {
  const rateViews = Object.entries(rates).map(([key, ring]) => {
    const [fault = '', action = ''] = key.split(':', 2);
    const stats = successStats(ring);
    return { fault, action, ...stats };
  });
  const durationViews = Object.entries(durations).flatMap(([key, samples]) => {
    const parsed = parseDurationKey(key);
    return parsed === undefined ? [] : [{ ...parsed, ...durationStats(samples) }];
  });
  // Newest record first: the first one of each (pool, fault) gives the ladder.
  const expected = new Map<string, ExpectedView>();
  for (const record of records) {
    const key = `${record.pool}/${record.fault}`;
    if (expected.has(key)) continue;
    const own = record.ladder.slice(0, record.ladderFrom ?? record.ladder.length);
    const costs = stepCosts(own, record.pool, record.fault, durations, rates);
    expected.set(key, {
      pool: record.pool,
      fault: record.fault,
      healId: record.id,
      expectedMs: expectedTimeToHeal(costs),
      steps: costs.map((c, i) => ({
        action: c.action,
        durationMs: c.durationMs,
        samples: c.samples,
        healChance: i === costs.length - 1 && !isPreparation(c.action) ? 1 : c.healChance,
        expectedMs: expectedTimeToHeal(costs, i),
      })),
    });
  }
  return { rates: rateViews, durations: durationViews, expected: [...expected.values()] };
}

const ms = (value: number | null): string => (value === null ? '—' : duration(value));
const pct = (value: number | null): string =>
  value === null ? '—' : `${Math.round(value * 100)}%`;

function table(head: readonly string[], rows: SafeHtml[], empty: string): SafeHtml {
  if (rows.length === 0) return html`<p class="muted">${empty}</p>`;
  return html`<div class="scroll">
    <table>
      <thead>
        <tr>
          ${head.map((h) => html`<th>${h}</th>`)}
        </tr>
      </thead>
      <tbody>
        ${rows}
      </tbody>
    </table>
  </div>`;
}

/** The HTML page of `GET /remedies`. */
export function renderRemediesPage(view: RemediesView, ctx: RenderContext): string {
  const expected = view.expected.map(
    (e) =>
      html`<tr>
        <td>${e.pool}</td>
        <td>${e.fault}</td>
        <td class="mono">${ms(e.expectedMs)}</td>
        <td class="detail">
          ${e.steps
            .map(
              (s) =>
                `${s.action} ${ms(s.durationMs)}${s.samples === 0 ? ' (timeout, no data)' : ` (${s.samples} recorded)`}` +
                `, heals ${pct(s.healChance)}, from here ${ms(s.expectedMs)}`,
            )
            .join(' → ')}
        </td>
      </tr>`,
  );
  const durations = view.durations.map(
    (d) =>
      html`<tr>
        <td>${d.pool}</td>
        <td>${d.fault}</td>
        <td>${d.action}</td>
        <td class="mono">${ms(d.p50Ms)}</td>
        <td class="mono">${ms(d.meanMs)}</td>
        <td>${d.count}</td>
      </tr>`,
  );
  const rates = view.rates.map(
    (r) =>
      html`<tr>
        <td>${r.fault}</td>
        <td>${r.action}</td>
        <td>${r.successes} of ${r.attempts}</td>
        <td>${pct(r.rate)}</td>
      </tr>`,
  );
  const body = html`<h1>Remedies</h1>
    <h2>Expected time to heal</h2>
    <p class="muted">
      Per pool and fault, for the ladder its newest heal ran: E(step) = its duration + (1 − its
      chance to heal) × E(next step); replace ends the heal. A step without recorded durations
      counts its timeout.
    </p>
    ${table(['pool', 'fault', 'expected', 'steps'], expected, 'No heal recorded yet.')}
    <h2>Learned durations</h2>
    ${table(
      ['pool', 'fault', 'step', 'p50', 'mean', 'count'],
      durations,
      'No step duration recorded yet.',
    )}
    <h2>Success rates</h2>
    ${table(['fault', 'remedy', 'cleared the fault', 'rate'], rates, 'No attempt recorded yet.')}`;
  return page('Remedies', body, ctx.links.heals());
}

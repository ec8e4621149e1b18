// Small pieces the HTML status pages share: a time with how long ago, a duration.
import { formatDuration } from '../rules/index.ts';
import { html, type SafeHtml } from './html.ts';
import type { StatusLinks } from './heal-views.ts';
import { isoTime, relativeTime } from './time-format.ts';

/** What every page is rendered with: the time to show ages against, and the page links. */
export interface RenderContext {
  now: Date;
  links: StatusLinks;
}

export function when(ms: number | null, now: Date): SafeHtml {
  if (ms === null) return html`<span class="muted">—</span>`;
  return html`<span class="mono">${isoTime(ms)}</span>
    <span class="muted">(${relativeTime(ms, now)})</span>`;
}

export function duration(ms: number): string {
  return Number.isSafeInteger(ms) && ms >= 0 ? formatDuration(ms) : String(ms);
}

// Times on the status pages and in `nodeheal status`: records hold epoch milliseconds.
import { formatDuration } from '../rules/index.ts';

/** Epoch milliseconds as an ISO 8601 UTC timestamp; `—` for none or an invalid time. */
export function isoTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? '—' : date.toISOString();
}

/** ISO 8601 UTC to the second (`2025-03-01T12:00:00Z`); `-` for none or an invalid time. */
export function shortIso(ms: number | null | undefined): string {
  const iso = isoTime(ms);
  return iso === '—' ? '-' : iso.replace(/\.\d{3}Z$/, 'Z');
}

/**
 * How far `ms` is from `now`: `3m12s ago`, `in 45s`, `just now` (under 1 s).
 *
 * - Under an hour: to the second; an hour or more: to the minute (`2h5m ago`).
 * - An invalid time gives an empty string.
 */
export function relativeTime(ms: number, now: Date): string {
  const delta = now.getTime() - ms;
  const abs = Math.abs(delta);
  if (!Number.isFinite(abs)) return '';
  if (abs < 1000) return 'just now';
  const unit = abs >= 3_600_000 ? 60_000 : 1000;
  const text = formatDuration(Math.floor(abs / unit) * unit);
  return delta > 0 ? `${text} ago` : `in ${text}`;
}

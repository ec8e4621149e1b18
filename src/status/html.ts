// Server-rendered HTML, safe by construction: `html` escapes every interpolated value unless it
// is already `SafeHtml` (the output of `html` itself). No scripts, no external assets.

/** A fragment of HTML that is already escaped (or a trusted constant). */
export class SafeHtml {
  readonly value: string;
  constructor(value: string) {
    this.value = value;
  }
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

/**
 * Escapes text for HTML element content and double- or single-quoted attribute values.
 *
 * - `&`, `<`, `>`, `"`, `'` and `` ` `` become character references.
 * - Control characters other than tab, line feed and carriage return (NUL, ESC, DEL...: a label
 *   value may carry them, and HTML has no place for them) are shown as their Unicode control
 *   pictures (U+2400 to U+2421: NUL reads ␀), so the page shows what the alert held.
 * - Everything else (Unicode included) is kept as is; the page is served as UTF-8.
 */
export function escapeHtml(text: string): string {
  return text
    .replace(/[&<>"'`]/g, (c) => ESCAPES[c] ?? c)
    .replace(CONTROL_CHARACTERS, (c) => controlPicture(c.charCodeAt(0)));
}

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g;

/** U+2400 + code for C0 controls, U+2421 for DEL. */
function controlPicture(code: number): string {
  return String.fromCharCode(code === 0x7f ? 0x2421 : 0x2400 + code);
}

/** Values `html` accepts: escaped text, trusted fragments, lists of either, or nothing. */
export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | HtmlValue[];

function render(value: HtmlValue): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

/**
 * Tagged template for HTML: the literal parts are trusted, every `${value}` is escaped.
 *
 * - `SafeHtml` values (nested `html` results) are inserted as they are.
 * - Arrays are rendered item by item and concatenated.
 * - `null`, `undefined` and `false` render as nothing (for conditionals); `true` as "true".
 */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += render(value) + (strings[i + 1] ?? '');
  });
  return new SafeHtml(out);
}

/**
 * A link target that is safe in an `href`: root-relative paths and http(s) URLs only; anything
 * else (`javascript:`, `data:`, protocol-relative `//host`) becomes `#`.
 */
export function safeHref(url: string): string {
  if (url.startsWith('/') && !url.startsWith('//')) return url;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? url : '#';
  } catch {
    return '#';
  }
}

/** An absolute http(s) URL (what the pages link to outside nodeheal); nothing else is. */
export function isHttpUrl(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:';
  } catch {
    return false;
  }
}

/**
 * A link out of nodeheal (a Prometheus expression, a runbook): an `<a>` only for an absolute
 * http(s) URL, opened without a referrer; anything else (`javascript:`, `data:`, a relative
 * path) is shown as text in `<code>`, never as a link. Empty: nothing.
 */
export function externalLink(url: string, text: string = url): SafeHtml {
  if (url === '') return html``;
  if (!isHttpUrl(url)) return html`<code>${url}</code> <span class="muted">(not a web link)</span>`;
  return html`<a href="${url}" rel="noreferrer noopener">${text}</a>`;
}

const STYLE = `
:root { color-scheme: light dark; --muted: #6b7280; --line: #d1d5db; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0;
  padding: 12px 16px; max-width: 1100px; }
h1 { font-size: 18px; margin: 0 0 8px; word-break: break-all; }
h2 { font-size: 15px; margin: 18px 0 6px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line);
  vertical-align: top; }
th { font-weight: 600; white-space: nowrap; }
td.detail { word-break: break-word; }
.scroll { overflow-x: auto; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  font-size: 12px; word-break: break-all; }
.muted { color: var(--muted); }
.badge { display: inline-block; padding: 0 6px; border-radius: 8px; font-size: 12px;
  font-weight: 600; border: 1px solid currentColor; white-space: nowrap; }
.s-running, .s-current { color: #1d4ed8; }
.s-awaiting-approval { color: #b45309; font-weight: 600; }
.s-healed, .s-done { color: #15803d; }
.s-abandoned, .s-failure { color: #b91c1c; }
.s-cancelled, .s-skipped, .s-pending { color: var(--muted); }
.s-stopped { color: #b45309; }
.banner { padding: 6px 10px; border: 1px solid #b45309; color: #b45309; border-radius: 4px;
  margin: 8px 0; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 0; }
dt { color: var(--muted); }
dd { margin: 0; word-break: break-word; }
nav { margin-bottom: 8px; font-size: 13px; }
table.phases, table.labels { width: auto; }
a.id { white-space: nowrap; word-break: normal; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
`;

/** A complete page: UTF-8, mobile viewport, inline style, no scripts; `home` is the heal list. */
export function page(title: string, body: SafeHtml, home = '/heals'): string {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="robots" content="noindex" />
        <title>${title} · nodeheal</title>
        <style>
          ${new SafeHtml(STYLE)}
        </style>
      </head>
      <body>
        <nav><a href="${safeHref(home)}">all heals</a></nav>
        ${body}
      </body>
    </html> `.value;
}

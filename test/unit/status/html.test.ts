// HTML escaping: every interpolated value is escaped, hostile strings stay inert text.
import { describe, expect, it } from 'vitest';
import { escapeHtml, html, page, safeHref, type SafeHtml } from '../../../src/status/html.ts';

describe('escapeHtml', () => {
  it.each([
    ['plain', 'worker-1', 'worker-1'],
    ['script tag', '<script>alert(1)</script>', '&lt;script&gt;alert(1)&lt;/script&gt;'],
    ['attribute break-out (double)', '" onmouseover="x', '&quot; onmouseover=&quot;x'],
    ['attribute break-out (single)', "' onfocus='x", '&#39; onfocus=&#39;x'],
    ['backtick', '`x`', '&#96;x&#96;'],
    ['entity', '&lt;', '&amp;lt;'],
    ['already escaped twice', '&amp;amp;', '&amp;amp;amp;'],
    ['img onerror', '<img src=x onerror=alert(1)>', '&lt;img src=x onerror=alert(1)&gt;'],
    ['closing style', '</style><script>', '&lt;/style&gt;&lt;script&gt;'],
    ['comment', '<!-- -->', '&lt;!-- --&gt;'],
    ['unicode kept', 'nœud → ✓ 节点', 'nœud → ✓ 节点'],
    ['empty', '', ''],
  ])('%s', (_name, input, expected) => {
    expect(escapeHtml(input)).toBe(expected);
  });

  it('leaves no markup character unescaped for any string', () => {
    const hostile = '<>&"\'`'.repeat(3) + '\u0000\u2028</title>';
    expect(escapeHtml(hostile)).not.toMatch(/[<>"'`]/);
  });
});

describe('html tagged template', () => {
  it.each<[string, SafeHtml, string]>([
    ['escapes a string', html`<p>${'<b>x</b>'}</p>`, '<p>&lt;b&gt;x&lt;/b&gt;</p>'],
    // prettier-ignore
    ['escapes in an attribute', html`<a title="${'"x"'}">`, '<a title="&quot;x&quot;">'],
    ['numbers', html`<td>${42}</td>`, '<td>42</td>'],
    [
      'nested fragments are not escaped twice',
      html`<p>${html`<b>${'<i>'}</b>`}</p>`,
      '<p><b>&lt;i&gt;</b></p>',
    ],
    // prettier-ignore
    ['arrays are concatenated', html`<ul>${['<a>', html`<li>ok</li>`]}</ul>`, '<ul>&lt;a&gt;<li>ok</li></ul>'],
    ['null, undefined and false render nothing', html`[${null}${undefined}${false}]`, '[]'],
    ['true renders as text', html`${true}`, 'true'],
  ])('%s', (_name, fragment, expected) => {
    expect(fragment.value).toBe(expected);
    expect(String(fragment)).toBe(expected);
  });

  it('does not trust objects that only look like SafeHtml', () => {
    const fake = { value: '<script>' } as unknown as string;
    expect(html`${fake}`.value).toBe('[object Object]');
  });
});

describe('safeHref', () => {
  it.each([
    ['/heals/abc', '/heals/abc'],
    ['/nodes/worker-1', '/nodes/worker-1'],
    ['https://nodeheal.example.com/heals/a', 'https://nodeheal.example.com/heals/a'],
    ['http://10.0.0.1:8080/heals', 'http://10.0.0.1:8080/heals'],
    ['javascript:alert(1)', '#'],
    ['JaVaScRiPt:alert(1)', '#'],
    ['data:text/html,<script>', '#'],
    ['//evil.example.com/x', '#'],
    ['relative/path', '#'],
    ['', '#'],
  ])('%s → %s', (input, expected) => {
    expect(safeHref(input)).toBe(expected);
  });
});

describe('page', () => {
  const out = page('<Title & "x">', html`<p>${'body <b>'}</p>`, '/prefix/heals');

  it('is a complete UTF-8 page with a mobile viewport', () => {
    expect(out.startsWith('<!doctype html>')).toBe(true);
    expect(out).toMatch(/<meta charset="utf-8"\s*\/?>/);
    expect(out).toMatch(
      /<meta name="viewport" content="width=device-width, initial-scale=1"\s*\/?>/,
    );
  });

  it('escapes the title and the body values', () => {
    expect(out).toContain('<title>&lt;Title &amp; &quot;x&quot;&gt; · nodeheal</title>');
    expect(out).toContain('<p>body &lt;b&gt;</p>');
  });

  it('uses no scripts and no external assets', () => {
    expect(out).not.toMatch(/<script|<link|<img|@import|url\(/i);
  });

  it('links home to the given list', () => {
    expect(out).toContain('<a href="/prefix/heals">all heals</a>');
  });
});

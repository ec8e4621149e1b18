// Control characters in values shown on the status pages (a label value may carry NUL, ESC or
// DEL): never written raw into HTML, shown as their control pictures instead.
import { describe, expect, it } from 'vitest';
import { escapeHtml, html } from '../../../src/status/html.ts';

describe('escapeHtml and control characters', () => {
  it.each([
    ['NUL', 'a\u0000b', 'a\u2400b'],
    ['ESC of a terminal colour', '\u001b[31mred', '\u241b[31mred'],
    ['BEL and backspace', '\u0007\u0008', '\u2407\u2408'],
    ['DEL', 'x\u007f', 'x\u2421'],
    ['tab, line feed and carriage return kept', 'a\tb\nc\rd', 'a\tb\nc\rd'],
    ['with markup', '<b>\u0000</b>', '&lt;b&gt;\u2400&lt;/b&gt;'],
  ])('%s', (_name, input, expected) => {
    expect(escapeHtml(input)).toBe(expected);
  });

  it('no C0 control other than tab, line feed and carriage return, nor DEL, reaches the HTML', () => {
    const all = Array.from({ length: 0x20 }, (_, i) => String.fromCharCode(i)).join('') + '\u007f';
    const out = html`<td>${all}</td>`.value;
    for (const c of out) {
      const code = c.charCodeAt(0);
      expect(code < 0x20 && ![0x09, 0x0a, 0x0d].includes(code), `U+${code.toString(16)}`).toBe(
        false,
      );
      expect(code).not.toBe(0x7f);
    }
  });
});

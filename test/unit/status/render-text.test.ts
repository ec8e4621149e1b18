// `nodeheal status` text output: aligned tables, transitions, and no terminal escapes.
import { describe, expect, it } from 'vitest';
import {
  formatTable,
  pauseLine,
  renderHealsText,
  renderNodeText,
  terminalSafe,
} from '../../../src/status/render-text.ts';
import {
  abandoned,
  escalatedToReboot,
  fresh,
  healedByKubelet,
  heldByPause,
  MIN,
  skippedByOptOut,
  T0,
} from './fixtures.ts';

const NOW = new Date(T0 + 2 * MIN);

describe('terminalSafe', () => {
  it.each([
    ['plain', 'worker-1', 'worker-1'],
    ['ANSI colour', '\u001b[31mred\u001b[0m', '?[31mred?[0m'],
    ['clear screen', '\u001b[2J\u001b[H', '?[2J?[H'],
    ['newline forging a line', 'ok\nheal-x  fake  healed', 'ok?heal-x  fake  healed'],
    ['carriage return', 'evil\rgood', 'evil?good'],
    ['C1 CSI', '\u009b31m', '?31m'],
    ['DEL and NUL', 'a\u007fb\u0000c', 'a?b?c'],
    ['unicode kept', 'nœud → ✓', 'nœud → ✓'],
  ])('%s', (_name, input, expected) => {
    expect(terminalSafe(input)).toBe(expected);
  });
});

describe('formatTable', () => {
  it('aligns columns and does not pad the last one', () => {
    expect(
      formatTable(
        ['ID', 'NODE', 'NOTE'],
        [
          ['a', 'worker-10', 'x'],
          ['heal-2', 'w', 'long note'],
        ],
      ),
    ).toBe(
      ['ID      NODE       NOTE', 'a       worker-10  x', 'heal-2  w          long note'].join(
        '\n',
      ),
    );
  });

  it('makes cells terminal-safe', () => {
    expect(formatTable(['A'], [['\u001b[2J']])).toBe('A\n?[2J');
  });
});

describe('renderHealsText', () => {
  it('prints one line per heal, newest first, with step and update time', () => {
    const out = renderHealsText(
      [
        escalatedToReboot({ id: 'heal-b', node: 'worker-2' }),
        healedByKubelet({ id: 'heal-a', dryRun: true }),
      ],
      undefined,
      NOW,
    );
    const lines = out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+NODE\s+FAULT\s+STATUS\s+STEP\s+UPDATED$/);
    expect(lines[1]).toMatch(
      /^heal-b\s+worker-2\s+node-not-ready\s+running\s+reboot \(2\/3, acting\)\s+2025-03-01T12:00:10Z \(1m50s ago\)$/,
    );
    expect(lines[2]).toMatch(
      /^heal-a\s+worker-1\s+node-not-ready\s+healed \(dry run\)\s+restart-kubelet \(1\/3\)\s+2025-03-01T12:01:30Z \(30s ago\)$/,
    );
    expect(out.endsWith('\n')).toBe(true);
  });

  it('shows the gate that holds a step, and a skipped heal', () => {
    const out = renderHealsText(
      [heldByPause({ id: 'heal-h' }), skippedByOptOut({ id: 'heal-s', node: 'worker-3' })],
      undefined,
      NOW,
    );
    const lines = out.trimEnd().split('\n');
    expect(lines[1]).toMatch(
      /^heal-h\s+worker-1\s+node-not-ready\s+running\s+reboot \(2\/3, held by gate paused\)\s/,
    );
    expect(lines[2]).toMatch(
      /^heal-s\s+worker-3\s+node-not-ready\s+skipped\s+restart-kubelet \(1\/3\)\s/,
    );
  });

  it('says so when there are no heals, and shows the pause first', () => {
    expect(renderHealsText([], undefined, NOW)).toBe('no heals recorded\n');
    expect(renderHealsText([], { by: 'admin-api', at: T0, reason: 'change freeze' }, NOW)).toBe(
      'healing is PAUSED by admin-api since 2025-03-01T12:00:00Z: change freeze\n\nno heals recorded\n',
    );
  });
});

describe('renderNodeText', () => {
  it('prints each heal of the node with its ladder, outcome and transitions', () => {
    const out = renderNodeText(
      'worker-1',
      [escalatedToReboot({ id: 'heal-2' }), abandoned({ id: 'heal-1' })],
      undefined,
      NOW,
    );
    expect(out).toContain('node worker-1: 2 heals, 1 running');
    expect(out).toContain('heal-2  node-not-ready  running  step reboot (2/3, acting)');
    expect(out).toContain(
      '  ladder: restart-kubelet [done, failure] → reboot [current] → replace [pending]',
    );
    expect(out).toMatch(/^ {2}TIME\s+TRANSITION\s+STEP\s+STATE\s+DETAIL$/m);
    expect(out).toMatch(
      /^ {2}2025-03-01T12:00:10Z\s+escalated\s+1\. restart-kubelet\s+acting → pending\s+Escalated: restart-kubelet failed: kubelet did not restart; next: reboot$/m,
    );
    expect(out).toContain('  outcome: Ladder exhausted');
    expect(out.indexOf('heal-2')).toBeLessThan(out.indexOf('heal-1'));
  });

  it('prints a skipped heal with its gate and its one transition', () => {
    const out = renderNodeText('worker-1', [skippedByOptOut({ id: 'heal-s' })], undefined, NOW);
    expect(out).toContain('node worker-1: 1 heal, 0 running');
    expect(out).toContain('heal-s  node-not-ready  skipped  step restart-kubelet (1/3)');
    expect(out).toContain(
      '  ladder: restart-kubelet [skipped] → reboot [pending] → replace [pending]',
    );
    expect(out).toContain(
      '  outcome: skipped: safety gate opt-out refused restart-kubelet: worker-1 is labelled nodeheal.io/exclude=true; nothing was done on the node',
    );
    expect(out).toContain('  safety gate: opt-out');
    expect(out).toMatch(
      /^ {2}2025-03-01T12:00:00Z\s+skipped\s+1\. restart-kubelet\s+pending → skipped\s/m,
    );
  });

  it('handles a heal without transitions and a node without heals', () => {
    expect(renderNodeText('worker-1', [fresh()], undefined, NOW)).toContain('(no transitions yet)');
    expect(renderNodeText('worker-9', [], undefined, NOW)).toBe(
      'no heals recorded for node worker-9\n',
    );
  });

  it('cannot be used to inject terminal escapes', () => {
    const record = { ...abandoned(), outcomeReason: '\u001b]0;pwned\u0007\nforged line' };
    const out = renderNodeText('worker-1', [record], null, NOW);
    // eslint-disable-next-line no-control-regex
    expect(out).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    expect(out).toContain('outcome: ?]0;pwned??forged line');
  });
});

describe('pauseLine', () => {
  it.each([
    [undefined, undefined],
    [null, undefined],
    [
      { by: 'admin-api', at: T0, reason: '' },
      'healing is PAUSED by admin-api since 2025-03-01T12:00:00Z',
    ],
  ])('%j', (paused, expected) => {
    expect(pauseLine(paused)).toBe(expected);
  });
});

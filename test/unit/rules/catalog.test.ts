import { describe, expect, it } from 'vitest';
import {
  DEFAULT_GENERIC_LADDER,
  loadCatalog,
  type Catalog,
  type CatalogError,
} from '../../../src/rules/index.ts';

// A small valid catalog; tests replace or insert lines, so line numbers stay easy to read.
const BASE = [
  'version: 1', // 1
  'faults:', // 2
  '  - name: node-not-ready', // 3
  '    description: The node is not ready', // 4
  '    alerts:', // 5
  '      - alertname: NodeNotReady', // 6
  '    ladder:', // 7
  '      - action: restart-kubelet', // 8
  '        timeout: 3m', // 9
  '      - action: replace', // 10
  '        timeout: 20m', // 11
];

// A second fault, appended after BASE (its first line is line 12).
const SECOND = [
  '  - name: disk-almost-full', // 12
  '    description: Disk almost full', // 13
  '    alerts:', // 14
  '      - alertname: NodeFilesystemAlmostFull', // 15
  '    ladder:', // 16
  '      - action: clean-disk', // 17
  '        timeout: 5m', // 18
];

type Edit = { replace: number; with: string[] } | { after: number; insert: string[] };

function yamlOf(lines: readonly string[], ...edits: Edit[]): string {
  const out = [...lines];
  // Apply from the bottom up so the line numbers in each edit refer to the original text.
  const sorted = [...edits].sort(
    (a, b) => ('replace' in b ? b.replace : b.after) - ('replace' in a ? a.replace : a.after),
  );
  for (const edit of sorted) {
    if ('replace' in edit) out.splice(edit.replace - 1, 1, ...edit.with);
    else out.splice(edit.after, 0, ...edit.insert);
  }
  return out.join('\n') + '\n';
}

function load(text: string): Catalog {
  const result = loadCatalog(text, 'test.yaml');
  if (!result.ok) throw new Error(`expected a valid catalog, got ${JSON.stringify(result.errors)}`);
  return result.catalog;
}

function errorsOf(text: string): readonly CatalogError[] {
  const result = loadCatalog(text, 'test.yaml');
  if (result.ok) throw new Error('expected errors, the catalog loaded');
  return result.errors;
}

describe('loadCatalog: valid catalogs', () => {
  it('loads the base catalog with defaults applied', () => {
    const catalog = load(yamlOf(BASE));
    expect(catalog.version).toBe(1);
    expect(catalog.source).toBe('test.yaml');
    expect(catalog.defaults).toEqual({
      debounceMs: 120_000,
      flap: { maxTransitions: 4, windowMs: 1_800_000, holdForMs: 600_000 },
    });
    expect(catalog.faults).toEqual([
      {
        name: 'node-not-ready',
        description: 'The node is not ready',
        alerts: [{ alertname: 'NodeNotReady', matchers: {} }],
        debounceMs: 120_000,
        flap: { maxTransitions: 4, windowMs: 1_800_000, holdForMs: 600_000 },
        ladder: [
          { action: 'restart-kubelet', timeoutMs: 180_000 },
          { action: 'replace', timeoutMs: 1_200_000 },
        ],
      },
    ]);
    expect(catalog.generic.name).toBe('unknown');
    expect(catalog.generic.alerts).toEqual([]);
    expect(catalog.generic.ladder).toEqual(DEFAULT_GENERIC_LADDER);
    expect(catalog.generic.ladder.map((step) => step.action)).toEqual([
      'cordon',
      'drain',
      'replace',
    ]);
  });

  it.each<{ name: string; text: string; check: (catalog: Catalog) => unknown; expected: unknown }>([
    {
      name: 'a fault debounce overrides the default',
      text: yamlOf(BASE, { after: 6, insert: ['    debounce: 5m'] }),
      check: (c) => c.faults[0]?.debounceMs,
      expected: 300_000,
    },
    {
      name: 'defaults.debounce applies to faults without one',
      text: yamlOf(BASE, { after: 1, insert: ['defaults:', '  debounce: 90s'] }),
      check: (c) => [c.defaults.debounceMs, c.faults[0]?.debounceMs, c.generic.debounceMs],
      expected: [90_000, 90_000, 90_000],
    },
    {
      name: 'a partial fault flap policy merges over defaults.flap',
      text: yamlOf(
        BASE,
        { after: 1, insert: ['defaults:', '  flap: { maxTransitions: 6, window: 1h }'] },
        { after: 6, insert: ['    flap:', '      holdFor: 15m'] },
      ),
      check: (c) => c.faults[0]?.flap,
      expected: { maxTransitions: 6, windowMs: 3_600_000, holdForMs: 900_000 },
    },
    {
      name: 'matchers are exact label values',
      text: yamlOf(BASE, {
        replace: 6,
        with: [
          '      - alertname: NodeNotReady',
          '        matchers: { condition: Ready, severity: critical }',
        ],
      }),
      check: (c) => c.faults[0]?.alerts,
      expected: [
        { alertname: 'NodeNotReady', matchers: { condition: 'Ready', severity: 'critical' } },
      ],
    },
    {
      name: 'skipBelowSuccessRate is kept on its step',
      text: yamlOf(BASE, {
        after: 9,
        insert: ['        skipBelowSuccessRate: { rate: 0.25, overLast: 20 }'],
      }),
      check: (c) => c.faults[0]?.ladder[0],
      expected: {
        action: 'restart-kubelet',
        timeoutMs: 180_000,
        skipBelowSuccessRate: { rate: 0.25, overLast: 20 },
      },
    },
    {
      name: 'a generic section replaces the default generic ladder',
      text: yamlOf(BASE, {
        after: 1,
        insert: [
          'generic:',
          '  description: Anything else',
          '  debounce: 10m',
          '  ladder:',
          '    - { action: drain, timeout: 10m }',
          '    - { action: replace, timeout: 30m }',
        ],
      }),
      check: (c) => [c.generic.name, c.generic.description, c.generic.debounceMs, c.generic.ladder],
      expected: [
        'unknown',
        'Anything else',
        600_000,
        [
          { action: 'drain', timeoutMs: 600_000 },
          { action: 'replace', timeoutMs: 1_800_000 },
        ],
      ],
    },
    {
      name: 'the same alert with a more specific matcher set may belong to another fault',
      text: yamlOf([
        ...BASE,
        '  - name: kubelet-restart-loop',
        '    description: Restart loop',
        '    alerts:',
        '      - alertname: NodeNotReady',
        '        matchers: { condition: FrequentKubeletRestart }',
        '    ladder: [{ action: reboot, timeout: 10m }]',
      ]),
      check: (c) => c.faults.map((fault) => fault.name),
      expected: ['node-not-ready', 'kubelet-restart-loop'],
    },
    {
      name: 'matchers on different values of one label do not overlap',
      text: yamlOf([
        ...yamlOf(BASE, {
          replace: 6,
          with: ['      - alertname: NodeNotReady', '        matchers: { condition: A }'],
        })
          .trimEnd()
          .split('\n'),
        '  - name: other',
        '    description: Other',
        '    alerts:',
        '      - alertname: NodeNotReady',
        '        matchers: { condition: B, severity: critical }',
        '    ladder: [{ action: reboot, timeout: 10m }]',
      ]),
      check: (c) => c.faults.length,
      expected: 2,
    },
    {
      name: 'duration "0s" is a valid debounce',
      text: yamlOf(BASE, { after: 6, insert: ['    debounce: 0s'] }),
      check: (c) => c.faults[0]?.debounceMs,
      expected: 0,
    },
    {
      name: 'an empty fault list is valid (everything takes the generic ladder)',
      text: 'version: 1\nfaults: []\n',
      check: (c) => c.faults,
      expected: [],
    },
  ])('$name', ({ text, check, expected }) => {
    expect(check(load(text))).toEqual(expected);
  });
});

describe('loadCatalog: alerts with their own debounce, alerts left alone', () => {
  it('reads a selector debounce and the leaveAlone list', () => {
    const catalog = load(
      yamlOf(
        BASE,
        { after: 6, insert: ['      - alertname: KubeNodeNotReady', '        debounce: 0s'] },
        {
          after: 11,
          insert: [
            'leaveAlone:',
            '  - alertname: KubeletDown',
            '    reason: " cluster-wide, no node to heal "',
          ],
        },
      ),
    );
    expect(catalog.faults[0]?.alerts).toEqual([
      { alertname: 'NodeNotReady', matchers: {} },
      { alertname: 'KubeNodeNotReady', matchers: {}, debounceMs: 0 },
    ]);
    expect(catalog.leaveAlone).toEqual([
      { alertname: 'KubeletDown', matchers: {}, reason: 'cluster-wide, no node to heal' },
    ]);
  });

  it('has an empty leaveAlone list when the file has none', () => {
    expect(load(yamlOf(BASE)).leaveAlone).toEqual([]);
  });

  it('refuses an alert left alone without a reason, naming the place', () => {
    const errors = errorsOf(
      yamlOf(BASE, { after: 11, insert: ['leaveAlone:', '  - alertname: KubeletDown'] }),
    );
    expect(errors).toEqual([expect.objectContaining({ line: 13, path: 'leaveAlone[0].reason' })]);
  });
});

describe('loadCatalog: invalid catalogs report accurate positions', () => {
  it.each<{ name: string; text: string; errors: Array<[number, number, string, string]> }>([
    {
      name: 'unsupported version',
      text: yamlOf(BASE, { replace: 1, with: ['version: 2'] }),
      errors: [[1, 10, 'version', 'unsupported catalog version number 2']],
    },
    {
      name: 'unknown action',
      text: yamlOf(BASE, { replace: 8, with: ['      - action: restart-kubectl'] }),
      errors: [
        [
          8,
          17,
          'faults[0].ladder[0].action',
          'unknown action "restart-kubectl"; expected one of: restart-kubelet,',
        ],
      ],
    },
    {
      name: 'duration that does not parse',
      text: yamlOf(BASE, { replace: 9, with: ['        timeout: 3x'] }),
      errors: [[9, 18, 'faults[0].ladder[0].timeout', 'invalid duration "3x"']],
    },
    {
      name: 'zero step timeout',
      text: yamlOf(BASE, { replace: 11, with: ['        timeout: 0s'] }),
      errors: [[11, 18, 'faults[0].ladder[1].timeout', 'duration "0s" is out of range']],
    },
    {
      name: 'a number where a duration belongs',
      text: yamlOf(BASE, { after: 6, insert: ['    debounce: 120'] }),
      errors: [[7, 15, 'faults[0].debounce', 'expected a duration string such as "120s"']],
    },
    {
      name: 'missing description points at the fault',
      text: yamlOf(BASE, { replace: 4, with: [] }),
      errors: [[3, 5, 'faults[0].description', 'missing required key "description"']],
    },
    {
      name: 'missing step timeout points at the step',
      text: yamlOf(BASE, { replace: 11, with: [] }),
      errors: [[10, 9, 'faults[0].ladder[1].timeout', 'missing required key "timeout"']],
    },
    {
      name: 'missing faults key',
      text: 'version: 1\n',
      errors: [[1, 1, 'faults', 'missing required key "faults"']],
    },
    {
      name: 'empty ladder',
      text: yamlOf(BASE, { replace: 7, with: ['    ladder: []'] }).replace(
        /\n {6}- action: restart-kubelet\n {8}timeout: 3m\n {6}- action: replace\n {8}timeout: 20m/,
        '',
      ),
      errors: [[7, 13, 'faults[0].ladder', 'a ladder needs at least one step']],
    },
    {
      name: 'ladder key without a value',
      text: 'version: 1\nfaults:\n  - name: a\n    description: d\n    alerts: [{ alertname: A }]\n    ladder:\n',
      errors: [[6, 5, 'faults[0].ladder', 'expected a list, got nothing']],
    },
    {
      name: 'no alerts',
      text: yamlOf(BASE, { replace: 5, with: ['    alerts: []'] }, { replace: 6, with: [] }),
      errors: [[5, 13, 'faults[0].alerts', 'a fault needs at least one alert']],
    },
    {
      name: 'unknown key points at the key',
      text: yamlOf(BASE, { after: 4, insert: ['    debounse: 2m'] }),
      errors: [[5, 5, 'faults[0].debounse', 'unknown key "debounse"']],
    },
    {
      name: 'two unknown keys, one error each',
      text: yamlOf(BASE, {
        after: 1,
        insert: ['defaults: { debounce: 1m, flapping: x, hold: y }'],
      }),
      errors: [
        [2, 27, 'defaults.flapping', 'unknown key "flapping"'],
        [2, 40, 'defaults.hold', 'unknown key "hold"'],
      ],
    },
    {
      name: 'fault name not kebab-case',
      text: yamlOf(BASE, { replace: 3, with: ['  - name: NodeNotReady'] }),
      errors: [[3, 11, 'faults[0].name', 'fault name "NodeNotReady" must be kebab-case']],
    },
    {
      name: 'reserved fault name',
      text: yamlOf(BASE, { replace: 3, with: ['  - name: unknown'] }),
      errors: [[3, 11, 'faults[0].name', 'reserved for the generic ladder']],
    },
    {
      name: 'duplicate fault name',
      text: yamlOf([...BASE, ...SECOND], { replace: 12, with: ['  - name: node-not-ready'] }),
      errors: [[12, 11, 'faults[1].name', 'duplicate fault name "node-not-ready" (see line 3)']],
    },
    {
      name: 'an alert in two faults',
      text: yamlOf([...BASE, ...SECOND], {
        replace: 15,
        with: ['      - alertname: NodeNotReady'],
      }),
      errors: [
        [
          15,
          20,
          'faults[1].alerts[0].alertname',
          'alert NodeNotReady{} already belongs to fault "node-not-ready"',
        ],
      ],
    },
    {
      name: 'the same alertname and matchers in two faults, whatever the matcher order',
      text: yamlOf(
        [...BASE, ...SECOND],
        {
          replace: 6,
          with: ['      - alertname: NodeNotReady', '        matchers: { a: "1", b: "2" }'],
        },
        {
          replace: 15,
          with: ['      - alertname: NodeNotReady', '        matchers: { b: "2", a: "1" }'],
        },
      ),
      errors: [
        [
          16,
          20,
          'faults[1].alerts[0].alertname',
          'alert NodeNotReady{a="1",b="2"} already belongs to fault "node-not-ready"',
        ],
      ],
    },
    {
      name: 'the same alert listed twice in one fault',
      text: yamlOf(BASE, { after: 6, insert: ['      - alertname: NodeNotReady'] }),
      errors: [[7, 20, 'faults[0].alerts[1].alertname', 'listed twice in fault "node-not-ready"']],
    },
    {
      name: 'overlapping matchers in two faults',
      text: yamlOf(
        [...BASE, ...SECOND],
        { replace: 6, with: ['      - alertname: NodeNotReady', '        matchers: { a: "1" }'] },
        { replace: 15, with: ['      - alertname: NodeNotReady', '        matchers: { b: "2" }'] },
      ),
      errors: [
        [
          16,
          20,
          'faults[1].alerts[0].alertname',
          'overlaps NodeNotReady{a="1"} of fault "node-not-ready"',
        ],
      ],
    },
    {
      name: 'replace before another step',
      text: yamlOf(BASE, { after: 11, insert: ['      - action: reboot', '        timeout: 10m'] }),
      errors: [[10, 17, 'faults[0].ladder[1].action', '"replace" must be the last step']],
    },
    {
      name: 'replace not last in the generic ladder',
      text: yamlOf(BASE, {
        after: 1,
        insert: [
          'generic:',
          '  ladder:',
          '    - { action: replace, timeout: 20m }',
          '    - { action: drain, timeout: 10m }',
        ],
      }),
      errors: [[4, 17, 'generic.ladder[0].action', '"replace" must be the last step']],
    },
    {
      name: 'boolean label value',
      text: yamlOf(BASE, { after: 6, insert: ['        matchers: { critical: true }'] }),
      errors: [[7, 31, 'faults[0].alerts[0].matchers.critical', 'label values are strings']],
    },
    {
      name: 'reserved label name',
      text: yamlOf(BASE, { after: 6, insert: ['        matchers:', '          __name__: up'] }),
      errors: [[8, 11, 'faults[0].alerts[0].matchers.__name__', 'invalid label name "__name__"']],
    },
    {
      name: 'invalid alert name',
      text: yamlOf(BASE, { replace: 6, with: ['      - alertname: Node Not Ready'] }),
      errors: [[6, 20, 'faults[0].alerts[0].alertname', 'invalid alert name "Node Not Ready"']],
    },
    {
      name: 'success rate above 1',
      text: yamlOf(BASE, {
        after: 9,
        insert: ['        skipBelowSuccessRate: { rate: 1.5, overLast: 10 }'],
      }),
      errors: [
        [
          10,
          39,
          'faults[0].ladder[0].skipBelowSuccessRate.rate',
          'must be at most 1, got number 1.5',
        ],
      ],
    },
    {
      name: 'flap maxTransitions below 1',
      text: yamlOf(BASE, { after: 6, insert: ['    flap: { maxTransitions: 0 }'] }),
      errors: [[7, 29, 'faults[0].flap.maxTransitions', 'must be at least 1, got number 0']],
    },
    {
      name: 'faults is not a list',
      text: 'version: 1\nfaults: {}\n',
      errors: [[2, 9, 'faults', 'expected a list, got a mapping']],
    },
    {
      name: 'empty file',
      text: '',
      errors: [[1, 1, '', 'the catalog is empty']],
    },
    {
      name: 'YAML: duplicate key',
      text: yamlOf(BASE, { after: 4, insert: ['    name: again'] }),
      errors: [[5, 5, '', 'Map keys must be unique']],
    },
    {
      name: 'YAML: tab indentation',
      text: yamlOf(BASE, { replace: 11, with: ['\t\ttimeout: 20m'] }),
      errors: [[11, 1, '', 'Tabs are not allowed as indentation']],
    },
    {
      name: 'YAML: two documents',
      text: yamlOf(BASE, { after: 1, insert: ['---'] }),
      errors: [[2, 1, '', 'a rule file holds one YAML document']],
    },
    {
      name: 'several errors, sorted by line',
      text: yamlOf(
        [...BASE, ...SECOND],
        { replace: 17, with: ['      - action: wipe'] },
        { replace: 9, with: ['        timeout: soon'] },
        { replace: 12, with: ['  - name: node-not-ready'] },
      ),
      errors: [
        [9, 18, 'faults[0].ladder[0].timeout', 'invalid duration "soon"'],
        [12, 11, 'faults[1].name', 'duplicate fault name'],
        [17, 17, 'faults[1].ladder[0].action', 'unknown action "wipe"'],
      ],
    },
  ])('$name', ({ text, errors }) => {
    const actual = errorsOf(text);
    expect(actual.map((error) => [error.line, error.column, error.path])).toEqual(
      errors.map(([line, column, path]) => [line, column, path]),
    );
    errors.forEach(([, , , message], index) => {
      expect(actual[index]?.message).toContain(message);
    });
  });
});

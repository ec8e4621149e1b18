// Hostile rule catalogs, fuzzed (fast-check): whatever text a remedy catalog holds (random
// bytes, YAML of random values, the shipped catalog with random edits, alias bombs, deep
// nesting), the loader answers either a catalog or errors that each name a line, a column and
// the problem; it never throws, and `loadRulesOrThrow` (what every role runs at start) throws
// only its own RulesError.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { parse, stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { loadRulesOrThrow, RulesError } from '../../../src/cli/load-rules.ts';
import { loadCatalog, type LoadCatalogResult } from '../../../src/rules/index.ts';

const SHIPPED_TEXT = readFileSync(
  resolve(import.meta.dirname, '../../../alert-rules/remedies.yaml'),
  'utf8',
);
const SHIPPED = parse(SHIPPED_TEXT) as Record<string, unknown>;

/** The loader's answer is one of its two documented shapes, whatever the input was. */
function expectWellFormed(result: LoadCatalogResult): void {
  if (result.ok) {
    expect(result.catalog.version).toBe(1);
    expect(Array.isArray(result.catalog.faults)).toBe(true);
    for (const fault of [result.catalog.generic, ...result.catalog.faults]) {
      expect(typeof fault.name).toBe('string');
      expect(fault.ladder.length).toBeGreaterThan(0);
      for (const step of fault.ladder) expect(Number.isFinite(step.timeoutMs)).toBe(true);
      expect(Number.isFinite(fault.debounceMs)).toBe(true);
    }
    return;
  }
  expect(result.errors.length).toBeGreaterThan(0);
  for (const error of result.errors) {
    expect(error.line).toBeGreaterThanOrEqual(1);
    expect(error.column).toBeGreaterThanOrEqual(1);
    expect(typeof error.message).toBe('string');
    expect(error.message.trim()).not.toBe('');
  }
}

// ---------------------------------------------------------------------------------------------
// Generators

/** Characters YAML gives meaning to, so random text reaches the parser's corners. */
const yamlish = fc.string({
  unit: fc.constantFrom(
    ...'abc01 :-?[]{},&*!|>\'"%@`#\n\t.~=<\\\u0000\u00e9\ufeff'.split(''),
    '\n  - ',
    '\n    ',
    'version: 1\n',
    'faults:\n',
    '<<: *a\n',
    '&a ',
    '!!binary ',
    '---\n',
  ),
  maxLength: 200,
});

type Path = (string | number)[];

/** Paths to every value inside `value`, root excluded. */
function paths(value: unknown, prefix: Path = []): Path[] {
  if (value === null || typeof value !== 'object') return [];
  // Indexes, not `value.map`: an edit may have given the array an own `constructor`.
  const entries: [string | number, unknown][] = Array.isArray(value)
    ? Array.from({ length: value.length }, (_, i) => [i, (value as unknown[])[i]])
    : Object.entries(value);
  return entries.flatMap(([k, v]) => [[...prefix, k], ...paths(v, [...prefix, k])]);
}

/** Values a hand-edited catalog may hold by mistake. */
const wrongValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(
    '',
    '0s',
    '-1m',
    '99999999999999h',
    '1.5m',
    'NaN',
    'replace',
    'cordon',
    'generic',
    'reboot',
    'fastest',
    ' ',
    '<script>',
    '$(reboot)',
    '../../etc/passwd',
    '\u0000',
    1e308,
    -0,
    Number.MAX_SAFE_INTEGER + 2,
  ),
);

type Edit =
  | { kind: 'delete'; at: number }
  | { kind: 'set'; at: number; value: unknown }
  | { kind: 'add'; at: number; key: string; value: unknown }
  | { kind: 'duplicate'; at: number };

const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: wrongValue }),
  fc.record({
    kind: fc.constant('add' as const),
    at: fc.nat(),
    key: fc.oneof(
      fc.constantFrom('__proto__', 'constructor', 'debounce', 'matchers', 'order', 'ladder'),
      fc.string({ maxLength: 8 }),
    ),
    value: wrongValue,
  }),
  fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat() }),
);

/** The shipped catalog with `edits` applied (each to a value chosen among all of them). */
function edited(edits: Edit[]): unknown {
  const root = structuredClone(SHIPPED) as Record<string | number, unknown>;
  for (const e of edits) {
    const all = paths(root);
    const path = all[e.at % all.length]!;
    let parent: unknown = root;
    for (const k of path.slice(0, -1)) parent = (parent as Record<string | number, unknown>)[k];
    const target = parent as Record<string | number, unknown>;
    const key = path[path.length - 1]!;
    if (e.kind === 'delete') {
      if (Array.isArray(target)) target.splice(Number(key), 1);
      else delete target[key];
    } else if (e.kind === 'set') {
      target[key] = e.value;
    } else if (e.kind === 'duplicate') {
      if (Array.isArray(target)) target.push(structuredClone(target[key as number]));
      else target[key] = structuredClone(target[key]);
    } else {
      const inner = target[key];
      const holder = inner !== null && typeof inner === 'object' ? inner : target;
      Object.defineProperty(holder, e.key, {
        value: e.value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
  }
  return root;
}

const catalogText: fc.Arbitrary<string> = fc.oneof(
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 300 }) },
  { weight: 2, arbitrary: yamlish },
  { weight: 1, arbitrary: fc.anything({ maxDepth: 3 }).map((v) => safeStringify(v)) },
  {
    weight: 6,
    arbitrary: fc
      .array(edit, { minLength: 1, maxLength: 4 })
      .map((edits) => safeStringify(edited(edits))),
  },
  // Random text spliced into the shipped file: broken indentation, quotes, anchors.
  {
    weight: 2,
    arbitrary: fc.tuple(fc.nat(), fc.nat({ max: 40 }), yamlish).map(([at, cut, insert]) => {
      const i = at % SHIPPED_TEXT.length;
      return SHIPPED_TEXT.slice(0, i) + insert + SHIPPED_TEXT.slice(i + cut);
    }),
  },
);

/** YAML of a value `yaml` can write; values it cannot (symbols, functions) become their text. */
function safeStringify(value: unknown): string {
  try {
    // `stringify(undefined)` answers undefined, not text.
    return stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

// ---------------------------------------------------------------------------------------------

const dir = mkdtempSync(join(tmpdir(), 'nodeheal-catalog-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the rule-catalog loader under hostile input', () => {
  it('answers a catalog or located errors for any text, never an exception', () => {
    const seen = { ok: 0, errors: 0 };
    fc.assert(
      fc.property(catalogText, (text) => {
        const result = loadCatalog(text, 'fuzz.yaml');
        expectWellFormed(result);
        seen[result.ok ? 'ok' : 'errors'] += 1;
      }),
      { numRuns: 800 },
    );
    // Both answers are reached: the property is not vacuous.
    expect(seen.ok).toBeGreaterThan(0);
    expect(seen.errors).toBeGreaterThan(0);
    // A hang would end here too: vitest fails a test past its time limit.
  }, 60_000);

  it('loadRulesOrThrow: a file gives a catalog or a RulesError naming the file, nothing else', async () => {
    const file = join(dir, 'remedies.yaml');
    await fc.assert(
      fc.asyncProperty(catalogText, async (text) => {
        writeFileSync(file, text);
        try {
          const catalog = await loadRulesOrThrow(file);
          expect(catalog.source).toBe(file);
        } catch (error) {
          expect(error).toBeInstanceOf(RulesError);
          expect((error as RulesError).code).toBe('RULES_INVALID');
          expect((error as Error).message).toContain(file);
        }
      }),
      { numRuns: 150 },
    );
  }, 60_000);

  it.each([
    [
      'an alias bomb (billion laughs)',
      [
        'a: &a ["x","x","x","x","x","x","x","x","x"]',
        ...Array.from({ length: 9 }, (_, i) => {
          const prev = i === 0 ? 'a' : `l${i - 1}`;
          return `l${i}: &l${i} [*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev}]`;
        }),
      ].join('\n'),
      /alias/i,
    ],
    ['10,000 nested flow sequences', `${'['.repeat(10_000)}${']'.repeat(10_000)}`, /./],
    ['10,000 nested flow mappings', `${'{a: '.repeat(10_000)}1${'}'.repeat(10_000)}`, /./],
    ['a 1 MB fault name', `version: 1\nfaults:\n  - name: ${'n'.repeat(1 << 20)}\n`, /./],
    ['NUL and control characters', 'version: 1\u0000\nfaults: [\u0007]\n', /./],
    ['a huge number', 'version: 1e999999\nfaults: []\n', /version/],
  ])('%s: errors with a line, no exception', (_name, text, message) => {
    const result = loadCatalog(text, 'fuzz.yaml');
    expectWellFormed(result);
    expect(result.ok).toBe(false);
    if (!result.ok)
      expect(result.errors.map((e) => `${e.path} ${e.message}`).join('\n')).toMatch(message);
  });

  it('a byte-order mark and CRLF line ends are read as YAML allows: a valid catalog', () => {
    const result = loadCatalog('\ufeffversion: 1\r\nfaults: []\r\n', 'fuzz.yaml');
    expectWellFormed(result);
    expect(result.ok).toBe(true);
  });
});

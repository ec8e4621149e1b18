// `approval: outage` in a rule file: off by default, validated, on the generic ladder too, shown
// by `nodeheal rules check`.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkRulesFile } from '../../../src/cli/check-rules-file.ts';
import { loadCatalog } from '../../../src/rules/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'nodeheal-approval-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const rules = (fault: string, generic = '') => `version: 1
faults:
  - name: kernel-deadlock
    description: a deadlock
    alerts:
      - alertname: NodeKernelDeadlock
${fault}    ladder:
      - { action: drain, timeout: 3m }
      - { action: replace, timeout: 20m }
generic:
${generic}  ladder:
    - { action: cordon, timeout: 1m }
    - { action: drain, timeout: 5m }
`;

describe('approval in remedies.yaml', () => {
  it.each([
    ['absent: none (nothing carried)', '', undefined],
    ['none', '    approval: none\n', undefined],
    ['outage', '    approval: outage\n', 'outage'],
  ])('%s', (_name, line, expected) => {
    const result = loadCatalog(rules(line), 'r.yaml');
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.catalog.faults[0]?.approval).toBe(expected);
  });

  it('applies to the generic ladder as well', () => {
    const result = loadCatalog(rules('', '  approval: outage\n'), 'r.yaml');
    expect(result.ok && result.catalog.generic.approval).toBe('outage');
  });

  it('an unknown mode is an error at its line', () => {
    const result = loadCatalog(rules('    approval: always\n'), 'r.yaml');
    expect(result).toEqual({
      ok: false,
      errors: [
        {
          line: 7,
          column: 15,
          path: 'faults[0].approval',
          message: 'unknown approval "always"; expected one of: none, outage',
        },
      ],
    });
  });

  it('nodeheal rules check shows it', async () => {
    const path = join(dir, 'r.yaml');
    writeFileSync(path, rules('    approval: outage\n'));
    const { exitCode, output } = await checkRulesFile(path);
    expect(exitCode).toBe(0);
    expect(output).toContain('drain 3m → replace 20m (approval: outage)\n');
  });
});

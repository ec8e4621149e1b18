// `order: fastest` in a rule file: off by default, validated, shown by `nodeheal rules check`.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkRulesFile } from '../../../src/cli/check-rules-file.ts';
import { loadCatalog } from '../../../src/rules/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'nodeheal-order-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const rules = (order: string) => `version: 1
faults:
  - name: kernel-deadlock
    description: a deadlock
    alerts:
      - alertname: NodeKernelDeadlock
${order}    ladder:
      - { action: restart-kubelet, timeout: 3m }
      - { action: reboot, timeout: 10m }
      - { action: replace, timeout: 20m }
`;

describe('order in remedies.yaml', () => {
  it.each([
    ['absent: written (nothing carried)', '', undefined],
    ['written', '    order: written\n', undefined],
    ['fastest', '    order: fastest\n', 'fastest'],
  ])('%s', (_name, line, expected) => {
    const result = loadCatalog(rules(line), 'r.yaml');
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.catalog.faults[0]?.order).toBe(expected);
  });

  it('an unknown order is an error at its line', () => {
    const result = loadCatalog(rules('    order: quickest\n'), 'r.yaml');
    expect(result).toEqual({
      ok: false,
      errors: [
        {
          line: 7,
          column: 12,
          path: 'faults[0].order',
          message: 'unknown order "quickest"; expected one of: written, fastest',
        },
      ],
    });
  });

  it('nodeheal rules check shows it', async () => {
    const path = join(dir, 'r.yaml');
    writeFileSync(path, rules('    order: fastest\n'));
    const { exitCode, output } = await checkRulesFile(path);
    expect(exitCode).toBe(0);
    expect(output).toContain('restart-kubelet 3m → reboot 10m → replace 20m (order: fastest)\n');
  });
});

// nodeheal's Prometheus rules, checked and unit-tested by promtool (Debian's, from the package
// `prometheus` that test/stack/prepare.ts installs): every alert-rules/prometheus/*.yaml passes
// `promtool check rules` and has alert-rules/prometheus/tests/<basename>.test.yaml, every test
// file passes `promtool test rules`, every alert is tested firing and not firing, and an alert
// routed to nodeheal (`nodeheal="true"`) is expected with `node` or `instance` and `severity`.
// Files are discovered: a new rule file, test file or alert is covered without touching this.
// Needs no stack server (it is in the stack project to run after prepare, which installs promtool).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { debianBinaries } from '../stack/debian.ts';
import { repoRoot } from '../stack/paths.ts';

const rulesDir = join(repoRoot, 'alert-rules', 'prometheus');
const testsDir = join(rulesDir, 'tests');
const promtool = debianBinaries.promtool.path;

const isFile = (path: string) => statSync(path).isFile();
const ruleFiles = readdirSync(rulesDir)
  .filter((name) => /\.ya?ml$/.test(name) && isFile(join(rulesDir, name)))
  .sort();
const testFiles = existsSync(testsDir)
  ? readdirSync(testsDir)
      .filter((name) => name.endsWith('.test.yaml') && isFile(join(testsDir, name)))
      .sort()
  : [];

interface RuleFile {
  groups?: { name: string; rules?: { alert?: string; record?: string }[] }[];
}
interface AlertRuleTest {
  alertname: string;
  eval_time: string;
  exp_alerts?: { exp_labels?: Record<string, string> }[] | null;
}
interface UnitTestFile {
  rule_files?: string[];
  tests?: { name?: string; alert_rule_test?: AlertRuleTest[] }[];
}

function readYaml<T>(path: string): T {
  return parse(readFileSync(path, 'utf8')) as T;
}

function alertsOf(ruleFile: string): string[] {
  const file = readYaml<RuleFile>(join(rulesDir, ruleFile));
  return (file.groups ?? []).flatMap((g) => (g.rules ?? []).flatMap((r) => r.alert ?? []));
}

/** Runs promtool; fails the test with its whole output unless it exits 0. */
function runPromtool(args: string[]): string {
  const run = spawnSync(promtool, args, { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 });
  const output = `${run.stdout ?? ''}${run.stderr ?? ''}`;
  if (run.error) throw new Error(`${promtool} ${args.join(' ')}: ${run.error.message}`);
  if (run.status !== 0) {
    throw new Error(`${promtool} ${args.join(' ')} exited ${run.status}:\n${output}`);
  }
  return output;
}

/** Rule files (paths relative to alert-rules/prometheus/) a test file loads. */
function ruleFilesOf(testFile: string): string[] {
  const file = readYaml<UnitTestFile>(join(testsDir, testFile));
  return (file.rule_files ?? []).map((path) => {
    const absolute = resolve(testsDir, path);
    return dirname(absolute) === rulesDir ? basename(absolute) : absolute;
  });
}

describe('alert-rules/prometheus', () => {
  it('has rule files, and promtool is installed (test/stack/prepare.ts installs it)', () => {
    expect(ruleFiles.length).toBeGreaterThan(0);
    expect(existsSync(promtool), `${promtool} (Debian package prometheus)`).toBe(true);
  });

  it.each(ruleFiles)('%s passes promtool check rules', (ruleFile) => {
    expect(runPromtool(['check', 'rules', join(rulesDir, ruleFile)])).toContain('SUCCESS');
  });

  it.each(ruleFiles)('%s has its promtool tests in tests/<basename>.test.yaml', (ruleFile) => {
    const testFile = ruleFile.replace(/\.ya?ml$/, '.test.yaml');
    expect(testFiles, `alert-rules/prometheus/tests/${testFile}`).toContain(testFile);
    expect(ruleFilesOf(testFile), `rule_files of tests/${testFile}`).toContain(ruleFile);
  });

  it.each(testFiles)('tests/%s passes promtool test rules', (testFile) => {
    for (const ruleFile of ruleFilesOf(testFile)) {
      expect(existsSync(resolve(rulesDir, ruleFile)), `rule_files entry ${ruleFile}`).toBe(true);
    }
    expect(runPromtool(['test', 'rules', join(testsDir, testFile)])).toContain('SUCCESS');
  });

  it.each(ruleFiles)(
    'every alert of %s is tested firing and not firing by a test file that loads it',
    (ruleFile) => {
      const cases = testFiles
        .filter((testFile) => ruleFilesOf(testFile).includes(ruleFile))
        .flatMap((testFile) =>
          (readYaml<UnitTestFile>(join(testsDir, testFile)).tests ?? []).flatMap(
            (test) => test.alert_rule_test ?? [],
          ),
        );
      const untested: string[] = [];
      for (const alert of alertsOf(ruleFile)) {
        const own = cases.filter((c) => c.alertname === alert);
        const fires = own.some((c) => (c.exp_alerts ?? []).length > 0);
        const quiet = own.some((c) => (c.exp_alerts ?? []).length === 0);
        if (!fires) untested.push(`${alert}: no alert_rule_test where it fires`);
        if (!quiet) untested.push(`${alert}: no alert_rule_test where it does not fire`);
      }
      expect(untested, `alerts of ${ruleFile} missing promtool tests`).toEqual([]);
    },
  );

  it.each(testFiles)(
    'tests/%s expects every alert routed to nodeheal to name a node and a severity',
    (testFile) => {
      const wrong: string[] = [];
      for (const test of readYaml<UnitTestFile>(join(testsDir, testFile)).tests ?? []) {
        for (const c of test.alert_rule_test ?? []) {
          for (const alert of c.exp_alerts ?? []) {
            const labels = alert.exp_labels ?? {};
            if (labels.nodeheal !== 'true') continue;
            if (!labels.node && !labels.instance)
              wrong.push(`${c.alertname} at ${c.eval_time}: no node or instance`);
            if (!labels.severity) wrong.push(`${c.alertname} at ${c.eval_time}: no severity`);
          }
        }
      }
      expect(wrong).toEqual([]);
    },
  );
});

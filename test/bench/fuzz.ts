// `npm run fuzz`: hostile input through the real `nodeheal serve` (a child process, Redis and the
// kube-apiserver of a stack of its own). FUZZ_CASES requests (default 100,000) drawn from the
// property test's generators (test/integration/support/webhook-fuzz-inputs.ts): valid v4
// payloads and random mutations of them, random JSON and bytes, hostile label values, 1 MB
// strings, deep nesting, huge alert arrays, bad UTF-8, odd content types and encodings, wrong or
// missing credentials. Each answer is judged by the contract model (webhook-contract.ts).
//
// Prints the count per status code, crashes (a request the process did not answer, or the
// process gone), 5xx answers, answers the contract does not allow, RSS of serve at the start,
// every 10,000 cases and at the end, and cases per second. Exits 1 when there was a crash, a
// 5xx or a disallowed answer, or serve is not alive and ready at the end.
//
// Environment: FUZZ_CASES (100000), FUZZ_CONCURRENCY (requests in flight, 4), FUZZ_SEED
// (default: from the clock; printed, so a run can be repeated).
import fc from 'fast-check';
import { startStack } from '../stack/stack.ts';
import { aliveAndReady, rssMiB, startFuzzServe } from '../integration/support/serve-fuzz.ts';
import { answerProblem } from '../integration/support/webhook-contract.ts';
import {
  bytesOf,
  fuzzInputs,
  sendCase,
  type FuzzCase,
} from '../integration/support/webhook-fuzz-inputs.ts';

function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    console.error(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return value;
}

const CASES = positiveInt('FUZZ_CASES', 100_000);
const CONCURRENCY = positiveInt('FUZZ_CONCURRENCY', 4);
const SEED = positiveInt('FUZZ_SEED', Date.now() % 2 ** 31);
const BATCH = 1000;
const REPORT_EVERY = 10_000;

/** A case as a short line for the report (a 1 MB body is not printed whole). */
function describeCase(c: FuzzCase): string {
  const text = JSON.stringify({ ...c, body: bytesOf(c.body).toString('utf8').slice(0, 300) });
  return text.length > 600 ? `${text.slice(0, 600)}…` : text;
}

const stack = await startStack({ mode: 'attached', parts: ['redis', 'kube'] });
let exitCode = 0;
try {
  const nodes = Array.from({ length: 6 }, (_, i) => `fuzz-bench-${i}`);
  const { serve, target } = await startFuzzServe({
    redisUrl: stack.info.redisUrl ?? '',
    kubeconfig: stack.info.kubeconfig ?? '',
    nodes,
    logLevel: 'error',
  });
  try {
    const inputs = fuzzInputs(target);
    const url = `${serve.url}/webhook/alertmanager`;
    const statuses = new Map<number, number>();
    const disallowed: string[] = [];
    let crashes = 0;
    let serverErrors = 0;
    let done = 0;
    const rss: [number, number][] = [[0, rssMiB(serve.child.pid)]];
    console.log(`fuzz: ${CASES} cases, ${CONCURRENCY} in flight, seed ${SEED}`);
    console.log(`  RSS at start: ${rss[0]![1].toFixed(0)} MiB`);

    const one = async (c: FuzzCase) => {
      try {
        const res = await sendCase(url, c);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status >= 500) serverErrors += 1;
        const problem = answerProblem(c, res.bytes, target.limit, res.status, res.body);
        if (problem !== undefined) disallowed.push(`${problem}\n    case ${describeCase(c)}`);
      } catch (error) {
        crashes += 1;
        disallowed.push(`no answer: ${(error as Error).message}\n    case ${describeCase(c)}`);
      }
      done += 1;
      if (done % REPORT_EVERY === 0) {
        rss.push([done, rssMiB(serve.child.pid)]);
        console.log(`  ${done} cases: RSS ${rss.at(-1)![1].toFixed(0)} MiB`);
      }
    };

    const started = performance.now();
    for (let first = 0; first < CASES && serve.child.exitCode === null; first += BATCH) {
      const size = Math.min(BATCH, CASES - first);
      const batch = fc.sample(inputs.case, { numRuns: size, seed: SEED + first });
      let next = 0;
      const lane = async () => {
        while (next < batch.length) await one(batch[next++]!);
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, lane));
    }
    const seconds = (performance.now() - started) / 1000;
    if (serve.child.exitCode !== null) crashes += 1;
    const end = serve.child.exitCode === null ? await aliveAndReady(serve) : undefined;
    rss.push([done, rssMiB(serve.child.pid)]);

    console.log('');
    console.log(`cases: ${done} in ${seconds.toFixed(1)} s = ${(done / seconds).toFixed(0)}/s`);
    const byCode = [...statuses.entries()].sort(([a], [b]) => a - b);
    console.log(`answers by status: ${byCode.map(([s, n]) => `${s}: ${n}`).join(', ')}`);
    console.log(`crashes: ${crashes} (must be 0)`);
    console.log(`5xx: ${serverErrors} (must be 0)`);
    console.log(`answers the contract does not allow: ${disallowed.length} (must be 0)`);
    for (const d of disallowed.slice(0, 5)) console.log(`  ${d}`);
    console.log(
      `RSS of serve (MiB): start ${rss[0]![1].toFixed(0)}, ` +
        rss
          .slice(1, -1)
          .map(([n, m]) => `${n / 1000}k ${m.toFixed(0)}`)
          .join(', ') +
        `, end ${rss.at(-1)![1].toFixed(0)}`,
    );
    console.log(
      `at the end: ${end ? `/healthz ${end.healthz}, /readyz ${end.readyz}` : `serve exited ${serve.child.exitCode}`}`,
    );
    const healthy = end !== undefined && end.healthz === 200 && end.readyz === 200;
    if (crashes > 0 || serverErrors > 0 || disallowed.length > 0 || !healthy) exitCode = 1;
  } finally {
    await serve.stop();
  }
} finally {
  await stack.stop();
}
process.exit(exitCode);

// `npm run demo`: nodeheal end to end on its embedded local stack. Installs and builds what is
// missing, starts real Redis, etcd, a Kubernetes control plane, KWOK, kube-state-metrics,
// Prometheus and Alertmanager on loopback, runs `nodeheal serve` and `nodeheal worker`, and then
// kills the kubelet of one simulated node: kube-controller-manager marks it NotReady,
// kube-state-metrics and Prometheus raise NodeUnreachable, Alertmanager posts it to nodeheal,
// and nodeheal cordons, drains and replaces the node. Ctrl-C stops everything; `--once` exits
// after the heal (a smoke test of the whole product).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { stopHeartbeat } from '../test/stack/helpers/faults.ts';
import { adminClients } from '../test/stack/helpers/kube.ts';
import { createNodePool, poolLabel } from '../test/stack/helpers/pool.ts';
import {
  createNamespace,
  createReplicaSetWithPdb,
  waitPodsRunning,
} from '../test/stack/helpers/workloads.ts';
import { repoRoot } from '../test/stack/paths.ts';
import { freePort } from '../test/stack/ports.ts';
import { configureAlertmanager, startStack, stackEnv } from '../test/stack/stack.ts';
import { sleep } from '../test/stack/wait.ts';

const once = process.argv.includes('--once');
const say = (line: string) => console.log(`[demo] ${line}`);
const children: ChildProcess[] = [];

const stack = await startStack({ mode: 'attached' });
const stopAll = async (code: number) => {
  for (const c of children) c.kill('SIGTERM');
  await stack.stop();
  process.exit(code);
};
process.once('SIGINT', () => void stopAll(0));
process.once('SIGTERM', () => void stopAll(0));

try {
  const kube = adminClients(stack.info);
  const dir = mkdtempSync(join(tmpdir(), 'nodeheal-demo-'));
  // The shipped catalog, with debounces short enough for a demo and no node agent: the kubelet
  // restart cannot be delivered, so nodeheal escalates to replacement.
  const doc = parseDocument(readFileSync(join(repoRoot, 'alert-rules', 'remedies.yaml'), 'utf8'));
  const faults = (doc.toJS() as { faults: { name: string }[] }).faults;
  faults.forEach((_, i) => doc.setIn(['faults', i, 'debounce'], '15s'));
  const rules = join(dir, 'remedies.yaml');
  writeFileSync(rules, doc.toString());
  const token = 'demo-token';
  const servePort = await freePort();
  const workerPort = await freePort();
  const env = {
    ...process.env,
    ...stackEnv(stack.info),
    NODEHEAL_RULES: rules,
    NODEHEAL_WEBHOOK_TOKEN: token,
    NODEHEAL_LISTEN: `127.0.0.1:${servePort}`,
    NODEHEAL_WORKER_LISTEN: `127.0.0.1:${workerPort}`,
    NODEHEAL_POOL_LABELS: poolLabel,
    NODEHEAL_PROVIDERS: JSON.stringify([
      { selector: { 'node-role.kubernetes.io/worker': '' }, provider: 'kwok' },
    ]),
    NODEHEAL_DRAIN_SKIP_WAIT_MS: '5000',
    NODEHEAL_VERIFY_POLL_MS: '1000',
  };
  for (const role of ['serve', 'worker']) {
    const child = spawn(process.execPath, [join(repoRoot, 'src', 'main.ts'), role], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const relay = (data: Buffer) => {
      for (const line of data.toString().split('\n').filter(Boolean)) {
        try {
          const entry = JSON.parse(line) as { msg?: string };
          if (entry.msg) console.log(`[${role}] ${entry.msg}`);
        } catch {
          console.log(`[${role}] ${line}`);
        }
      }
    };
    child.stdout.on('data', relay);
    child.stderr.on('data', relay);
    children.push(child);
  }
  const serveUrl = `http://127.0.0.1:${servePort}`;
  for (let i = 0; ; i++) {
    if ((await fetch(`${serveUrl}/healthz`).catch(() => undefined))?.ok) break;
    if (i > 100) throw new Error('nodeheal serve did not start');
    await sleep(200);
  }
  await configureAlertmanager(stack.info.alertmanagerConfig!, stack.info.alertmanagerUrls, {
    url: `${serveUrl}/webhook/alertmanager`,
    bearerToken: token,
  });

  const nodes = await createNodePool(kube, { name: 'demo-pool', size: 4 });
  await createNamespace(kube, 'shop');
  await createReplicaSetWithPdb(kube, {
    namespace: 'shop',
    name: 'web',
    replicas: 4,
    minAvailable: 3,
    spread: true,
    nodeSelector: { [poolLabel]: 'demo-pool' },
  });
  await waitPodsRunning(kube, 'shop', 'app=web', 4);
  say(`pool demo-pool: ${nodes.join(', ')}; ReplicaSet shop/web (4 pods, PDB minAvailable 3)`);
  say(
    `Prometheus ${stack.info.prometheusUrl}  Alertmanager ${stack.info.alertmanagerUrls[0]}  nodeheal ${serveUrl}`,
  );
  for (const [key, value] of Object.entries(stackEnv(stack.info))) say(`export ${key}=${value}`);

  const victim = nodes[1]!;
  await stopHeartbeat(kube, victim);
  say(
    `killed the kubelet of ${victim}; waiting for NotReady → NodeUnreachable (for: 30s) → debounce (15s) → heal`,
  );
  const started = Date.now();
  let seen = 0;
  for (;;) {
    const view = (await (await fetch(`${serveUrl}/nodes/${victim}`)).json()) as {
      heals: { id: string; status: string }[];
    };
    const latest = view.heals[0];
    if (latest) {
      const detail = (await (await fetch(`${serveUrl}/heals/${latest.id}`)).json()) as {
        status: string;
        transitions: { at: number; detail: string }[];
      };
      for (const t of detail.transitions.slice(seen)) say(`heal ${latest.id}: ${t.detail}`);
      seen = detail.transitions.length;
      if (detail.status !== 'running') {
        say(
          `heal ${detail.status} ${Math.round((Date.now() - started) / 1000)} s after the kubelet died; status page: ${serveUrl}/heals/${latest.id}`,
        );
        break;
      }
    }
    if (Date.now() - started > 300_000) throw new Error('no heal finished within 5 minutes');
    await sleep(1000);
  }
  const pool = (await kube.core.listNode({ labelSelector: `${poolLabel}=demo-pool` })).items.map(
    (n) => n.metadata!.name!,
  );
  say(`pool demo-pool now: ${pool.join(', ')}`);
  if (once) await stopAll(0);
  else say('nodeheal keeps running; Ctrl-C stops everything');
} catch (error) {
  console.error(`[demo] ${error instanceof Error ? error.message : String(error)}`);
  await stopAll(1);
}

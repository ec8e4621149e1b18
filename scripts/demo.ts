// `npm run demo`: nodeheal's local stack end to end on this machine. Installs and builds what is
// missing, starts real Redis, etcd, Kubernetes control plane, KWOK, kube-state-metrics,
// Prometheus and Alertmanager on loopback, creates a small simulated node pool, and shows where
// everything listens. Ctrl-C stops it all. `--once` exits after the tour (used to smoke-test).
import { execFileSync } from 'node:child_process';
import { adminClients } from '../test/stack/helpers/kube.ts';
import { createNodePool } from '../test/stack/helpers/pool.ts';
import { startStack, stackEnv } from '../test/stack/stack.ts';

const once = process.argv.includes('--once');
const stack = await startStack({ mode: 'attached' });
const kube = adminClients(stack.info);
const nodes = await createNodePool(kube, { name: 'demo-pool', size: 3 });

console.log('\nnodeheal demo stack is up. Simulated node pool "demo-pool":\n');
console.log(
  execFileSync(stack.info.kubectl!, ['get', 'nodes', '-o', 'wide'], {
    env: { ...process.env, KUBECONFIG: stack.info.kubeconfig },
    encoding: 'utf8',
  }),
);
console.log('Endpoints:');
console.log(`  Kubernetes API   ${stack.info.apiserverUrl}`);
console.log(`  Prometheus       ${stack.info.prometheusUrl}`);
console.log(`  Alertmanager     ${stack.info.alertmanagerUrls.join(', ')}`);
console.log(`  Redis            ${stack.info.redisUrl}`);
console.log('\nPoint a shell at it:');
for (const [key, value] of Object.entries(stackEnv(stack.info)))
  console.log(`  export ${key}=${value}`);
console.log(`\nNodes: ${nodes.join(', ')}. Healing arrives with the intake and worker issues.`);

if (once) {
  await stack.stop();
} else {
  console.log('\nCtrl-C stops everything.');
  const stop = () => void stack.stop().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

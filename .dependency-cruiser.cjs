// The layering of DESIGN.md ("Parts"), checked on every `npm run lint` (and so in `npm test`):
// dependencies point inward. A violation fails with the rule's name and the import that broke it.
//
//   core        triage, rules, safety, heal          pure: no I/O, no adapter
//   adapters    log, metrics, config, store, queue, kube, actions, providers, sources, agent,
//               signals, hooks, notify
//   composers   intake, worker, status, http         put adapters and core together
//   root        cli, main.ts                          wires everything
const CORE = '(triage|rules|safety|heal)';
const COMPOSERS = '(intake|worker|status|http)';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'No module imports itself through others: folders form a graph without cycles.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'core-is-pure',
      severity: 'error',
      comment:
        'The pure core (triage, rules, safety, heal) imports only the core: no adapter, no composer.',
      from: { path: `^src/${CORE}/` },
      to: { path: '^src/', pathNot: `^src/${CORE}/` },
    },
    {
      name: 'core-has-no-io',
      severity: 'error',
      comment:
        'The pure core does no I/O: no Redis, HTTP, filesystem, processes or Kubernetes calls.',
      from: { path: `^src/${CORE}/` },
      to: {
        dependencyTypesNot: ['type-only'],
        path: '^(ioredis|bullmq|express|@kubernetes/client-node|pino|prom-client)$|^(node:)?(fs|fs/promises|http|https|net|child_process|dgram)$',
      },
    },
    {
      name: 'adapters-do-not-compose',
      severity: 'error',
      comment: 'Adapters do not import the composers (intake, worker, status, http) or the cli.',
      from: {
        path: '^src/(log|metrics|config|store|queue|kube|actions|providers|sources|agent|signals|hooks|notify)/',
      },
      to: { path: `^src/(${COMPOSERS.slice(1, -1)}|cli)/` },
    },
    {
      name: 'composers-stay-apart',
      severity: 'error',
      comment:
        'intake, worker and status do not import each other or http; http composes them (and may import intake and status).',
      from: { path: '^src/(intake|worker|status)/' },
      to: { path: '^src/(intake|worker|status|http)/', pathNot: '^src/$1/' },
    },
    {
      name: 'agent-stays-light',
      severity: 'error',
      comment:
        "The node agent runs on every node: src/agent and `nodeheal agent` load no library of serve and worker (Kubernetes client, queue, Redis, express, metrics) and no folder that does; node:http comes from process.getBuiltinModule (an ESM import of it loads undici). Types only are fine. Measured in docs/benchmarks.md, 'Footprint'; test/unit/cli/agent-imports.test.ts checks what the running agent loads.",
      from: { path: '^src/(agent/|cli/agent\\.ts$)' },
      to: {
        dependencyTypesNot: ['type-only'],
        path: [
          '^node_modules/(@kubernetes/client-node|bullmq|ioredis|express|prom-client)/',
          '^src/(actions|kube|queue|store|metrics|http|intake|worker|status|providers|sources|notify|hooks|signals|config)/',
          '^(node:)?http$',
        ],
      },
    },
    {
      name: 'only-cli-wires',
      severity: 'error',
      comment: 'Nothing but main.ts imports the cli.',
      from: { path: '^src/', pathNot: '^src/(cli/|main\\.ts$)' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'through-index',
      severity: 'error',
      comment:
        "A folder is imported through its index.ts: another folder's files are its own business.",
      from: { path: '^src/([^/]+)/' },
      to: { path: '^src/[^/]+/', pathNot: ['^src/$1/', '^src/[^/]+/index\\.ts$'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};

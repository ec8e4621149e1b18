// `nodeheal agent` configuration: flags over NODEHEAL_AGENT_* variables, loopback-only health,
// and errors that name both the flag and the variable.
import { describe, expect, it } from 'vitest';
import { AGENT_DEFAULTS, loadAgentConfig } from '../../../src/agent/index.ts';

const env = {
  NODEHEAL_AGENT_SECRET_FILE: '/etc/nodeheal/agent/secret',
  NODEHEAL_AGENT_NODE: 'worker-1',
};

describe('loadAgentConfig', () => {
  it('applies the defaults', async () => {
    expect(await loadAgentConfig({}, env)).toEqual({
      listenHost: '0.0.0.0',
      listenPort: 9180,
      health: { host: '127.0.0.1', port: 9181 },
      secretFile: '/etc/nodeheal/agent/secret',
      catalog: AGENT_DEFAULTS.catalog,
      node: 'worker-1',
      stateDir: undefined,
    });
  });

  it('reads every NODEHEAL_AGENT_* variable, and flags win over them', async () => {
    const fromEnv = await loadAgentConfig(
      {},
      {
        ...env,
        NODEHEAL_AGENT_LISTEN: '10.0.3.7:9999',
        NODEHEAL_AGENT_HEALTH_LISTEN: 'off',
        NODEHEAL_AGENT_CATALOG: '/c.yaml',
        NODEHEAL_AGENT_STATE_DIR: '/var/lib/nodeheal-agent',
      },
    );
    expect(fromEnv).toMatchObject({
      listenHost: '10.0.3.7',
      listenPort: 9999,
      health: undefined,
      catalog: '/c.yaml',
      stateDir: '/var/lib/nodeheal-agent',
    });
    const fromFlags = await loadAgentConfig(
      { listen: '[fd00::7]:9180', node: 'worker-2', healthListen: '[::1]:7000' },
      { ...env, NODEHEAL_AGENT_LISTEN: '10.0.3.7:9999' },
    );
    expect(fromFlags).toMatchObject({
      listenHost: 'fd00::7',
      listenPort: 9180,
      node: 'worker-2',
      health: { host: '::1', port: 7000 },
    });
  });

  it.each([
    ['10.0.3.7:9180', '10.0.3.7', 9180],
    ['[fd00::7]:9180', 'fd00::7', 9180],
    ['fd00::7:9180', 'fd00::7', 9180],
    ['worker-1.internal:80', 'worker-1.internal', 80],
  ])('listens on %s (the DaemonSet gives $(NODE_IP):port)', async (listen, host, port) => {
    expect(await loadAgentConfig({ listen }, env)).toMatchObject({
      listenHost: host,
      listenPort: port,
    });
  });

  it.each([
    [{}, { NODEHEAL_AGENT_NODE: 'n' }, 'NODEHEAL_AGENT_SECRET_FILE (--secret-file): required'],
    [{}, { NODEHEAL_AGENT_SECRET_FILE: '/s' }, 'NODEHEAL_AGENT_NODE (--node): required'],
    [{ node: 'Bad_Name' }, env, 'NODEHEAL_AGENT_NODE (--node): expected a Kubernetes node name'],
    [{ listen: '9180' }, env, 'NODEHEAL_AGENT_LISTEN (--listen): expected host:port'],
    [{ listen: '0.0.0.0:70000' }, env, 'NODEHEAL_AGENT_LISTEN (--listen): port above 65535'],
    [
      { healthListen: '0.0.0.0:9181' },
      env,
      'NODEHEAL_AGENT_HEALTH_LISTEN (--health-listen): the unauthenticated health endpoint listens on loopback only',
    ],
  ])('refuses %j with %j', async (flags, environment, message) => {
    await expect(loadAgentConfig(flags, environment)).rejects.toThrow(message);
  });
});

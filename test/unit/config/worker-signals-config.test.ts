// The worker's settings for the operator's signals: blockers need a Prometheus to ask, names are
// unique, and bad input is refused at start with what is wrong.
import { describe, expect, it } from 'vitest';
import { loadWorkerConfig } from '../../../src/config/index.ts';

const ceph = { name: 'ceph', query: 'ALERTS{alertname="CephHealthWarning"}' };

describe('worker configuration: blockers and silences', () => {
  it('takes blockers with a Prometheus, and an Alertmanager for silences', () => {
    const config = loadWorkerConfig({
      NODEHEAL_PROMETHEUS_URL: 'http://prometheus:9090',
      NODEHEAL_BLOCKERS: JSON.stringify([{ ...ceph, pools: ['storage'] }]),
      NODEHEAL_ALERTMANAGER_URL: 'http://alertmanager:9093',
    });
    expect(config.NODEHEAL_BLOCKERS).toEqual([{ ...ceph, pools: ['storage'] }]);
    expect(config.NODEHEAL_ALERTMANAGER_URL).toBe('http://alertmanager:9093');
    expect(config.NODEHEAL_SIGNALS_TIMEOUT_MS).toBe(5000);
  });

  it('refuses blockers without a Prometheus to ask', () => {
    expect(() => loadWorkerConfig({ NODEHEAL_BLOCKERS: JSON.stringify([ceph]) })).toThrow(
      /NODEHEAL_BLOCKERS: needs NODEHEAL_PROMETHEUS_URL/,
    );
  });

  it('refuses two blockers with one name, and blockers that are not JSON or lack a query', () => {
    const env = { NODEHEAL_PROMETHEUS_URL: 'http://prometheus:9090' };
    expect(() =>
      loadWorkerConfig({ ...env, NODEHEAL_BLOCKERS: JSON.stringify([ceph, ceph]) }),
    ).toThrow(/ceph named twice/);
    expect(() => loadWorkerConfig({ ...env, NODEHEAL_BLOCKERS: '[{' })).toThrow(
      /NODEHEAL_BLOCKERS: expected JSON/,
    );
    expect(() =>
      loadWorkerConfig({ ...env, NODEHEAL_BLOCKERS: JSON.stringify([{ name: 'x' }]) }),
    ).toThrow(/NODEHEAL_BLOCKERS/);
    expect(() => loadWorkerConfig({ NODEHEAL_ALERTMANAGER_URL: 'not a url' })).toThrow(
      /NODEHEAL_ALERTMANAGER_URL/,
    );
  });
});

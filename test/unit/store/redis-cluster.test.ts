import { describe, expect, it } from 'vitest';
import { clusterEnabledInInfo } from '../../../src/store/redis-cluster.ts';

describe('clusterEnabledInInfo', () => {
  it('reads cluster mode from an INFO cluster answer', () => {
    expect(clusterEnabledInInfo('# Cluster\r\ncluster_enabled:1\r\n')).toBe(true);
    expect(clusterEnabledInInfo('# Cluster\r\ncluster_enabled:0\r\n')).toBe(false);
  });

  it('is false for an answer without the field (a proxy, an old server)', () => {
    expect(clusterEnabledInInfo('')).toBe(false);
    expect(clusterEnabledInInfo('# Cluster\r\n')).toBe(false);
    expect(clusterEnabledInInfo('cluster_enabled:10\r\n')).toBe(false);
  });
});

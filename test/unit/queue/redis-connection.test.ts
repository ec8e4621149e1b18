// The connection options each role gets for a Redis behind Sentinel: the Sentinels and master name,
// each side's credentials, following +switch-master, and what a READONLY answer does. Built with
// lazyConnect (serve's producer), so nothing connects.
import { describe, expect, it } from 'vitest';
import type { RedisTarget } from '../../../src/config/index.ts';
import { producerConnection } from '../../../src/queue/index.ts';

const target: RedisTarget = {
  kind: 'sentinel',
  sentinels: [
    { host: 's0', port: 26379 },
    { host: 's1', port: 26380 },
  ],
  masterName: 'mymaster',
  password: 'p',
  sentinelPassword: 'sp',
};

describe('producer connection to a Redis behind Sentinel', () => {
  it('asks the Sentinels for the primary of the master name, with each side its credentials', () => {
    const redis = producerConnection(target, 1500);
    try {
      expect(redis.options).toMatchObject({
        sentinels: target.sentinels,
        name: 'mymaster',
        role: 'master',
        password: 'p',
        sentinelPassword: 'sp',
        failoverDetector: true,
        enableOfflineQueue: false,
        commandTimeout: 1500,
        sentinelCommandTimeout: 1500,
      });
      expect(redis.status).toBe('wait');
    } finally {
      redis.disconnect();
    }
  });

  it('reconnects (without resending) on READONLY only', () => {
    const redis = producerConnection(target, 1500);
    try {
      const onError = redis.options.reconnectOnError!;
      expect(onError(new Error("READONLY You can't write against a read only replica."))).toBe(1);
      expect(onError(new Error('ERR unknown command'))).toBe(false);
    } finally {
      redis.disconnect();
    }
  });

  it('takes a plain URL as before', () => {
    const redis = producerConnection({ kind: 'url', url: 'redis://r:6390/2' }, 1500);
    try {
      expect(redis.options).toMatchObject({ host: 'r', port: 6390, db: 2 });
      expect(redis.options.sentinels).toBeFalsy();
    } finally {
      redis.disconnect();
    }
  });
});

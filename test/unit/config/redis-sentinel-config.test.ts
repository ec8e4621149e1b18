// Where Redis is: one URL (the default), or the primary named by Redis Sentinel. Bad or conflicting
// settings are refused at start with the variable named.
import { describe, expect, it } from 'vitest';
import { describeRedisTarget, loadConfig, parseSentinels } from '../../../src/config/index.ts';

const sentinelEnv = {
  NODEHEAL_REDIS_SENTINELS: 'sentinel-0:26379, sentinel-1:26379,[fd00::2]:26380',
  NODEHEAL_REDIS_SENTINEL_MASTER: 'mymaster',
};

describe('Redis target', () => {
  it('is the URL by default, and the URL given', () => {
    expect(loadConfig({}).redis).toEqual({ kind: 'url', url: 'redis://127.0.0.1:6379' });
    expect(loadConfig({ NODEHEAL_REDIS_URL: 'rediss://r:6380' }).redis).toEqual({
      kind: 'url',
      url: 'rediss://r:6380',
    });
  });

  it('is the Sentinels and master name, with the credentials of each', () => {
    const config = loadConfig({
      ...sentinelEnv,
      NODEHEAL_REDIS_PASSWORD: 'p',
      NODEHEAL_REDIS_USERNAME: 'nodeheal',
      NODEHEAL_REDIS_SENTINEL_PASSWORD: 'sp',
    });
    expect(config.redis).toEqual({
      kind: 'sentinel',
      sentinels: [
        { host: 'sentinel-0', port: 26379 },
        { host: 'sentinel-1', port: 26379 },
        { host: 'fd00::2', port: 26380 },
      ],
      masterName: 'mymaster',
      username: 'nodeheal',
      password: 'p',
      sentinelPassword: 'sp',
    });
    expect(describeRedisTarget(config.redis)).toBe(
      'the primary of mymaster (Sentinels sentinel-0:26379,sentinel-1:26379,fd00::2:26380)',
    );
  });

  it('ignores NODEHEAL_REDIS_PASSWORD with the URL (the chart sets it to expand into the URL)', () => {
    expect(
      loadConfig({ NODEHEAL_REDIS_URL: 'redis://:p@r:6379', NODEHEAL_REDIS_PASSWORD: 'p' }).redis,
    ).toEqual({ kind: 'url', url: 'redis://:p@r:6379' });
  });

  it.each([
    [
      'the URL and Sentinels together',
      { ...sentinelEnv, NODEHEAL_REDIS_URL: 'redis://r:6379' },
      /set NODEHEAL_REDIS_URL or NODEHEAL_REDIS_SENTINELS, not both/,
    ],
    [
      'Sentinels without a master name',
      { NODEHEAL_REDIS_SENTINELS: 's:26379' },
      /NODEHEAL_REDIS_SENTINELS needs NODEHEAL_REDIS_SENTINEL_MASTER/,
    ],
    [
      'a master name without Sentinels',
      { NODEHEAL_REDIS_SENTINEL_MASTER: 'mymaster' },
      /need NODEHEAL_REDIS_SENTINELS/,
    ],
    [
      'a Sentinel without a port',
      { ...sentinelEnv, NODEHEAL_REDIS_SENTINELS: 's0:26379,s1' },
      /NODEHEAL_REDIS_SENTINELS: "s1" is not host:port/,
    ],
    [
      'an empty entry',
      { ...sentinelEnv, NODEHEAL_REDIS_SENTINELS: 's0:26379,,s1:26379' },
      /NODEHEAL_REDIS_SENTINELS: "" is not host:port/,
    ],
    [
      'a port out of range',
      { ...sentinelEnv, NODEHEAL_REDIS_SENTINELS: 's0:70000' },
      /NODEHEAL_REDIS_SENTINELS: s0:70000: port must be 1-65535/,
    ],
    [
      'the same Sentinel twice',
      { ...sentinelEnv, NODEHEAL_REDIS_SENTINELS: 's0:26379,s0:26379' },
      /NODEHEAL_REDIS_SENTINELS: s0:26379 twice/,
    ],
    [
      'a master name with spaces',
      { ...sentinelEnv, NODEHEAL_REDIS_SENTINEL_MASTER: 'my master' },
      /NODEHEAL_REDIS_SENTINEL_MASTER: expected a master group name/,
    ],
  ])('refuses %s', (_, env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('parses a single Sentinel', () => {
    expect(parseSentinels('127.0.0.1:26379')).toEqual([{ host: '127.0.0.1', port: 26379 }]);
  });

  it('never shows a password in a description', () => {
    expect(describeRedisTarget({ kind: 'url', url: 'redis://u:secret@r:6379' })).toBe(
      'redis://***:***@r:6379',
    );
  });
});

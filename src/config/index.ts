// Configuration: one schema over environment variables, validated at start.
export { envSchema, type EnvConfig } from './config-schema.ts';
export { ConfigError, loadConfig, type Config } from './load-config.ts';
export { loadWorkerConfig } from './worker-config.ts';
export {
  describeRedisTarget,
  parseSentinels,
  redactRedisUrl,
  redisTarget,
  type RedisTarget,
  type SentinelAddress,
} from './redis-target.ts';

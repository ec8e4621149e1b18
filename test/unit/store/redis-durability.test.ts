import { describe, expect, it } from 'vitest';
import { durabilityWarning } from '../../../src/store/redis-durability.ts';

describe('durabilityWarning', () => {
  it.each([
    { appendonly: 'yes', appendfsync: 'always', warns: undefined },
    { appendonly: 'yes', appendfsync: 'everysec', warns: 'appendfsync everysec' },
    { appendonly: 'yes', appendfsync: 'no', warns: 'appendfsync no' },
    { appendonly: 'no', appendfsync: 'always', warns: 'appendonly no' },
    { appendonly: 'no', appendfsync: 'everysec', warns: 'appendonly no' },
  ])('appendonly $appendonly, appendfsync $appendfsync', ({ appendonly, appendfsync, warns }) => {
    const warning = durabilityWarning({ appendonly, appendfsync });
    if (warns === undefined) expect(warning).toBeUndefined();
    else expect(warning).toContain(warns);
  });
});

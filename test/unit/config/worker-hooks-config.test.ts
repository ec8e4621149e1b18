import { describe, expect, it } from 'vitest';
import { loadWorkerConfig } from '../../../src/config/index.ts';

describe('NODEHEAL_HOOKS', () => {
  it('is read as a JSON list of hooks, with defaults', () => {
    const config = loadWorkerConfig({
      NODEHEAL_HOOKS: JSON.stringify([
        { name: 'dbop', url: 'https://dbop.example/hook', pools: ['db'], phases: ['pre'] },
      ]),
      NODEHEAL_HOOK_SECRET_FILE: '/etc/nodeheal/hook-secret/secret',
    });
    expect(config.NODEHEAL_HOOKS).toEqual([
      {
        name: 'dbop',
        url: 'https://dbop.example/hook',
        pools: ['db'],
        phases: ['pre'],
        timeoutMs: 5000,
      },
    ]);
  });

  it.each([
    ['not JSON', '[{', /NODEHEAL_HOOKS: expected JSON/],
    ['a hook without a URL', '[{"name":"a"}]', /NODEHEAL_HOOKS\.0\.url/],
    ['a typo', '[{"name":"a","url":"http://x","timeout":5}]', /NODEHEAL_HOOKS\.0.*timeout/],
  ])('names the field when %s', (_name, value, message) => {
    expect(() =>
      loadWorkerConfig({ NODEHEAL_HOOKS: value, NODEHEAL_HOOK_SECRET_FILE: '/s' }),
    ).toThrow(message);
  });

  it('needs the secret file to sign with', () => {
    expect(() => loadWorkerConfig({ NODEHEAL_HOOKS: '[{"name":"a","url":"http://x"}]' })).toThrow(
      /NODEHEAL_HOOKS: needs NODEHEAL_HOOK_SECRET_FILE/,
    );
    expect(loadWorkerConfig({ NODEHEAL_HOOKS: '[]' }).NODEHEAL_HOOKS).toEqual([]);
  });
});

// NODEHEAL_APPROVAL: the pools whose heals ask a human before an outage; bad input is refused at
// start, saying what is wrong.
import { describe, expect, it } from 'vitest';
import { loadWorkerConfig } from '../../../src/config/index.ts';

describe('worker configuration: approval', () => {
  it('is off without the setting', () => {
    expect(loadWorkerConfig({}).NODEHEAL_APPROVAL).toBeUndefined();
  });

  it('takes pool rules with a selector (empty: every node) and a mode', () => {
    const rules = [
      { selector: { 'nodeheal.io/pool': 'db' }, approval: 'outage' },
      { approval: 'none' },
    ];
    expect(
      loadWorkerConfig({ NODEHEAL_APPROVAL: JSON.stringify(rules) }).NODEHEAL_APPROVAL,
    ).toEqual([
      { selector: { 'nodeheal.io/pool': 'db' }, approval: 'outage' },
      { selector: {}, approval: 'none' },
    ]);
  });

  it.each([
    ['not JSON', '[{', /NODEHEAL_APPROVAL: expected JSON/],
    ['an unknown mode', JSON.stringify([{ approval: 'always' }]), /NODEHEAL_APPROVAL\.0\.approval/],
    ['no mode', JSON.stringify([{ selector: {} }]), /NODEHEAL_APPROVAL\.0\.approval/],
    ['a stray field', JSON.stringify([{ approval: 'outage', pools: ['db'] }]), /NODEHEAL_APPROVAL/],
    [
      'a selector value that is not a string',
      JSON.stringify([{ selector: { a: 1 }, approval: 'outage' }]),
      /NODEHEAL_APPROVAL\.0\.selector\.a/,
    ],
  ])('refuses %s', (_name, value, message) => {
    expect(() => loadWorkerConfig({ NODEHEAL_APPROVAL: value })).toThrow(message);
  });
});

// Event messages end with the heal's status page when NODEHEAL_PUBLIC_URL is set.
import { describe, expect, it } from 'vitest';
import { withStatusLink } from '../../../src/worker/heal-events.ts';

const link = (id: string) => `https://nodeheal.example.com/heals/${encodeURIComponent(id)}`;

describe('withStatusLink', () => {
  it('appends the status page of the heal the message names', () => {
    expect(withStatusLink('heal h-1 (disk-full): Heal started', link)).toBe(
      'heal h-1 (disk-full): Heal started; status page: https://nodeheal.example.com/heals/h-1',
    );
    expect(withStatusLink('heal h-2: drain done', link)).toBe(
      'heal h-2: drain done; status page: https://nodeheal.example.com/heals/h-2',
    );
  });

  it('leaves the message alone without a link, or when it names no heal', () => {
    expect(withStatusLink('heal h-1: x', undefined)).toBe('heal h-1: x');
    expect(withStatusLink('node drained', link)).toBe('node drained');
  });

  it('shortens a long message so that the link stays whole within 1 KiB', () => {
    const message = withStatusLink(`heal h-3: ${'x'.repeat(2000)}`, link);
    expect(message).toHaveLength(1024);
    expect(message.endsWith('…; status page: https://nodeheal.example.com/heals/h-3')).toBe(true);
  });
});

// What a heal job carries of its alert for the status pages: a few annotations, each capped, and
// the generatorURL when it is not too long; jobs scheduled before these fields still parse.
import { describe, expect, it } from 'vitest';
import {
  HEAL_JOB_VERSION,
  MAX_ANNOTATION_LENGTH,
  MAX_URL_LENGTH,
  carriedUrl,
  healJobSchema,
  shownAnnotations,
} from '../../../src/queue/index.ts';

describe('shownAnnotations', () => {
  it('keeps summary, description and runbook_url, non-empty, each capped', () => {
    const long = 'x'.repeat(MAX_ANNOTATION_LENGTH + 500);
    const shown = shownAnnotations({
      summary: 'disk full',
      description: long,
      runbook_url: 'https://runbooks.example/disk',
      dashboard: 'https://grafana.example/d/1',
      message: '',
    });
    expect(Object.keys(shown).sort()).toEqual(['description', 'runbook_url', 'summary']);
    expect(shown.summary).toBe('disk full');
    expect(shown.description).toHaveLength(MAX_ANNOTATION_LENGTH);
    expect(shown.description?.endsWith('…')).toBe(true);
    expect(shownAnnotations({ summary: '' })).toEqual({});
  });
});

describe('carriedUrl', () => {
  it('drops an empty or overlong URL (a cut URL is a wrong link)', () => {
    expect(carriedUrl(undefined)).toBeUndefined();
    expect(carriedUrl('')).toBeUndefined();
    expect(carriedUrl(`http://p/${'a'.repeat(MAX_URL_LENGTH)}`)).toBeUndefined();
    expect(carriedUrl('http://p:9090/graph')).toBe('http://p:9090/graph');
    // Not a link check: the pages decide what becomes a link.
    expect(carriedUrl('javascript:alert(3)')).toBe('javascript:alert(3)');
  });
});

describe('healJobSchema', () => {
  const older = {
    version: HEAL_JOB_VERSION,
    key: 'heal:worker-1:disk-full',
    node: 'worker-1',
    fault: 'disk-full',
    alertname: 'NodeDiskFull',
    fingerprint: 'abc',
    labels: { alertname: 'NodeDiskFull', node: 'worker-1' },
    startsAt: '2025-03-01T12:00:00.000Z',
    dueAt: '2025-03-01T12:02:00.000Z',
    scheduledAt: '2025-03-01T12:00:30.000Z',
    flapping: false,
  };

  it('parses a job scheduled before annotations and generatorURL were carried', () => {
    const job = healJobSchema.parse(older);
    expect(job.annotations).toBeUndefined();
    expect(job.generatorURL).toBeUndefined();
  });

  it('parses a job that carries them', () => {
    const job = healJobSchema.parse({
      ...older,
      annotations: { summary: 'disk full' },
      generatorURL: 'http://p/graph',
    });
    expect(job.annotations).toEqual({ summary: 'disk full' });
    expect(job.generatorURL).toBe('http://p/graph');
  });
});

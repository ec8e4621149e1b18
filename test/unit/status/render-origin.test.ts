// A heal's page says why it started (the alert, its labels and annotations, since when, the
// link to its expression), where its time went, and which node replaced the old one; hostile
// alert values stay text and only http(s) URLs become links.
import { describe, expect, it } from 'vitest';
import { newHealRecord, type HealRecord } from '../../../src/heal/index.ts';
import { healDetail, statusLinks } from '../../../src/status/heal-views.ts';
import { externalLink, isHttpUrl } from '../../../src/status/html.ts';
import {
  renderHealPage,
  renderWaitingPage,
  type RenderContext,
} from '../../../src/status/render-html.ts';
import { at, done, drive, MIN, NOT_READY, SEC, start, T0 } from './fixtures.ts';

const links = statusLinks('https://nodeheal.example.com');
const ctx: RenderContext = { now: new Date(T0 + 10 * MIN), links };
const IMG = '<img src=x onerror=alert(1)>';
const SCRIPT = '<script>alert(2)</script>';

function visibleText(page: string): string {
  return page
    .replace(/<style>[\s\S]*?<\/style>/g, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&#96;/g, '`')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');
}

function record(generatorURL: string, extra: Record<string, string> = {}): HealRecord {
  return newHealRecord({
    id: 'heal-why',
    node: 'worker-1',
    fault: 'kernel-deadlock',
    pool: 'general',
    ladder: NOT_READY,
    faultStartedAt: at(-100 * SEC),
    now: at(0),
    alert: {
      alertname: 'NodeKernelDeadlock',
      fingerprint: 'f00d',
      labels: { alertname: 'NodeKernelDeadlock', node: 'worker-1', ...extra },
      annotations: {
        summary: `worker-1 deadlocked ${IMG}`,
        description: `the kernel hung ${SCRIPT}`,
        runbook_url: 'https://runbooks.example/kernel',
      },
      generatorURL,
      sourceURL: generatorURL === '' ? '' : 'http://alertmanager.example:9093',
      scheduledAt: at(-70 * SEC).toISOString(),
      dueAt: at(-10 * SEC).toISOString(),
    },
  });
}

describe('isHttpUrl and externalLink', () => {
  it('links http(s) URLs only; anything else is text', () => {
    expect(isHttpUrl('https://prometheus.example/graph?g0.expr=up')).toBe(true);
    expect(isHttpUrl('http://p:9090/graph')).toBe(true);
    for (const url of [
      'javascript:alert(3)',
      'JaVaScRiPt:alert(3)',
      'data:text/html,x',
      '/x',
      '',
    ]) {
      expect(isHttpUrl(url)).toBe(false);
    }
    expect(externalLink('javascript:alert(3)').value).not.toMatch(/<a\b/);
    expect(externalLink('javascript:alert(3)').value).toContain('<code>javascript:alert(3)</code>');
    expect(externalLink('https://x.example/?a=1&b="2"', 'open').value).toBe(
      '<a href="https://x.example/?a=1&amp;b=&quot;2&quot;" rel="noreferrer noopener">open</a>',
    );
    expect(externalLink('').value).toBe('');
  });
});

describe('renderHealPage: why it started', () => {
  it('shows the alert, its labels and annotations, since when, and links its expression', () => {
    const url = 'http://prometheus.example:9090/graph?g0.expr=kube_node_status_condition&g0.tab=1';
    const detail = healDetail(record(url), { now: T0 + 30 * SEC }, links);
    const page = renderHealPage(detail, null, ctx);
    const text = visibleText(page);
    expect(text).toContain('Why it started');
    expect(text).toContain('NodeKernelDeadlock');
    expect(text).toContain(`summary worker-1 deadlocked ${IMG}`);
    expect(text).toContain(`description the kernel hung ${SCRIPT}`);
    expect(text).toContain('firing since 2025-03-01T11:58:20.000Z');
    expect(text).toContain('received 2025-03-01T11:58:50.000Z');
    expect(text).toContain('due 2025-03-01T11:59:50.000Z');
    expect(text).toMatch(/node worker-1/);
    expect(page).toContain(
      `href="${url.replace(/&/g, '&amp;')}" rel="noreferrer noopener">open in Prometheus</a>`,
    );
    expect(page).toContain('href="https://runbooks.example/kernel"');
    expect(page).toContain(
      'href="http://alertmanager.example:9093" rel="noreferrer noopener">open in Alertmanager (or Grafana)</a>',
    );
    // Hostile annotation values are text, never markup.
    expect(page).not.toMatch(/<img/i);
    expect(page).not.toMatch(/<script/i);
  });

  it('shows a javascript: generatorURL as text, not as a link', () => {
    const page = renderHealPage(
      healDetail(record('javascript:alert(3)', { note: `${IMG}${SCRIPT}` }), {}, links),
      null,
      ctx,
    );
    expect(page).not.toMatch(/href="javascript:/i);
    expect(page).not.toMatch(/<a [^>]*>[^<]*javascript/i);
    expect(visibleText(page)).toContain('expression javascript:alert(3) (not a web link)');
    expect(visibleText(page)).toContain(`note ${IMG}${SCRIPT}`);
    expect(page).not.toMatch(/<img/i);
    expect(page).not.toMatch(/<script/i);
    expect(page).not.toMatch(/<[^>]*\son\w+=/i);
  });

  it('says so for a record without the alert details (written before they were kept)', () => {
    const older: HealRecord = { ...record(''), origin: null };
    const text = visibleText(renderHealPage(healDetail(older, {}, links), null, ctx));
    expect(text).toContain('This record predates the alert details');
  });
});

describe('renderHealPage: time to heal and the replacement', () => {
  it('shows each phase with its duration and share, and the total', () => {
    const healed = drive(record('https://p.example/g'), [
      [0, start],
      [20 * SEC, done(0)],
      [90 * SEC, { kind: 'fault-resolved', at: T0 + 90 * SEC }],
    ]);
    const detail = healDetail(healed, { now: T0 + 10 * MIN }, links);
    expect(detail.phases).toMatchObject({
      detectionMs: 30 * SEC,
      debounceMs: 60 * SEC,
      queuedMs: 10 * SEC,
      actingMs: 20 * SEC,
      verificationMs: 70 * SEC,
      totalMs: 190 * SEC,
    });
    const text = visibleText(renderHealPage(detail, null, ctx));
    expect(text).toContain('Time to heal');
    expect(text).toContain('detection 30s 16%');
    expect(text).toContain('debounce 1m 32%');
    expect(text).toContain('queued 10s 5%');
    expect(text).toContain('waiting on gates 0s 0%');
    expect(text).toContain('acting 20s 11%');
    expect(text).toContain('verification 1m10s 37%');
    expect(text).toContain('total 3m10s');
  });

  it('names the replacement node as its own field, linked to its page', () => {
    const replaced: HealRecord = { ...record('https://p.example/g'), replacement: 'worker-1-new' };
    const detail = healDetail(replaced, {}, links);
    expect(detail.replacement).toBe('worker-1-new');
    expect(detail.links.replacement).toBe('https://nodeheal.example.com/nodes/worker-1-new');
    const page = renderHealPage(detail, null, ctx);
    expect(page).toContain('href="https://nodeheal.example.com/nodes/worker-1-new"');
    expect(visibleText(page)).toContain('replaced by worker-1-new');
  });
});

describe('renderWaitingPage', () => {
  it('shows a heal a gate holds before it started (what a HealSkipped Event links to)', () => {
    const page = renderWaitingPage(
      'heal-w',
      {
        healId: 'heal-w',
        key: 'heal:worker-2:disk-full',
        node: 'worker-2',
        fault: `disk-full ${IMG}`,
        gate: 'storm',
        detail: `3 nodes unhealthy ${SCRIPT}`,
        at: T0,
        retryAt: T0 + 11 * MIN,
      },
      null,
      ctx,
    );
    const text = visibleText(page);
    expect(text).toContain('Heal heal-w');
    expect(text).toContain('waiting Not started yet');
    expect(text).toMatch(/Held by safety gate storm ?: 3 nodes unhealthy/);
    expect(text).toContain(`3 nodes unhealthy ${SCRIPT}`);
    expect(text).toContain('asks again in 1m');
    expect(text).toContain(`fault disk-full ${IMG}`);
    expect(page).toContain('href="https://nodeheal.example.com/nodes/worker-2"');
    expect(page).not.toMatch(/<img/i);
    expect(page).not.toMatch(/<script/i);
  });
});

// The HTML pages: what they show, and that hostile values in records stay inert text.
import { describe, expect, it } from 'vitest';
import type { HealRecord } from '../../../src/heal/index.ts';
import type { PauseState } from '../../../src/store/heal-store.ts';
import { healDetail, healSummary, statusLinks } from '../../../src/status/heal-views.ts';
import {
  renderErrorPage,
  renderHealList,
  renderHealPage,
  renderNodePage,
  type RenderContext,
} from '../../../src/status/render-html.ts';
import {
  abandoned,
  drive,
  escalatedToReboot,
  failed,
  fresh,
  healedByKubelet,
  heldByPause,
  MIN,
  SEC,
  skippedByOptOut,
  start,
  T0,
} from './fixtures.ts';

const links = statusLinks('https://nodeheal.example.com');
const ctx: RenderContext = { now: new Date(T0 + 2 * MIN), links };
const HOSTILE = `<script>alert("x")</script><img src=x onerror='alert(1)'>`;

/** Text of the page with tags removed and entities decoded: what a reader sees. */
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

/** A record whose free-text fields are hostile (node names are validated, the rest is not). */
function hostileRecord(): HealRecord {
  const record = drive(fresh({ id: 'heal-x', fault: `disk-${HOSTILE}`, pool: HOSTILE }), [
    [0, start],
    [10 * SEC, failed(0, HOSTILE)],
  ]);
  return { ...record, outcomeReason: HOSTILE };
}

function expectInert(page: string): void {
  expect(page).not.toMatch(/<script/i);
  expect(page).not.toMatch(/<img/i);
  // No tag carries an event handler attribute.
  expect(page).not.toMatch(/<[^>]*\son\w+=/i);
  expect(page).not.toContain(HOSTILE);
}

describe('renderHealPage', () => {
  it('shows the facts, the ladder with step states and the timeline with ISO times', () => {
    const record = escalatedToReboot({ id: 'heal-42', node: 'worker-9' });
    const page = renderHealPage(healDetail(record, {}, links), null, ctx);
    const text = visibleText(page);
    expect(text).toContain('Heal heal-42');
    expect(text).toContain('node-not-ready');
    expect(page).toContain('href="https://nodeheal.example.com/nodes/worker-9"');
    // Ladder: action, timeout, state, result.
    expect(text).toMatch(/1 restart-kubelet 3m done failed 1/);
    expect(text).toMatch(/2 reboot 10m current 1/);
    expect(text).toMatch(/3 replace 20m pending/);
    // Timeline.
    expect(text).toContain('2025-03-01T12:00:00.000Z started 1. restart-kubelet pending → acting');
    expect(text).toContain(
      '2025-03-01T12:00:10.000Z escalated 1. restart-kubelet acting → pending',
    );
    expect(text).toContain('Escalated: restart-kubelet failed: kubelet did not restart');
    expect(text).toContain('Running: step 2 of 3 (reboot), acting');
    expect(text).toContain('(1m50s ago)');
  });

  it('shows the outcome of a finished heal', () => {
    const text = visibleText(renderHealPage(healDetail(abandoned(), {}, links), null, ctx));
    expect(text).toContain('abandoned Ladder exhausted');
    expect(text).toMatch(/ended 2025-03-01T12:00:30.000Z .* after 30s/);
  });

  it('shows the safety gate that holds a running heal, the cancel request and the pause', () => {
    const record = drive(fresh(), [[0, start]]);
    const paused: PauseState = { by: 'admin-api', at: T0, reason: 'incident 123' };
    const detail = healDetail(
      record,
      {
        blocked: {
          healId: record.id,
          key: record.key,
          node: record.node,
          fault: record.fault,
          gate: 'pool-budget',
          detail: 'pool general: 1 of 1 healing',
          at: T0 + MIN,
          retryAt: T0 + 3 * MIN,
        },
        cancelRequestedBy: 'admin-api',
      },
      links,
    );
    const text = visibleText(renderHealPage(detail, paused, ctx));
    expect(text).toContain('Held by safety gate pool-budget');
    expect(text).toContain('pool general: 1 of 1 healing');
    expect(text).toContain('asks again in 1m');
    expect(text).toContain('Cancel requested by admin-api');
    expect(text).toContain('Healing is paused by admin-api');
    expect(text).toContain('incident 123');
  });

  it('shows a skipped heal with the gate that refused it', () => {
    const text = visibleText(renderHealPage(healDetail(skippedByOptOut(), {}, links), null, ctx));
    expect(text).toContain('skipped skipped: safety gate opt-out refused restart-kubelet');
    expect(text).toContain('nothing was done on the node');
  });

  it('shows the gate that holds a step from the record when the store has no note', () => {
    const text = visibleText(renderHealPage(healDetail(heldByPause(), {}, links), null, ctx));
    expect(text).toContain('Held by safety gate paused');
    expect(text).toContain('reboot waits for safety gate paused: nodeheal is paused');
  });

  it('says so when the heal has not started', () => {
    const text = visibleText(renderHealPage(healDetail(fresh(), {}, links), null, ctx));
    expect(text).toContain('No transitions yet');
  });

  it('escapes every value taken from the record', () => {
    const page = renderHealPage(healDetail(hostileRecord(), {}, links), null, ctx);
    expectInert(page);
    expect(visibleText(page)).toContain(HOSTILE);
  });
});

describe('renderHealList', () => {
  const heals = [
    escalatedToReboot({ id: 'heal-b', node: 'worker-2' }),
    healedByKubelet({ id: 'heal-a', node: 'worker-1', dryRun: true }),
  ].map((r) => healSummary(r, links));

  it('is a table of heals with links to each heal and node', () => {
    const page = renderHealList({ heals, paused: null }, { limit: 100 }, ctx);
    const text = visibleText(page);
    expect(page).toContain('href="https://nodeheal.example.com/heals/heal-b"');
    expect(page).toContain('href="https://nodeheal.example.com/nodes/worker-1"');
    expect(text).toContain('heal-b worker-2 node-not-ready running reboot (2/3, acting)');
    expect(text).toContain('heal-a worker-1 node-not-ready healed dry run restart-kubelet (1/3)');
    expect(text).toContain('2 shown, newest first (at most 100)');
    expect(text).not.toContain('paused');
  });

  it('names the filters and the pause', () => {
    const paused: PauseState = { by: 'admin-api', at: T0, reason: HOSTILE };
    const page = renderHealList(
      { heals: [], paused },
      { node: 'worker-3', status: 'running', limit: 5 },
      ctx,
    );
    const text = visibleText(page);
    expect(text).toContain('0 shown, newest first, node worker-3, status running (at most 5)');
    expect(text).toContain('No heals recorded.');
    expect(text).toContain('Healing is paused by admin-api since 2025-03-01T12:00:00.000Z');
    expectInert(page);
  });

  it('escapes hostile summaries', () => {
    const page = renderHealList(
      { heals: [healSummary(hostileRecord(), links)], paused: null },
      { limit: 100 },
      ctx,
    );
    expectInert(page);
  });
});

describe('renderNodePage', () => {
  it('shows the current heal with its ladder and every heal of the node', () => {
    const running = escalatedToReboot({ id: 'heal-now', base: T0 + MIN });
    const old = healedByKubelet({ id: 'heal-old' });
    const page = renderNodePage(
      {
        node: 'worker-1',
        current: healDetail(running, {}, links),
        heals: [running, old].map((r) => healSummary(r, links)),
        paused: null,
      },
      ctx,
    );
    const text = visibleText(page);
    expect(text).toContain('Node worker-1');
    expect(text).toContain('Current heal: heal-now (node-not-ready)');
    expect(text).toMatch(/2 reboot 10m current/);
    expect(text).toContain('All heals of worker-1');
    expect(text).toContain('heal-old node-not-ready healed');
  });

  it('says when no heal is running', () => {
    const text = visibleText(
      renderNodePage({ node: 'worker-5', current: null, heals: [], paused: null }, ctx),
    );
    expect(text).toContain('No heal is running on this node.');
    expect(text).toContain('No heals recorded.');
  });
});

describe('renderErrorPage', () => {
  it('shows the status and the escaped message', () => {
    const page = renderErrorPage(404, `no heal ${HOSTILE}`, ctx);
    expect(visibleText(page)).toContain('404 no heal');
    expectInert(page);
  });
});

describe('every page', () => {
  const pages = [
    renderHealPage(healDetail(hostileRecord(), {}, links), null, ctx),
    renderHealList({ heals: [], paused: null }, { limit: 1 }, ctx),
    renderNodePage({ node: 'w', current: null, heals: [], paused: null }, ctx),
    renderErrorPage(400, 'bad', ctx),
  ];

  it.each(pages.map((p, i) => [i, p]))('page %i has a viewport and no scripts', (_i, page) => {
    expect(page).toContain('name="viewport"');
    expect(page).not.toMatch(/<script|javascript:|<link|<iframe/i);
    expect(page).toContain('href="https://nodeheal.example.com/heals"');
  });
});

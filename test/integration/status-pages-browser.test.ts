// The status pages in a real browser: headless Chromium (Debian's, driven by playwright-core)
// opens the heal list, a heal's page and node pages served by a real `nodeheal serve` over a
// real heal (a KWOK node cordoned and replaced), follows their links, and saves screenshots
// under test-results/screenshots/. A second heal carries hostile values, as a node annotation
// copied into alert labels would: they show as text, no dialog opens, no script runs, no image
// is requested, even with the Content-Security-Policy bypassed (escaping alone must hold).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { HealRecord } from '../../src/heal/index.ts';
import type { HealDetail } from '../../src/status/index.ts';
import { nodehealEvents } from '../stack/helpers/events.ts';
import { setNodeCondition } from '../stack/helpers/faults.ts';
import { adminClients, mergePatch, uniqueName, type KubeClients } from '../stack/helpers/kube.ts';
import { createNodePool, deleteNodePool } from '../stack/helpers/pool.ts';
import { browserBinaries, ensureDebianPackages } from '../stack/debian.ts';
import { repoRoot } from '../stack/paths.ts';
import {
  HARNESS_WEBHOOK_TOKEN,
  startHarness,
  type Harness,
  type HarnessOptions,
} from './support/heal-harness.ts';
import { nodehealKubeconfig } from './support/nodeheal-identity.ts';

const stack = inject('stack');
const SCREENSHOTS = join(repoRoot, 'test-results', 'screenshots');
/** What this machine's Chromium needs: no sandbox as root, no network beyond the test's. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const IMG = '<img src=x onerror=alert(1)>';
const SCRIPT = '<script>alert(2)</script>';
const GENERATOR =
  'http://prometheus.test:9090/graph?g0.expr=kube_node_status_condition%7Bcondition%3D%22KernelDeadlock%22%7D&g0.tab=1';

let kube: KubeClients;
let harness: Harness;
let browser: Browser;
let pool: string;
let nodes: string[];

beforeAll(async () => {
  // npm test's prepare step installs it; a lone run of this file does too (as root).
  ensureDebianPackages(browserBinaries);
  kube = adminClients(stack);
  const options: HarnessOptions = {
    kubeconfig: (await nodehealKubeconfig(kube, stack)).path,
    ladders: {
      'kernel-deadlock': [
        { action: 'cordon', timeout: '30s' },
        { action: 'replace', timeout: '120s' },
      ],
      // The hostile heal: cordon, then 5 s for the fault to clear; it does not, so it ends.
      'readonly-filesystem': [{ action: 'cordon', timeout: '5s' }],
    },
    workers: 0,
  };
  harness = await startHarness(options);
  // The worker links Events and the heal annotation to the pages this serve shows.
  options.workerEnv = { NODEHEAL_PUBLIC_URL: harness.serveUrl };
  await harness.startWorker();
  pool = uniqueName('br');
  nodes = await createNodePool(kube, { name: pool, size: 3 });
  mkdirSync(SCREENSHOTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: browserBinaries.chromium.path,
    args: CHROMIUM_ARGS,
  });
});

afterAll(async () => {
  await browser?.close();
  await harness?.stop();
  if (pool) await deleteNodePool(kube, pool);
});

/** Posts one firing alert the way Alertmanager does, with the given annotations and URL. */
async function fire(alert: {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  generatorURL: string;
}): Promise<void> {
  const body = {
    version: '4',
    groupKey: `{}:{alertname="${alert.labels.alertname}"}`,
    truncatedAlerts: 0,
    status: 'firing',
    receiver: 'nodeheal',
    groupLabels: { alertname: alert.labels.alertname },
    commonLabels: alert.labels,
    commonAnnotations: {},
    externalURL: 'http://alertmanager.test',
    alerts: [
      {
        status: 'firing',
        labels: alert.labels,
        annotations: alert.annotations,
        startsAt: new Date(Date.now() - 5000).toISOString(),
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: alert.generatorURL,
        fingerprint: `${alert.labels.alertname}-${alert.labels.node}`,
      },
    ],
  };
  const res = await fetch(`${harness.serveUrl}/webhook/alertmanager`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${HARNESS_WEBHOOK_TOKEN}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify(body),
  });
  expect(res.status, await res.text()).toBeLessThan(300);
}

/**
 * How long a page may take to show what is polled for: expect.poll's own default (1 s) is less
 * than a page load takes on a loaded machine.
 */
const PAGE_POLL = { timeout: 30_000, interval: 100 };

/** Watches a page: every dialog, page error and request, so a test can say none happened. */
function watch(page: Page) {
  const seen = { dialogs: [] as string[], errors: [] as string[], requests: [] as string[] };
  page.on('dialog', (dialog) => {
    seen.dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  page.on('pageerror', (error) => seen.errors.push(error.message));
  page.on('request', (request) => seen.requests.push(request.url()));
  return seen;
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** The annotation values a node carries while `until` runs (polled every 100 ms). */
async function annotationsDuring<T>(
  node: string,
  until: Promise<T>,
): Promise<{ result: T; seen: Set<string> }> {
  const seen = new Set<string>();
  let done = false;
  const poll = (async () => {
    while (!done) {
      try {
        const value = (await kube.core.readNode({ name: node })).metadata?.annotations?.[
          'nodeheal.io/heal'
        ];
        if (value) seen.add(value);
      } catch {
        // The node is gone (replaced): nothing more to see.
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  try {
    return { result: await until, seen };
  } finally {
    done = true;
    await poll;
  }
}

describe('status pages in Chromium', () => {
  let healed: HealRecord;
  let victim: string;

  it('shows a real replace heal: list, heal page, node pages, links followed', async () => {
    victim = nodes[0]!;
    await setNodeCondition(kube, victim, 'KernelDeadlock', 'True');
    await fire({
      labels: {
        alertname: 'NodeKernelDeadlock',
        node: victim,
        condition: 'KernelDeadlock',
        status: 'true',
        severity: 'critical',
      },
      annotations: {
        summary: `Kernel deadlock on ${victim}`,
        description: 'node-problem-detector reports KernelDeadlock=True; only a reboot clears it.',
        runbook_url: 'https://runbooks.example/NodeKernelDeadlock',
      },
      generatorURL: GENERATOR,
    });
    const { result, seen } = await annotationsDuring(victim, harness.finishedHeal(victim, 150_000));
    healed = result;
    expect(healed.status, JSON.stringify(healed.transitions.map((t) => t.detail))).toBe('healed');
    expect(healed.replacement).toBeTruthy();
    const healUrl = `${harness.serveUrl}/heals/${encodeURIComponent(healed.id)}`;
    // The heal annotation named the step and the status page while the heal ran.
    expect(
      [...seen].some((v) => v.startsWith(`${healed.id} `) && v.endsWith(` ${healUrl}`)),
      [...seen].join(' | '),
    ).toBe(true);

    // JSON: why it started, the phases, the replacement as its own field.
    const json = (await (
      await fetch(healUrl, { headers: { accept: 'application/json' } })
    ).json()) as HealDetail;
    expect(json.origin).toMatchObject({
      alertname: 'NodeKernelDeadlock',
      generatorURL: GENERATOR,
      annotations: { summary: `Kernel deadlock on ${victim}` },
      labels: { node: victim, condition: 'KernelDeadlock' },
    });
    expect(json.replacement).toBe(healed.replacement);
    expect(json.links.replacement).toBe(`/nodes/${healed.replacement}`);
    const p = json.phases;
    expect(p.running).toBe(false);
    for (const value of [p.detectionMs, p.debounceMs, p.queuedMs]) expect(value).not.toBeNull();
    expect(p.actingMs).toBeGreaterThan(0);
    expect(
      p.detectionMs! + p.debounceMs! + p.queuedMs! + p.gatesMs + p.actingMs + p.verificationMs,
    ).toBe(p.totalMs);
    // About 5 s between the fault's start and delivery, as posted.
    expect(p.detectionMs).toBeGreaterThanOrEqual(4000);

    const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    try {
      const page = await context.newPage();
      const seenByPage = watch(page);
      await page.goto(`${harness.serveUrl}/heals`);
      await expect.poll(() => page.title(), PAGE_POLL).toBe('Heals · nodeheal');
      await shot(page, 'heal-list');

      // The list links the heal; its page says why it started and where the time went.
      await page.getByRole('link', { name: healed.id, exact: true }).click();
      await page.waitForURL(healUrl);
      await expect.poll(() => page.locator('h1').innerText(), PAGE_POLL).toBe(`Heal ${healed.id}`);
      const text = await page.locator('body').innerText();
      for (const part of [
        'Why it started',
        'NodeKernelDeadlock',
        `Kernel deadlock on ${victim}`,
        'Time to heal',
        'detection',
        'debounce',
        'waiting on gates',
        'verification',
        'replaced by',
      ])
        expect(text).toContain(part);
      expect(
        await page.getByRole('link', { name: 'open in Prometheus' }).getAttribute('href'),
      ).toBe(GENERATOR);
      expect(await page.locator('tr[data-phase="acting"] td.num').first().innerText()).not.toBe(
        '—',
      );
      await shot(page, 'heal-page');

      // The replacement's own page, then back to the old node's page, then the list.
      await page.locator('a.replacement').click();
      await page.waitForURL(`${harness.serveUrl}/nodes/${healed.replacement}`);
      expect(await page.locator('h1').innerText()).toBe(`Node ${healed.replacement}`);
      await shot(page, 'replacement-node-page');
      await page.goBack();
      await page.getByRole('link', { name: victim, exact: true }).first().click();
      await page.waitForURL(`${harness.serveUrl}/nodes/${victim}`);
      expect(await page.locator('h1').innerText()).toBe(`Node ${victim}`);
      expect(await page.getByRole('link', { name: healed.id, exact: true }).count()).toBe(1);
      await shot(page, 'node-page');
      await page.getByRole('link', { name: 'all heals' }).click();
      await page.waitForURL(`${harness.serveUrl}/heals`);

      // The Events on the old node carry the status page link, and it opens the heal.
      const events = await nodehealEvents(kube, victim);
      const started = events.find((e) => e.reason === 'HealStarted');
      expect(started?.message).toContain(`; status page: ${healUrl}`);
      const link = /status page: (\S+)$/.exec(started?.message ?? '')?.[1];
      await page.goto(link!);
      expect(await page.locator('h1').innerText()).toBe(`Heal ${healed.id}`);

      expect(seenByPage.dialogs).toEqual([]);
      expect(seenByPage.errors).toEqual([]);
      // Nothing but the pages themselves: no scripts, images or styles from anywhere.
      expect(seenByPage.requests.filter((u) => !u.startsWith(harness.serveUrl))).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('shows hostile node and alert values as text: no dialog, no script, no image request', async () => {
    const node = nodes[1]!;
    // A node annotation carrying markup, and the alert labels a Prometheus join would copy it
    // into (kube_node_annotations); node label values cannot carry it (the API refuses them).
    await kube.core.patchNode(
      {
        name: node,
        body: { metadata: { annotations: { 'nodeheal.test/note': `${IMG}${SCRIPT}` } } },
      },
      mergePatch,
    );
    await fire({
      labels: {
        alertname: 'NodeReadonlyFilesystem',
        node,
        mountpoint: '/var/lib/kubelet',
        annotation_nodeheal_test_note: `${IMG}${SCRIPT}`,
      },
      annotations: { summary: `read-only ${IMG}`, description: `remount ${SCRIPT}` },
      generatorURL: 'javascript:alert(3)',
    });
    const heal = await harness.finishedHeal(node, 60_000);
    const healUrl = `${harness.serveUrl}/heals/${encodeURIComponent(heal.id)}`;

    // Scripts would run here if the markup got through: the CSP is bypassed on purpose.
    const context: BrowserContext = await browser.newContext({ bypassCSP: true });
    try {
      const page = await context.newPage();
      const seen = watch(page);
      for (const url of [
        healUrl,
        `${harness.serveUrl}/nodes/${node}`,
        `${harness.serveUrl}/heals`,
      ]) {
        await page.goto(url);
        await page.waitForLoadState('load');
      }
      await page.goto(healUrl);
      await page.waitForLoadState('load');
      await shot(page, 'hostile-heal-page');
      const text = await page.locator('body').innerText();
      expect(text).toContain(`read-only ${IMG}`);
      expect(text).toContain(`remount ${SCRIPT}`);
      expect(text).toContain(`${IMG}${SCRIPT}`);
      expect(text).toContain('javascript:alert(3)');
      expect(await page.locator('img').count()).toBe(0);
      expect(await page.locator('script').count()).toBe(0);
      expect(await page.locator('a[href^="javascript:" i]').count()).toBe(0);
      expect(await page.locator('[onerror]').count()).toBe(0);
      // The javascript: URL is text; clicking it does nothing.
      await page.locator('dd.generator code').click();
      await new Promise((r) => setTimeout(r, 500));

      expect(seen.dialogs, 'no dialog may open').toEqual([]);
      expect(seen.errors).toEqual([]);
      expect(seen.requests.filter((u) => /\/x$/.test(u))).toEqual([]);
      expect(seen.requests.filter((u) => !u.startsWith(harness.serveUrl))).toEqual([]);

      // The watchers do see it when markup gets through: the same values served raw.
      const control = await context.newPage();
      const caught = watch(control);
      await control.route(`${harness.serveUrl}/control`, (route) =>
        route.fulfill({ contentType: 'text/html', body: `<p>${IMG}${SCRIPT}</p>` }),
      );
      await control.goto(`${harness.serveUrl}/control`);
      await expect.poll(() => caught.dialogs.sort(), PAGE_POLL).toEqual(['1', '2']);
      expect(caught.requests).toContain(`${harness.serveUrl}/x`);
    } finally {
      await context.close();
    }
  });
});

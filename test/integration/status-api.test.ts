// The status API over HTTP (supertest) against the stack's real Redis: heal records saved with
// redisHealStore are listed and shown as JSON and HTML; bad ids and node names are 400, unknown
// heals 404; the admin API needs the admin token (403 when none is configured, 401 otherwise) and
// pauses, resumes and cancels through the same store the worker reads.
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import express, { type Express } from 'express';
import type { Redis } from 'ioredis';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadRulesOrThrow } from '../../src/cli/load-rules.ts';
import type { HealRecord } from '../../src/heal/index.ts';
import {
  redisHealStore,
  type BlockedNote,
  type HealStore,
  type PauseState,
} from '../../src/store/heal-store.ts';
import { buildApp } from '../../src/http/app.ts';
import { adminRouter } from '../../src/http/admin-router.ts';
import { redisIntakeStore } from '../../src/store/intake-store.ts';
import { buildNodeIndex } from '../../src/kube/node-index.ts';
import { silentLogger } from '../../src/log/index.ts';
import { createMetrics } from '../../src/metrics/index.ts';
import { bullmqHealScheduler } from '../../src/queue/heal-scheduler.ts';
import { producerConnection } from '../../src/queue/redis-connection.ts';
import type { HealDetail, HealListView, NodeView } from '../../src/status/index.ts';
import { statusRouter, type StatusDeps } from '../../src/status/status-router.ts';
import {
  abandoned,
  escalatedToReboot,
  fresh,
  healedByKubelet,
  MIN,
  SEC,
} from '../unit/status/fixtures.ts';

const stack = inject('stack');
const RUN = randomBytes(4).toString('hex');
const ADMIN = `admin-${RUN}`;
const PUBLIC = 'https://nodeheal.example.com/ops';
const HOSTILE = '<script>alert(1)</script>';

const nodeA = `st-a-${RUN}`;
const nodeB = `st-b-${RUN}`;
const nodeEmpty = `st-empty-${RUN}`;
const nodeC = `st-c-${RUN}`;
const id = (name: string) => `heal-${RUN}-${name}`;

function statusApp(deps: Partial<StatusDeps> & { store: HealStore }): Express {
  const app = express();
  // As buildApp composes them: the read-only pages, then the admin API.
  const full = { now: () => new Date(), publicUrl: PUBLIC, ...deps };
  app.use(statusRouter(full));
  app.use(adminRouter(full));
  app.use((_req, res) => {
    res.status(404).json({ error: 'not found' });
  });
  return app;
}

let redis: Redis;
let store: HealStore;
let app: Express;
let before: PauseState | undefined;
const saved: HealRecord[] = [];

let running: HealRecord;
let healed: HealRecord;
let gaveUp: HealRecord;
let hostile: HealRecord;
let notStarted: HealRecord;
/** A running heal whose reboot waits for an operator's approval (`approval: outage`). */
let awaiting: HealRecord;
const WAITING_DETAIL =
  'reboot of a Ready node waits for approval: no Ready replica left of StatefulSet/db';

beforeAll(async () => {
  expect(stack.redisUrl, 'the stack provides Redis').toBeDefined();
  redis = producerConnection(stack.redisUrl ?? '', 2000);
  await redis.connect();
  store = redisHealStore(redis);
  // Start unpaused (restored afterwards): the pause tests assert the state they leave.
  before = await store.paused();
  await store.resume();
  app = statusApp({ store, adminToken: () => ADMIN });

  const now = Date.now();
  // Created at different times: lists are newest first by creation.
  healed = healedByKubelet({ id: id('healed'), node: nodeA, base: now - 20 * MIN });
  gaveUp = abandoned({ id: id('abandoned'), node: nodeB, base: now - 15 * MIN });
  hostile = abandoned({ id: id('hostile'), node: nodeB, fault: HOSTILE, base: now - 12 * MIN });
  hostile = { ...hostile, outcomeReason: `${HOSTILE} "quoted" & 'single'` };
  running = escalatedToReboot({ id: id('running'), node: nodeA, base: now - 5 * MIN });
  notStarted = fresh({ id: id('new'), node: nodeB, base: now - 1 * MIN });
  const held = escalatedToReboot({ id: id('awaiting'), node: nodeC, base: now - 3 * MIN });
  awaiting = {
    ...held,
    stepState: 'pending',
    gate: 'approval',
    transitions: [
      ...held.transitions,
      {
        at: now - 2 * MIN,
        kind: 'held',
        step: held.stepIndex,
        action: 'reboot',
        from: 'pending',
        to: 'pending',
        detail: WAITING_DETAIL,
      },
    ],
  };
  for (const record of [healed, gaveUp, hostile, running, awaiting, notStarted]) {
    await store.save(record);
    saved.push(record);
  }
});

afterAll(async () => {
  if (!redis) return;
  if (before) await store.pause(before);
  else await store.resume();
  const multi = redis.multi();
  for (const record of saved) {
    multi.del(
      `nodeheal:record:${record.id}`,
      `nodeheal:cancel:${record.id}`,
      `nodeheal:blocked:${record.id}`,
      `nodeheal:approval:${record.id}`,
    );
    multi.zrem('nodeheal:records', record.id);
    multi.zrem(`nodeheal:records:node:${record.node}`, record.id);
  }
  await multi.exec();
  await redis.quit();
});

const asHtml = (path: string) => request(app).get(path).set('Accept', 'text/html');
const admin = (method: 'get' | 'post', path: string) =>
  request(app)[method](path).set('Authorization', `Bearer ${ADMIN}`);

describe('GET /heals', () => {
  it('lists the heals of a node, newest first, as JSON summaries with absolute links', async () => {
    const res = await request(app).get(`/heals?node=${nodeA}`).expect(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers.vary).toMatch(/Accept/);
    const body = res.body as HealListView;
    expect(body.heals.map((h) => h.id)).toEqual([running.id, healed.id]);
    expect(body.heals[0]).toEqual({
      id: running.id,
      node: nodeA,
      fault: 'node-not-ready',
      pool: 'general',
      status: 'running',
      step: 'reboot',
      stepIndex: 1,
      stepState: 'acting',
      ladderLength: 3,
      createdAt: running.createdAt,
      updatedAt: running.updatedAt,
      endedAt: null,
      outcomeReason: null,
      gate: null,
      dryRun: false,
      links: {
        self: `${PUBLIC}/heals/${encodeURIComponent(running.id)}`,
        node: `${PUBLIC}/nodes/${nodeA}`,
      },
    });
    expect(body.heals[1]).toMatchObject({ status: 'healed', step: 'restart-kubelet' });
  });

  it('lists every heal without a filter', async () => {
    const res = await request(app).get('/heals?limit=500').expect(200);
    const ids = (res.body as HealListView).heals.map((h) => h.id);
    for (const record of saved) expect(ids).toContain(record.id);
    // Newest first across nodes.
    expect(ids.indexOf(notStarted.id)).toBeLessThan(ids.indexOf(running.id));
    expect(ids.indexOf(running.id)).toBeLessThan(ids.indexOf(gaveUp.id));
  });

  it.each([
    ['status', `node=${nodeB}&status=abandoned`, ['hostile', 'abandoned']],
    ['status running', `node=${nodeB}&status=running`, ['new']],
    ['limit', `node=${nodeB}&limit=1`, ['new']],
    ['status and limit', `node=${nodeB}&status=abandoned&limit=1`, ['hostile']],
    ['a node without heals', `node=${nodeEmpty}`, []],
  ])('filters by %s', async (_name, query, names) => {
    const res = await request(app).get(`/heals?${query}`).expect(200);
    expect((res.body as HealListView).heals.map((h) => h.id)).toEqual(names.map(id));
  });

  it.each([
    ['limit above 500', 'limit=501', 'limit'],
    ['limit 0', 'limit=0', 'limit'],
    ['limit not a number', 'limit=ten', 'limit'],
    ['unknown status', 'status=exploded', 'status'],
    ['node not DNS-1123', 'node=Bad_Node', 'node'],
    ['node twice', `node=${nodeA}&node=${nodeB}`, 'node'],
  ])('rejects %s with 400', async (_name, query, field) => {
    const res = await request(app).get(`/heals?${query}`).expect(400);
    expect((res.body as { error: string }).error).toMatch(new RegExp(`^${field}`));
  });

  it('answers HTML to a browser, with the table, links and no scripts', async () => {
    const res = await request(app)
      .get(`/heals?node=${nodeB}`)
      .set('Accept', 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8')
      .expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/html; charset=utf-8/);
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.text).toContain('name="viewport"');
    expect(res.text).toContain(`href="${PUBLIC}/heals/${encodeURIComponent(gaveUp.id)}"`);
    expect(res.text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(res.text).not.toMatch(/<script/i);
  });

  it('answers JSON when the client accepts anything or JSON first', async () => {
    for (const accept of ['*/*', 'application/json', 'application/json, text/html']) {
      const res = await request(app).get(`/heals?node=${nodeA}`).set('Accept', accept);
      expect(res.headers['content-type'], accept).toMatch(/^application\/json/);
    }
  });
});

describe('GET /heals/:id', () => {
  it('returns the full record with its transitions, ladder progress and links', async () => {
    const res = await request(app).get(`/heals/${running.id}`).expect(200);
    const body = res.body as HealDetail;
    expect(body).toMatchObject({ ...running, blocked: null, cancelRequestedBy: null });
    expect(body.transitions).toEqual(running.transitions);
    expect(body.transitions.map((t) => t.kind)).toEqual(['started', 'escalated', 'acting']);
    expect(body.steps.map((s) => s.state)).toEqual(['done', 'current', 'pending']);
    expect(body.links.self).toBe(`${PUBLIC}/heals/${encodeURIComponent(running.id)}`);
  });

  it('includes the note of the safety gate that holds the heal', async () => {
    const note: BlockedNote = {
      healId: running.id,
      key: running.key,
      node: running.node,
      fault: running.fault,
      gate: 'pool-budget',
      detail: 'pool general: 1 of 1 already healing',
      at: Date.now(),
      retryAt: Date.now() + MIN,
    };
    await store.noteBlocked(note);
    try {
      const json = await request(app).get(`/heals/${running.id}`).expect(200);
      expect((json.body as HealDetail).blocked).toEqual(note);
      const page = await asHtml(`/heals/${running.id}`).expect(200);
      expect(page.text).toContain('Held by safety gate pool-budget');
    } finally {
      await store.clearBlocked(running.id);
    }
  });

  it('shows the ladder, the timeline with ISO times and the outcome as HTML', async () => {
    const res = await asHtml(`/heals/${gaveUp.id}`).expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    const first = gaveUp.transitions[0]!;
    expect(res.text).toContain(new Date(first.at).toISOString());
    expect(res.text).toContain('Ladder exhausted');
    expect(res.text).toMatch(/<td>restart-kubelet<\/td>\s*<td>3m<\/td>/);
    expect(res.text).toMatch(/s-abandoned/);
  });

  it('escapes hostile record fields in HTML and returns them intact in JSON', async () => {
    const page = await asHtml(`/heals/${hostile.id}`).expect(200);
    expect(page.text).not.toMatch(/<script/i);
    expect(page.text).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &quot;quoted&quot;');
    const json = await request(app).get(`/heals/${hostile.id}`).expect(200);
    expect((json.body as HealDetail).fault).toBe(HOSTILE);
  });

  it('answers 404 for an unknown heal, as JSON or HTML', async () => {
    const json = await request(app).get(`/heals/heal-${RUN}-missing`).expect(404);
    expect(json.body).toEqual({ error: `no heal heal-${RUN}-missing` });
    const page = await asHtml(`/heals/heal-${RUN}-missing`).expect(404);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.text).toContain('404');
  });

  it.each([
    ['a space', 'bad%20id'],
    ['markup', '%3Cscript%3Ealert(1)%3C%2Fscript%3E'],
    ['a slash', 'a%2Fb'],
    ['too long', 'x'.repeat(201)],
    ['a quote', '%22'],
  ])('rejects an id with %s with 400, without echoing it', async (_name, raw) => {
    const json = await request(app).get(`/heals/${raw}`).expect(400);
    expect(json.body).toEqual({ error: 'invalid heal id' });
    const page = await asHtml(`/heals/${raw}`).expect(400);
    expect(page.text).not.toMatch(/<script/i);
  });
});

describe('GET /nodes/:node', () => {
  it("returns the node's heals newest first and the running one in full", async () => {
    const res = await request(app).get(`/nodes/${nodeA}`).expect(200);
    const body = res.body as NodeView;
    expect(body.node).toBe(nodeA);
    expect(body.heals.map((h) => h.id)).toEqual([running.id, healed.id]);
    expect(body.current?.id).toBe(running.id);
    expect(body.current?.transitions).toEqual(running.transitions);
    expect(body.current?.steps.map((s) => s.state)).toEqual(['done', 'current', 'pending']);
  });

  it('has no current heal when none runs', async () => {
    const res = await request(app).get(`/nodes/${nodeEmpty}`).expect(200);
    expect(res.body).toEqual({ node: nodeEmpty, current: null, heals: [], paused: null });
  });

  it('is a page with the current heal and the history', async () => {
    const res = await asHtml(`/nodes/${nodeA}`).expect(200);
    expect(res.text).toContain(`Node ${nodeA}`);
    expect(res.text).toContain('Current heal:');
    expect(res.text).toContain(healed.id);
  });

  it.each([['Worker_1'], ['-leading-dash'], ['a'.repeat(64)], ['%3Cb%3E']])(
    'rejects node name %s with 400',
    async (node) => {
      const res = await request(app).get(`/nodes/${node}`).expect(400);
      expect((res.body as { error: string }).error).toContain('invalid node name');
    },
  );
});

describe('admin API authentication', () => {
  const calls: ['get' | 'post', string][] = [
    ['post', '/admin/pause'],
    ['post', '/admin/resume'],
    ['get', '/admin/pause'],
    ['post', `/heals/heal-${RUN}-x/cancel`],
    ['post', `/heals/heal-${RUN}-x/fence`],
    ['post', `/heals/heal-${RUN}-x/approve`],
    ['post', `/heals/heal-${RUN}-x/reject`],
  ];

  it.each(calls)('%s %s is 403 when no admin token is configured', async (method, path) => {
    for (const token of [undefined, '']) {
      const disabled = statusApp({ store, adminToken: () => token });
      const res = await request(disabled)[method](path).set('Authorization', 'Bearer anything');
      expect(res.status).toBe(403);
      expect((res.body as { error: string }).error).toContain('admin API disabled');
    }
    const absent = statusApp({ store });
    await request(absent)[method](path).expect(403);
  });

  it.each(calls)('%s %s is 401 without the token', async (method, path) => {
    const res = await request(app)[method](path).expect(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="nodeheal-admin"');
    expect(res.body).toEqual({ error: 'admin token required' });
  });

  it.each([
    ['a wrong token', `Bearer ${ADMIN}x`],
    ['a prefix of the token', `Bearer ${ADMIN.slice(0, -1)}`],
    [
      'basic auth with the token as password',
      `Basic ${Buffer.from(`admin:${ADMIN}`).toString('base64')}`,
    ],
    ['the token without a scheme', ADMIN],
  ])('is 401 with %s', async (_name, header) => {
    const res = await request(app).post('/admin/pause').set('Authorization', header).expect(401);
    expect(res.body).toEqual({ error: 'invalid admin token' });
    expect(await store.paused()).toBeUndefined();
  });

  it('leaves the read-only pages open', async () => {
    await request(statusApp({ store })).get('/heals?limit=1').expect(200);
  });
});

describe('pause and resume', () => {
  it('pauses with a reason, reports the state everywhere, and resumes', async () => {
    const t0 = Date.now();
    const paused = await admin('post', '/admin/pause')
      .send({ reason: 'incident INC-42' })
      .expect(200);
    const state = (paused.body as { paused: PauseState }).paused;
    expect(state).toMatchObject({ by: 'admin-api', reason: 'incident INC-42' });
    expect(state.at).toBeGreaterThanOrEqual(t0);
    expect(await store.paused()).toEqual(state);

    expect((await admin('get', '/admin/pause').expect(200)).body).toEqual({ paused: state });
    expect((await request(app).get('/heals?limit=1').expect(200)).body).toMatchObject({
      paused: state,
    });
    expect((await asHtml(`/nodes/${nodeA}`).expect(200)).text).toContain('Healing is paused');

    const resumed = await admin('post', '/admin/resume').expect(200);
    expect(resumed.body).toEqual({ paused: null, was: state });
    expect(await store.paused()).toBeUndefined();
    expect((await admin('get', '/admin/pause').expect(200)).body).toEqual({ paused: null });
  });

  it('pauses without a body, or with JSON sent as a form (curl -d)', async () => {
    await admin('post', '/admin/pause').expect(200);
    expect(await store.paused()).toMatchObject({ by: 'admin-api', reason: '' });
    await admin('post', '/admin/pause')
      .set('Content-Type', 'application/x-www-form-urlencoded')
      .send('{"reason":"from curl"}')
      .expect(200);
    expect(await store.paused()).toMatchObject({ reason: 'from curl' });
    await admin('post', '/admin/resume').expect(200);
  });

  it.each([
    ['a reason that is not a string', { reason: 42 }],
    ['an unknown field', { reason: 'x', until: 'tomorrow' }],
    ['a reason too long', { reason: 'x'.repeat(1001) }],
  ])('rejects %s with 400', async (_name, body) => {
    const res = await admin('post', '/admin/pause').send(body).expect(400);
    expect(res.body).toHaveProperty('error');
    expect(await store.paused()).toBeUndefined();
  });

  it('rejects a body that is not JSON with 400 and a huge one with 413', async () => {
    await admin('post', '/admin/pause')
      .set('Content-Type', 'application/json')
      .send('{not json')
      .expect(400);
    await admin('post', '/admin/pause')
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ reason: 'x'.repeat(40_000) }))
      .expect(413);
    expect(await store.paused()).toBeUndefined();
  });
});

describe('POST /heals/:id/cancel', () => {
  it('asks the worker to cancel a running heal: 202, visible on the heal', async () => {
    const res = await admin('post', `/heals/${notStarted.id}/cancel`).expect(202);
    expect(res.body).toEqual({
      id: notStarted.id,
      cancelRequestedBy: 'admin-api',
      links: { self: `${PUBLIC}/heals/${encodeURIComponent(notStarted.id)}` },
    });
    expect(await store.cancelRequested(notStarted.id)).toBe('admin-api');
    const detail = await request(app).get(`/heals/${notStarted.id}`).expect(200);
    expect((detail.body as HealDetail).cancelRequestedBy).toBe('admin-api');
    // Idempotent: asking again is the same answer.
    await admin('post', `/heals/${notStarted.id}/cancel`).expect(202);
  });

  it.each([
    ['healed', () => healed],
    ['abandoned', () => gaveUp],
  ])('is 409 for a heal already %s', async (status, record) => {
    const res = await admin('post', `/heals/${record().id}/cancel`).expect(409);
    expect(res.body).toEqual({ error: `heal ${record().id} already ${status}`, status });
    expect(await store.cancelRequested(record().id)).toBeUndefined();
  });

  it('is 404 for an unknown heal and 400 for a bad id', async () => {
    await admin('post', `/heals/heal-${RUN}-missing/cancel`).expect(404);
    await admin('post', '/heals/bad%20id/cancel').expect(400);
  });

  it('needs the admin token', async () => {
    await request(app).post(`/heals/${running.id}/cancel`).expect(401);
    expect(await store.cancelRequested(running.id)).toBeUndefined();
  });
});

describe('POST /heals/:id/fence', () => {
  it('records an operator confirmation for that heal: 202, kept for the worker', async () => {
    const res = await admin('post', `/heals/${running.id}/fence`)
      .send({ by: 'ana', reason: 'BMC: powered off' })
      .expect(202);
    expect(res.body).toMatchObject({
      id: running.id,
      node: running.node,
      fence: { healId: running.id, by: 'admin-api (ana)', reason: 'BMC: powered off' },
    });
    expect(await store.fenceConfirmation(running.node)).toMatchObject({
      healId: running.id,
      by: 'admin-api (ana)',
    });
  });

  it('refuses a heal that ended (409), an unknown one (404), a bad id or body (400), no token (401)', async () => {
    await admin('post', `/heals/${healed.id}/fence`).expect(409);
    await admin('post', `/heals/heal-${RUN}-missing/fence`).expect(404);
    await admin('post', '/heals/bad%20id/fence').expect(400);
    const bad = await admin('post', `/heals/${running.id}/fence`).send({ by: 'a b; rm -rf /' });
    expect(bad.status).toBe(400);
    expect((bad.body as { error: string }).error).toMatch(/by/);
    await request(app).post(`/heals/${running.id}/fence`).expect(401);
  });
});

describe('approval: outage', () => {
  it('shows a heal waiting for approval as awaiting-approval, held by gate approval', async () => {
    const res = await request(app).get(`/heals/${awaiting.id}`).expect(200);
    const detail = res.body as HealDetail;
    expect(detail.status).toBe('awaiting-approval');
    expect(detail.gate).toBe('approval');
    expect(detail.approval).toBeNull();
    const page = await asHtml(`/heals/${awaiting.id}`).expect(200);
    expect(page.text).toContain('<strong>Awaiting approval</strong>');
    expect(page.text).toContain(WAITING_DETAIL);
    expect(page.text).toContain(`nodeheal.io/approve=${awaiting.id}`);
  });

  it('lists it under ?status=awaiting-approval, and under running too', async () => {
    const ids = async (status: string) => {
      const res = await request(app).get(`/heals?status=${status}`).expect(200);
      return (res.body as HealListView).heals
        .filter((h) => h.id.startsWith(`heal-${RUN}-`))
        .map((h) => [h.id, h.status]);
    };
    expect(await ids('awaiting-approval')).toEqual([[awaiting.id, 'awaiting-approval']]);
    expect(await ids('running')).toEqual([
      [notStarted.id, 'running'],
      [awaiting.id, 'awaiting-approval'],
      [running.id, 'running'],
    ]);
  });

  it('approves: 202, kept for the worker with who and why, shown on the heal', async () => {
    const res = await admin('post', `/heals/${awaiting.id}/approve`)
      .send({ by: 'ana', reason: 'db failover done' })
      .expect(202);
    expect(res.body).toMatchObject({
      id: awaiting.id,
      node: nodeC,
      awaitingApproval: true,
      approval: {
        healId: awaiting.id,
        decision: 'approved',
        by: 'admin-api (ana)',
        reason: 'db failover done',
      },
    });
    expect(await store.approvalDecision(awaiting.id)).toMatchObject({ decision: 'approved' });
    expect(await store.cancelRequested(awaiting.id)).toBeUndefined();
    const detail = (await request(app).get(`/heals/${awaiting.id}`).expect(200)).body as HealDetail;
    expect(detail.approval).toMatchObject({ decision: 'approved', by: 'admin-api (ana)' });
  });

  it('rejects: the decision is kept and the heal is asked to cancel', async () => {
    const res = await admin('post', `/heals/${notStarted.id}/reject`)
      .send({ reason: 'not during the sale' })
      .expect(202);
    expect(res.body).toMatchObject({
      awaitingApproval: false,
      approval: { decision: 'rejected', by: 'admin-api', reason: 'not during the sale' },
    });
    expect(await store.approvalDecision(notStarted.id)).toMatchObject({ decision: 'rejected' });
    expect(await store.cancelRequested(notStarted.id)).toBe('admin-api');
  });

  it('refuses a heal that ended (409), an unknown one (404), a bad id or body (400), no token (401)', async () => {
    for (const verb of ['approve', 'reject']) {
      await admin('post', `/heals/${healed.id}/${verb}`).expect(409);
      await admin('post', `/heals/heal-${RUN}-missing/${verb}`).expect(404);
      await admin('post', `/heals/bad%20id/${verb}`).expect(400);
      const bad = await admin('post', `/heals/${running.id}/${verb}`).send({ by: '$(reboot)' });
      expect(bad.status).toBe(400);
      await request(app).post(`/heals/${running.id}/${verb}`).expect(401);
    }
    expect(await store.approvalDecision(healed.id)).toBeUndefined();
    expect(await store.approvalDecision(running.id)).toBeUndefined();
  });
});

describe('Redis unreachable', () => {
  it('answers 503 instead of hanging or failing with 500', async () => {
    const down = producerConnection('redis://127.0.0.1:1', 500);
    down.on('error', () => undefined);
    try {
      const broken = statusApp({ store: redisHealStore(down), adminToken: () => ADMIN });
      const started = Date.now();
      const res = await request(broken).get('/heals').expect(503);
      expect(res.body).toEqual({
        error: 'heal records are unavailable (Redis unreachable); retry later',
      });
      await request(broken).get(`/heals/${running.id}`).set('Accept', 'text/html').expect(503);
      await request(broken)
        .post('/admin/pause')
        .set('Authorization', `Bearer ${ADMIN}`)
        .expect(503);
      expect(Date.now() - started).toBeLessThan(5 * SEC);
    } finally {
      down.disconnect();
    }
  });
});

describe('buildApp', () => {
  it('mounts the status routes when given status deps, next to the webhook', async () => {
    const catalog = await loadRulesOrThrow(
      resolve(import.meta.dirname, '../../alert-rules/remedies.yaml'),
    );
    const scheduler = bullmqHealScheduler(redis, `nhtest-status-${RUN}`);
    try {
      const base = {
        store: redisIntakeStore(redis),
        scheduler,
        catalog: () => catalog,
        nodeIndex: () => buildNodeIndex([]),
        metrics: createMetrics(),
        logger: silentLogger(),
        now: () => new Date(),
        kubeReady: () => true,
        webhook: { credentials: () => ({ bearerToken: 'w' }), bodyLimit: '1mb' },
      };
      const withStatus = buildApp({
        ...base,
        status: { store, adminToken: () => ADMIN, now: () => new Date() },
      });
      const res = await request(withStatus).get(`/heals/${running.id}`).expect(200);
      expect((res.body as HealDetail).links.self).toBe(`/heals/${encodeURIComponent(running.id)}`);
      await request(withStatus).post('/admin/resume').expect(401);
      await request(withStatus).get('/healthz').expect(200);

      const without = buildApp(base);
      await request(without).get('/heals').expect(404);
    } finally {
      await scheduler.close();
    }
  });
});

// The status API and pages: GET /heals, /heals/:id, /nodes/:node as JSON, or as HTML when the
// client prefers text/html (the pages Grafana data links open); and the admin API
// (POST /admin/pause, /admin/resume, /heals/:id/cancel, /heals/:id/fence, GET /admin/pause)
// behind the admin token.
//   200/202 ok · 400 bad id, node or query · 401 missing or wrong admin token · 403 admin API
//   disabled (no token configured) · 404 unknown heal · 409 heal already finished · 503 Redis down
import { successStats } from '../heal/success-rate.ts';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import { HEAL_STATUSES, type HealRecord } from '../heal/heal-record.ts';
import type { HealStore, PauseState } from '../store/heal-store.ts';
import { checkAuthorization, wwwAuthenticateHeader } from '../http/auth.ts';
import { isDns1123Subdomain } from '../intake/normalise.ts';
import type { Logger } from '../log/index.ts';
import {
  DEFAULT_LIST_LIMIT,
  HEAL_ID_PATTERN,
  MAX_LIST_LIMIT,
  currentHeal,
  healDetail,
  healSummary,
  statusLinks,
  type HealListView,
  type NodeView,
} from './heal-views.ts';
import {
  renderErrorPage,
  renderHealList,
  renderHealPage,
  renderNodePage,
  type RenderContext,
} from './render-html.ts';

export interface StatusDeps {
  store: HealStore;
  /** The admin bearer token (NODEHEAL_ADMIN_TOKEN); none or empty disables the admin API (403). */
  adminToken?: () => string | undefined;
  /** NODEHEAL_PUBLIC_URL: makes links absolute. */
  publicUrl?: string | undefined;
  now: () => Date;
  logger?: Logger;
}

/** Who the admin API acts as, in pause states and cancel requests. */
export const ADMIN_ACTOR = 'admin-api';
const ADMIN_REALM = 'nodeheal-admin';
/** A status filter looks at this many of the newest heals. */
const FILTER_WINDOW = MAX_LIST_LIMIT;

const listQuerySchema = z.object({
  node: z
    .string()
    .refine(isDns1123Subdomain, 'node must be a Kubernetes node name (DNS-1123 subdomain)')
    .optional(),
  status: z.enum(HEAL_STATUSES).optional(),
  limit: z.coerce
    .number()
    .int('limit must be an integer')
    .min(1)
    .max(MAX_LIST_LIMIT)
    .default(DEFAULT_LIST_LIMIT),
});

const pauseBodySchema = z
  .object({ reason: z.string().max(1000, 'reason is at most 1000 characters').optional() })
  .strict();

/** POST /heals/:id/fence: who confirms (shown with the admin actor) and why. */
const fenceBodySchema = z
  .object({
    by: z
      .string()
      .regex(/^[\w.@+-]{1,100}$/, 'by is a user name: letters, digits, . _ @ + - (at most 100)')
      .optional(),
    reason: z.string().max(500, 'reason is at most 500 characters').optional(),
  })
  .strict();

type Format = 'json' | 'html';

/** HTML only when the client prefers it over JSON (browsers); JSON for everything else. */
function formatOf(req: Request): Format {
  return req.accepts(['json', 'html']) === 'html' ? 'html' : 'json';
}

function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid request';
  return issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message;
}

export function statusRouter(deps: StatusDeps): Router {
  const router = express.Router();
  const links = statusLinks(deps.publicUrl);
  const ctx = (): RenderContext => ({ now: deps.now(), links });

  const sendHtml = (res: Response, status: number, body: string) => {
    res
      .status(status)
      .set({
        'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'",
        'X-Content-Type-Options': 'nosniff',
        'Referrer-Policy': 'no-referrer',
        'Cache-Control': 'no-store',
      })
      .type('html')
      .send(body);
  };

  /** An error in the format the client asked for. */
  const fail = (req: Request, res: Response, status: number, message: string) => {
    res.vary('Accept');
    if (formatOf(req) === 'html') sendHtml(res, status, renderErrorPage(status, message, ctx()));
    else res.status(status).set('Cache-Control', 'no-store').json({ error: message });
  };

  const unavailable = (req: Request, res: Response, error: unknown) => {
    deps.logger?.error({ err: error }, 'status: heal records unavailable');
    fail(req, res, 503, 'heal records are unavailable (Redis unreachable); retry later');
  };

  const respond = (req: Request, res: Response, json: unknown, renderHtml: () => string) => {
    res.vary('Accept');
    if (formatOf(req) === 'html') sendHtml(res, 200, renderHtml());
    else res.set('Cache-Control', 'no-store').json(json);
  };

  const pausedState = async (): Promise<PauseState | null> => (await deps.store.paused()) ?? null;

  // ---- read-only pages ------------------------------------------------------------------------

  // Measured success of each remedy per fault, over its last attempts (newest 100 kept).
  router.get('/remedies', async (_req, res) => {
    try {
      const table = await deps.store.successRates();
      const rates = Object.entries(table).map(([key, ring]) => {
        const [fault, action] = key.split(':', 2);
        const stats = successStats(ring);
        return {
          fault,
          action,
          attempts: stats.attempts,
          successes: stats.successes,
          rate: stats.rate,
        };
      });
      res.set('Cache-Control', 'no-store').json({ rates });
    } catch (error) {
      deps.logger?.error({ err: error }, 'status: success rates unavailable');
      res
        .status(503)
        .json({ error: 'success rates are unavailable (Redis unreachable); retry later' });
    }
  });

  router.get('/heals', async (req, res) => {
    const query = listQuerySchema.safeParse(req.query);
    if (!query.success) {
      fail(req, res, 400, firstIssue(query.error));
      return;
    }
    const { node, status, limit } = query.data;
    try {
      const records = await deps.store.list({
        ...(node ? { node } : {}),
        limit: status ? FILTER_WINDOW : limit,
      });
      const view: HealListView = {
        heals: records
          .filter((r) => status === undefined || r.status === status)
          .slice(0, limit)
          .map((r) => healSummary(r, links)),
        paused: await pausedState(),
      };
      respond(req, res, view, () => renderHealList(view, { node, status, limit }, ctx()));
    } catch (error) {
      unavailable(req, res, error);
    }
  });

  router.get('/heals/:id', async (req, res) => {
    const id = req.params.id;
    if (!HEAL_ID_PATTERN.test(id)) {
      fail(req, res, 400, 'invalid heal id');
      return;
    }
    try {
      const record = await deps.store.get(id);
      if (!record) {
        // A heal held back by a safety gate before it started has no record yet, only the note
        // of what holds it (storm, budget, pause, cooldown) and when it asks again.
        const waiting = await deps.store.blocked(id);
        if (waiting) {
          res.vary('Accept');
          res.set('Cache-Control', 'no-store').json({ id, status: 'waiting', blocked: waiting });
          return;
        }
        fail(req, res, 404, `no heal ${id}`);
        return;
      }
      const running = record.status === 'running';
      const [blocked, cancelRequestedBy, paused] = await Promise.all([
        running ? deps.store.blocked(id) : undefined,
        running ? deps.store.cancelRequested(id) : undefined,
        pausedState(),
      ]);
      const detail = healDetail(record, { blocked, cancelRequestedBy }, links);
      respond(req, res, detail, () => renderHealPage(detail, paused, ctx()));
    } catch (error) {
      unavailable(req, res, error);
    }
  });

  router.get('/nodes/:node', async (req, res) => {
    const node = req.params.node;
    if (!isDns1123Subdomain(node)) {
      fail(req, res, 400, 'invalid node name: expected a DNS-1123 subdomain');
      return;
    }
    try {
      const [records, paused] = await Promise.all([
        deps.store.list({ node, limit: MAX_LIST_LIMIT }),
        pausedState(),
      ]);
      const running = currentHeal(records);
      const [blocked, cancelRequestedBy] = running
        ? await Promise.all([
            deps.store.blocked(running.id),
            deps.store.cancelRequested(running.id),
          ])
        : [undefined, undefined];
      const view: NodeView = {
        node,
        current: running ? healDetail(running, { blocked, cancelRequestedBy }, links) : null,
        heals: records.map((r) => healSummary(r, links)),
        paused,
      };
      respond(req, res, view, () => renderNodePage(view, ctx()));
    } catch (error) {
      unavailable(req, res, error);
    }
  });

  // ---- admin API ------------------------------------------------------------------------------

  const requireAdmin = (req: Request, res: Response, next: NextFunction) => {
    let token: string | undefined;
    try {
      token = deps.adminToken?.();
    } catch (error) {
      deps.logger?.error({ err: error }, 'admin token unavailable');
      res.status(503).json({ error: 'admin token unavailable' });
      return;
    }
    if (!token) {
      res.status(403).json({ error: 'admin API disabled: NODEHEAL_ADMIN_TOKEN is not set' });
      return;
    }
    const creds = { bearerToken: token };
    const result = checkAuthorization(req.get('authorization'), creds);
    if (result === 'ok') {
      next();
      return;
    }
    deps.logger?.warn(
      { path: req.path, result, ip: req.ip },
      'admin API request refused: bad credentials',
    );
    res.setHeader('WWW-Authenticate', wwwAuthenticateHeader(creds, ADMIN_REALM));
    res.status(401).json({
      error: result === 'missing' ? 'admin token required' : 'invalid admin token',
    });
  };

  // Any content type: `curl -d '{"reason":"…"}'` sends form-urlencoded by default.
  const adminJson = express.json({ limit: '16kb', strict: true, type: () => true });

  router.get('/admin/pause', requireAdmin, async (req, res) => {
    try {
      res.set('Cache-Control', 'no-store').json({ paused: await pausedState() });
    } catch (error) {
      unavailable(req, res, error);
    }
  });

  router.post('/admin/pause', requireAdmin, adminJson, async (req, res) => {
    const body = pauseBodySchema.safeParse((req.body as unknown) ?? {});
    if (!body.success) {
      res.status(400).json({ error: firstIssue(body.error) });
      return;
    }
    const state: PauseState = {
      by: ADMIN_ACTOR,
      at: deps.now().getTime(),
      reason: body.data.reason ?? '',
    };
    try {
      await deps.store.pause(state);
      deps.logger?.warn({ by: state.by, reason: state.reason }, 'healing paused');
      res.json({ paused: state });
    } catch (error) {
      unavailable(req, res, error);
    }
  });

  router.post('/admin/resume', requireAdmin, async (req, res) => {
    try {
      const was = (await deps.store.paused()) ?? null;
      await deps.store.resume();
      deps.logger?.warn({ by: ADMIN_ACTOR, wasPaused: was !== null }, 'healing resumed');
      res.json({ paused: null, was });
    } catch (error) {
      unavailable(req, res, error);
    }
  });

  /**
   * The running heal named by `:id`, or undefined once the answer is sent: 400 for a bad id,
   * 404 for none, 409 for a heal that has ended.
   */
  const runningHeal = async (req: Request, res: Response): Promise<HealRecord | undefined> => {
    const id = typeof req.params.id === 'string' ? req.params.id : '';
    if (!HEAL_ID_PATTERN.test(id)) {
      res.status(400).json({ error: 'invalid heal id' });
      return undefined;
    }
    const record = await deps.store.get(id);
    if (!record) {
      res.status(404).json({ error: `no heal ${id}` });
      return undefined;
    }
    if (record.status !== 'running') {
      res.status(409).json({ error: `heal ${id} already ${record.status}`, status: record.status });
      return undefined;
    }
    return record;
  };

  router.post('/heals/:id/cancel', requireAdmin, async (req, res) => {
    try {
      const record = await runningHeal(req, res);
      if (!record) return;
      await deps.store.requestCancel(record.id, ADMIN_ACTOR);
      deps.logger?.warn(
        { healId: record.id, node: record.node, fault: record.fault, by: ADMIN_ACTOR },
        'heal cancel requested',
      );
      res.status(202).json({
        id: record.id,
        cancelRequestedBy: ADMIN_ACTOR,
        links: { self: links.heal(record.id) },
      });
    } catch (error) {
      unavailable(req, res, error);
    }
  });

  router.post('/heals/:id/fence', requireAdmin, adminJson, async (req, res) => {
    const body = fenceBodySchema.safeParse((req.body as unknown) ?? {});
    if (!body.success) {
      res.status(400).json({ error: firstIssue(body.error) });
      return;
    }
    try {
      const record = await runningHeal(req, res);
      if (!record) return;
      const id = record.id;
      const by = body.data.by ? `${ADMIN_ACTOR} (${body.data.by})` : ADMIN_ACTOR;
      const confirmation = {
        healId: id,
        by,
        at: deps.now().getTime(),
        reason: body.data.reason ?? '',
      };
      await deps.store.confirmFence(record.node, confirmation);
      deps.logger?.warn(
        { healId: id, node: record.node, by, reason: confirmation.reason },
        'operator confirmed the node is down (fence)',
      );
      res
        .status(202)
        .json({ id, node: record.node, fence: confirmation, links: { self: links.heal(id) } });
    } catch (error) {
      unavailable(req, res, error);
    }
  });

  // Admin body parser errors: too large or not JSON.
  router.use((error: unknown, req: Request, res: Response, next: NextFunction) => {
    const e = error as { type?: string; status?: number; message?: string };
    if (e.type === 'entity.too.large') res.status(413).json({ error: 'request body too large' });
    else if (e.status !== undefined && e.status >= 400 && e.status < 500)
      res.status(400).json({ error: `invalid request body: ${e.message ?? 'parse error'}` });
    else next(error);
  });

  return router;
}

// The status API and pages: GET /heals, /heals/:id, /nodes/:node and /remedies as JSON, or as
// HTML when the client prefers text/html (the pages Grafana data links open). Read-only: the
// admin API that changes things is `http/admin-router.ts`.
//   200 ok · 400 bad id, node or query · 404 unknown heal · 503 Redis down
import express, { type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import type { HealStore, PauseState } from '../store/index.ts';
import { isDns1123Subdomain } from '../triage/index.ts';
import type { Logger } from '../log/index.ts';
import {
  DEFAULT_LIST_LIMIT,
  HEAL_ID_PATTERN,
  MAX_LIST_LIMIT,
  VIEW_STATUSES,
  currentHeal,
  hasStatus,
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
  renderWaitingPage,
  type RenderContext,
} from './render-html.ts';
import { remediesView, renderRemediesPage } from './remedy-views.ts';

export interface StatusDeps {
  store: HealStore;
  /** The admin bearer token (NODEHEAL_ADMIN_TOKEN); none or empty disables the admin API (403). */
  adminToken?: () => string | undefined;
  /** NODEHEAL_PUBLIC_URL: makes links absolute. */
  publicUrl?: string | undefined;
  now: () => Date;
  logger?: Logger;
}

/** A status filter looks at this many of the newest heals. */
const FILTER_WINDOW = MAX_LIST_LIMIT;

const listQuerySchema = z.object({
  node: z
    .string()
    .refine(isDns1123Subdomain, 'node must be a Kubernetes node name (DNS-1123 subdomain)')
    .optional(),
  status: z.enum(VIEW_STATUSES).optional(),
  limit: z.coerce
    .number()
    .int('limit must be an integer')
    .min(1)
    .max(MAX_LIST_LIMIT)
    .default(DEFAULT_LIST_LIMIT),
});

type Format = 'json' | 'html';

/** JSON answers hold alert text too: never sniffed as anything else, never cached. */
const JSON_HEADERS = { 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' };

/** HTML only when the client prefers it over JSON (browsers); JSON for everything else. */
function formatOf(req: Request): Format {
  return req.accepts(['json', 'html']) === 'html' ? 'html' : 'json';
}

/** The first problem of a request, as `field: message`. */
export function firstIssue(error: z.ZodError): string {
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
    else res.status(status).set(JSON_HEADERS).json({ error: message });
  };

  const unavailable = (req: Request, res: Response, error: unknown) => {
    deps.logger?.error({ err: error }, 'status: heal records unavailable');
    fail(req, res, 503, 'heal records are unavailable (Redis unreachable); retry later');
  };

  const respond = (req: Request, res: Response, json: unknown, renderHtml: () => string) => {
    res.vary('Accept');
    if (formatOf(req) === 'html') sendHtml(res, 200, renderHtml());
    else res.set(JSON_HEADERS).json(json);
  };

  const pausedState = async (): Promise<PauseState | null> => (await deps.store.paused()) ?? null;

  // ---- read-only pages ------------------------------------------------------------------------

  // Measured success of each remedy per fault, over its last attempts (newest 100 kept), the
  // learned durations of each step per pool and fault (newest 20), and the expected time to heal.
  router.get('/remedies', async (req, res) => {
    try {
      const [rates, durations, records] = await Promise.all([
        deps.store.successRates(),
        deps.store.stepDurations?.() ?? {},
        deps.store.list({ limit: MAX_LIST_LIMIT }),
      ]);
      const view = remediesView(rates, durations, records);
      respond(req, res, view, () => renderRemediesPage(view, ctx()));
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
          .filter((r) => status === undefined || hasStatus(r, status))
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
          const paused = await pausedState();
          respond(req, res, { id, status: 'waiting', blocked: waiting }, () =>
            renderWaitingPage(id, waiting, paused, ctx()),
          );
          return;
        }
        fail(req, res, 404, `no heal ${id}`);
        return;
      }
      const running = record.status === 'running';
      const [blocked, cancelRequestedBy, paused, approval] = await Promise.all([
        running ? deps.store.blocked(id) : undefined,
        running ? deps.store.cancelRequested(id) : undefined,
        pausedState(),
        deps.store.approvalDecision(id),
      ]);
      const detail = healDetail(
        record,
        { blocked, cancelRequestedBy, approval, now: deps.now().getTime() },
        links,
      );
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
      const [blocked, cancelRequestedBy, approval] = running
        ? await Promise.all([
            deps.store.blocked(running.id),
            deps.store.cancelRequested(running.id),
            deps.store.approvalDecision(running.id),
          ])
        : [undefined, undefined, undefined];
      const view: NodeView = {
        node,
        current: running
          ? healDetail(
              running,
              { blocked, cancelRequestedBy, approval, now: deps.now().getTime() },
              links,
            )
          : null,
        heals: records.map((r) => healSummary(r, links)),
        paused,
      };
      respond(req, res, view, () => renderNodePage(view, ctx()));
    } catch (error) {
      unavailable(req, res, error);
    }
  });

  return router;
}

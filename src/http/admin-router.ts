// The admin API, behind the admin token: pause and resume all healing, cancel a running heal,
// confirm an unreachable node is down (fence), approve or reject a heal (`approval: outage`).
//   POST /admin/pause, /admin/resume, /heals/:id/cancel, /heals/:id/fence,
//   /heals/:id/approve, /heals/:id/reject; GET /admin/pause
//   200/202 ok · 400 bad id or body · 401 missing or wrong admin token · 403 admin API disabled
//   (no token configured) · 404 unknown heal · 409 heal already finished · 413 body too large ·
//   503 Redis down
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import type { ApprovalDecision, HealRecord } from '../heal/index.ts';
import { firstIssue, HEAL_ID_PATTERN, statusLinks, type StatusDeps } from '../status/index.ts';
import type { PauseState } from '../store/index.ts';
import { checkAuthorization, wwwAuthenticateHeader } from './auth.ts';

/** Who the admin API acts as, in pause states and cancel requests. */
export const ADMIN_ACTOR = 'admin-api';
const ADMIN_REALM = 'nodeheal-admin';
const pauseBodySchema = z
  .object({ reason: z.string().max(1000, 'reason is at most 1000 characters').optional() })
  .strict();

/** POST /heals/:id/fence, /approve, /reject: who decides (shown with the admin actor) and why. */
const decisionBodySchema = z
  .object({
    by: z
      .string()
      .regex(/^[\w.@+-]{1,100}$/, 'by is a user name: letters, digits, . _ @ + - (at most 100)')
      .optional(),
    reason: z.string().max(500, 'reason is at most 500 characters').optional(),
  })
  .strict();

export function adminRouter(deps: StatusDeps): Router {
  const router = express.Router();
  const links = statusLinks(deps.publicUrl);
  const unavailable = (_req: Request, res: Response, error: unknown) => {
    deps.logger?.error({ err: error }, 'admin: heal records unavailable');
    res
      .status(503)
      .json({ error: 'heal records are unavailable (Redis unreachable); retry later' });
  };
  const pausedState = async (): Promise<PauseState | null> => (await deps.store.paused()) ?? null;

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
    const body = decisionBodySchema.safeParse((req.body as unknown) ?? {});
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

  /**
   * An operator's answer to a heal that waits for approval (or will: an approval given early
   * holds until the heal asks). A rejection also cancels the heal, whatever step it is on.
   */
  const decide = (decision: ApprovalDecision['decision']) =>
    async function (req: Request, res: Response) {
      const body = decisionBodySchema.safeParse((req.body as unknown) ?? {});
      if (!body.success) {
        res.status(400).json({ error: firstIssue(body.error) });
        return;
      }
      try {
        const record = await runningHeal(req, res);
        if (!record) return;
        const by = body.data.by ? `${ADMIN_ACTOR} (${body.data.by})` : ADMIN_ACTOR;
        const answer: ApprovalDecision = {
          healId: record.id,
          decision,
          by,
          reason: body.data.reason ?? '',
          at: deps.now().getTime(),
        };
        await deps.store.decideApproval(answer);
        if (decision === 'rejected') await deps.store.requestCancel(record.id, by);
        deps.logger?.warn(
          { healId: record.id, node: record.node, fault: record.fault, by, reason: answer.reason },
          `heal ${decision}`,
        );
        res.status(202).json({
          id: record.id,
          node: record.node,
          approval: answer,
          awaitingApproval: record.gate === 'approval',
          links: { self: links.heal(record.id) },
        });
      } catch (error) {
        unavailable(req, res, error);
      }
    };
  router.post('/heals/:id/approve', requireAdmin, adminJson, decide('approved'));
  router.post('/heals/:id/reject', requireAdmin, adminJson, decide('rejected'));

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

// POST /webhook/<source> (alertmanager, grafana): authenticate, limit, validate, record durably,
// then answer. Every source gets the same auth, limits, durability, dedupe and debounce.
//   200 every alert recorded (body: received, the first 1,000 outcomes, outcomesOmitted)
//   400 malformed or unsupported version · 401 credentials · 413 too large
//   503 Redis unreachable (the sender retries; nothing is lost)
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { observeWebhookResponse } from '../metrics/index.ts';
import { processAlerts, type IntakeDeps } from '../intake/index.ts';
import type { AlertSource } from '../sources/index.ts';
import { checkAuthorization, wwwAuthenticateHeader, type WebhookCredentials } from './auth.ts';

export interface WebhookOptions {
  /** Current credentials; a function so that rotated secret files are picked up. */
  credentials: () => WebhookCredentials | undefined;
  bodyLimit: string;
}

/** Per-alert outcomes listed in a 200 answer; the rest are only counted. */
export const MAX_OUTCOMES_IN_ANSWER = 1000;

export function webhookRouter(
  sources: readonly AlertSource[],
  deps: IntakeDeps,
  options: WebhookOptions,
): Router {
  const router = express.Router();
  const answer = (res: Response, code: number, body: Record<string, unknown>) => {
    observeWebhookResponse(deps.metrics, code);
    res.status(code).json(body);
  };

  const authenticate = (req: Request, res: Response, next: NextFunction) => {
    let creds: WebhookCredentials | undefined;
    try {
      creds = options.credentials();
    } catch (error) {
      // A mounted secret file that vanished: refuse with 503 so Alertmanager retries later.
      deps.logger.error({ err: error }, 'webhook credentials unavailable');
      answer(res, 503, { error: 'webhook credentials unavailable' });
      return;
    }
    if (creds === undefined) {
      next();
      return;
    }
    const result = checkAuthorization(req.get('authorization'), creds);
    if (result === 'ok') {
      next();
      return;
    }
    res.setHeader('WWW-Authenticate', wwwAuthenticateHeader(creds));
    answer(res, 401, {
      error: result === 'missing' ? 'credentials required' : 'invalid credentials',
    });
  };

  const json = express.json({ limit: options.bodyLimit, type: () => true, strict: true });
  for (const source of sources) {
    router.post(source.path, authenticate, json, async (req: Request, res: Response) => {
      const parsed = source.parse(req.body);
      if (!parsed.ok) {
        deps.logger.warn({ source: source.name, error: parsed.error }, 'rejected webhook payload');
        answer(res, 400, { error: parsed.error });
        return;
      }
      try {
        const outcomes = await processAlerts(parsed.batch, deps);
        const received = parsed.batch.alerts.length;
        // Senders ignore the body; people reading it need the first alerts, not 40,000.
        answer(
          res,
          200,
          outcomes.length > MAX_OUTCOMES_IN_ANSWER
            ? {
                received,
                outcomes: outcomes.slice(0, MAX_OUTCOMES_IN_ANSWER),
                outcomesOmitted: outcomes.length - MAX_OUTCOMES_IN_ANSWER,
              }
            : { received, outcomes },
        );
      } catch (error) {
        deps.logger.error(
          { err: error, source: source.name },
          'could not record webhook; answering 503 so the sender retries',
        );
        answer(res, 503, { error: 'alerts could not be recorded; retry later' });
      }
    });
  }

  // Body parser errors: too large, or not JSON.
  router.use((error: unknown, _req: Request, res: Response, next: NextFunction) => {
    const e = error as { type?: string; status?: number; message?: string };
    if (e.type === 'entity.too.large') {
      answer(res, 413, { error: `request body exceeds ${options.bodyLimit}` });
    } else if (e.status === 400 || e.type === 'entity.parse.failed') {
      answer(res, 400, { error: `body is not valid JSON: ${e.message ?? 'parse error'}` });
    } else if (e.status && e.status >= 400 && e.status < 500) {
      // Unsupported charset or content encoding: still a malformed request for this contract.
      answer(res, 400, { error: e.message ?? 'bad request' });
    } else {
      next(error);
    }
  });
  return router;
}

// The baseline for `npm run bench:intake`: a bare express 5 app that only parses the JSON body
// (express.json with nodeheal's default 16mb limit) and answers 200. Whatever nodeheal costs
// above this is validation, triage and Redis, not HTTP and JSON.
//   node test/bench/bare-endpoint.ts <port>
import express from 'express';

const port = Number(process.argv[2] ?? process.env.BARE_PORT);
if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: node test/bench/bare-endpoint.ts <port>');
  process.exit(2);
}

const app = express();
app.disable('x-powered-by');
app.set('etag', false);

app.get('/healthz', (_req, res) => {
  res.type('text/plain').send('ok\n');
});

app.post(
  '/webhook/alertmanager',
  express.json({ limit: '16mb', type: () => true, strict: true }),
  (req, res) => {
    const body = req.body as { alerts?: unknown[] };
    res.status(200).json({ received: Array.isArray(body.alerts) ? body.alerts.length : 0 });
  },
);

const server = app.listen(port, '127.0.0.1', () => {
  console.log(`bare endpoint listening on 127.0.0.1:${port}`);
});
const shutdown = () => server.close(() => process.exit(0));
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);

// HTTP: the application that composes every router (webhook per source, status, admin, health,
// metrics), with the shared webhook authentication and body limits.
export { adminRouter, ADMIN_ACTOR } from './admin-router.ts';
export { buildApp, type AppDeps } from './app.ts';
export { SecretSource, type WebhookCredentials } from './auth.ts';
export { MAX_OUTCOMES_IN_ANSWER, type WebhookOptions } from './webhook-route.ts';

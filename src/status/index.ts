// Status: the JSON API and HTML pages over heal records (GET /heals, /heals/:id, /nodes/:node),
// the admin API (pause, resume, cancel), and the text views of `nodeheal status`.
export { firstIssue, statusRouter, type StatusDeps } from './status-router.ts';
export {
  DEFAULT_LIST_LIMIT,
  HEAL_ID_PATTERN,
  MAX_LIST_LIMIT,
  currentHeal,
  healDetail,
  healSummary,
  statusLinks,
  stepViews,
  type HealDetail,
  type HealListView,
  type HealSummary,
  type NodeView,
  type StatusLinks,
  type StepProgress,
  type StepView,
} from './heal-views.ts';
export { SafeHtml, escapeHtml, externalLink, html, isHttpUrl, page, safeHref } from './html.ts';
export {
  renderErrorPage,
  renderHealList,
  renderHealPage,
  renderNodePage,
  renderWaitingPage,
  type RenderContext,
} from './render-html.ts';
export { formatTable, renderHealsText, renderNodeText, terminalSafe } from './render-text.ts';
export { isoTime, relativeTime, shortIso } from './time-format.ts';

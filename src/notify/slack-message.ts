// Pure: a heal transition as one line a human reads in a chat channel, posted the way Slack's
// incoming webhooks (and the many chat tools that copy them: Mattermost, Rocket.Chat...) want it.
import type { HealCloudEvent } from './heal-cloud-event.ts';

export const SLACK_CONTENT_TYPE = 'application/json; charset=utf-8';

const EMOJI: Partial<Record<HealCloudEvent['data']['kind'], string>> = {
  started: ':hammer_and_wrench:',
  acting: ':gear:',
  'step-done': ':ballot_box_with_check:',
  'retry-scheduled': ':repeat:',
  escalated: ':arrow_double_up:',
  'ladder-changed': ':arrow_double_up:',
  held: ':double_vertical_bar:',
  'awaiting-fence': ':hourglass_flowing_sand:',
  fenced: ':lock:',
  'out-of-service': ':no_entry:',
  confirming: ':eyes:',
  healed: ':white_check_mark:',
  abandoned: ':rotating_light:',
  cancelled: ':no_entry_sign:',
  skipped: ':fast_forward:',
};

/** What happened, in words, by transition kind. */
function phrase(d: HealCloudEvent['data']): string {
  const step = `step ${d.step + 1}/${d.steps} ${d.action}`;
  switch (d.kind) {
    case 'started':
      return `heal started (${step})`;
    case 'acting':
      return `${step} acting`;
    case 'step-done':
      return `${step} done`;
    case 'retry-scheduled':
      return `${step} failed, retrying`;
    case 'escalated':
      return `${step} escalated`;
    case 'ladder-changed':
      return `heal moved to a more drastic ladder (${step})`;
    case 'held':
      return `${step} held by a safety gate`;
    case 'skipped':
      return d.status === 'skipped' ? 'heal skipped' : `${step} skipped`;
    case 'healed':
    case 'abandoned':
    case 'cancelled':
      return `heal ${d.kind}`;
    default:
      return `${step}: ${d.kind}`;
  }
}

/** Slack's three control characters, escaped as its docs ask (text is mrkdwn). */
export function slackEscape(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/**
 * The incoming-webhook body of a heal CloudEvent: `{"text": "..."}`, one line.
 *
 * - The line names the source's cluster, the node and pool, what happened, the fault and the
 *   transition's detail; a `[dry run]` heal says so.
 * - Text from nodeheal and alert labels is escaped (`&`, `<`, `>`), newlines flattened; the
 *   status page, when there is a link, is a Slack link at the end.
 */
export function slackMessage(event: HealCloudEvent): { text: string } {
  const d = event.data;
  const cluster = event.source.replace(/^nodeheal\//, '');
  const where = d.pool ? `${d.node} (pool ${d.pool})` : d.node;
  const words = [
    EMOJI[d.kind] ?? ':information_source:',
    `*${slackEscape(cluster)}*`,
    d.dryRun ? '[dry run]' : undefined,
    `${slackEscape(where)}: ${slackEscape(phrase(d))}`,
    `· ${slackEscape(d.fault)} · ${slackEscape(d.detail)}`,
    d.link ? `<${d.link}|status>` : undefined,
  ];
  return {
    text: words
      .filter((w) => w !== undefined)
      .join(' ')
      .replace(/\s*[\r\n]+\s*/g, ' '),
  };
}

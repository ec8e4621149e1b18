// Notifications: each heal transition sent to the configured sinks (CloudEvents 1.0 over HTTP,
// or a Slack-compatible line), queued and retried without ever holding a heal back.
export {
  CLOUDEVENTS_CONTENT_TYPE,
  HEAL_EVENT_TYPE_PREFIX,
  healCloudEvent,
  healEventId,
  type HealCloudEvent,
  type HealEventData,
  type HealEventOptions,
} from './heal-cloud-event.ts';
export { httpSend, retryAfterMs, retryableStatus, type HttpSinkTarget } from './http-send.ts';
export { createNotifier, sinkWants, type Notifier, type NotifierOptions } from './notifier.ts';
export {
  DEFAULT_NOTIFY_KINDS,
  NOTIFY_FORMATS,
  notifySinkSchema,
  notifySinksSchema,
  type NotifyFormat,
  type NotifySink,
  type NotifySinkInput,
} from './notify-config.ts';
export { SLACK_CONTENT_TYPE, slackEscape, slackMessage } from './slack-message.ts';
export {
  SinkQueue,
  backoffDelay,
  type Delivery,
  type DeliveryResult,
  type SendResult,
  type SinkQueueOptions,
} from './sink-queue.ts';

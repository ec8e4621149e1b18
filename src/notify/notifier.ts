// The heal notifier: every announced transition goes, as a CloudEvent or a Slack line, to each
// configured sink that wants it. Fire and forget: `transition` only queues (and never throws), so
// a sink that is down, slow or refusing never holds a heal step back or fails a heal.
import type { Logger } from '../log/index.ts';
import type { HealRecord } from '../heal/index.ts';
import {
  CLOUDEVENTS_CONTENT_TYPE,
  healCloudEvent,
  type HealEventOptions,
} from './heal-cloud-event.ts';
import { httpSend } from './http-send.ts';
import { DEFAULT_NOTIFY_KINDS, type NotifySink } from './notify-config.ts';
import { SLACK_CONTENT_TYPE, slackMessage } from './slack-message.ts';
import {
  SinkQueue,
  type Delivery,
  type DeliveryResult,
  type SinkQueueOptions,
} from './sink-queue.ts';

export interface NotifierOptions extends HealEventOptions {
  sinks: readonly NotifySink[];
  logger: Logger;
  /** Each notification's end, per sink (the worker counts them in a metric). */
  onResult?: (sink: string, result: DeliveryResult) => void;
  /** One attempt to one sink (tests); default an HTTP POST with the sink's timeout. */
  send?: (
    sink: NotifySink,
    delivery: Delivery,
    signal: AbortSignal,
  ) => ReturnType<SinkQueueOptions['send']>;
  sleep?: SinkQueueOptions['sleep'];
  random?: SinkQueueOptions['random'];
}

export interface Notifier {
  /** Queues `record.transitions[index]` for every sink that wants it; returns at once. */
  transition(record: HealRecord, index: number): void;
  /** Stops taking notifications; queued ones get until `timeoutMs` from now to go out. */
  close(timeoutMs: number): Promise<void>;
}

/** Whether `sink` wants a transition of kind `kind` of a heal in `pool`. */
export function sinkWants(sink: NotifySink, kind: string, pool: string): boolean {
  const kinds: readonly string[] = sink.kinds ?? DEFAULT_NOTIFY_KINDS;
  if (!kinds.includes(kind)) return false;
  return sink.pools === undefined || sink.pools.includes(pool);
}

export function createNotifier(options: NotifierOptions): Notifier {
  const { logger } = options;
  const send = options.send ?? ((sink, delivery, signal) => httpSend(sink, delivery, signal));
  const queues = options.sinks.map((sink) => ({
    sink,
    queue: new SinkQueue({
      name: sink.name,
      queueSize: sink.queueSize,
      maxAttempts: sink.maxAttempts,
      backoffMs: sink.backoffMs,
      maxBackoffMs: sink.maxBackoffMs,
      send: (delivery, signal) => send(sink, delivery, signal),
      ...(options.sleep ? { sleep: options.sleep } : {}),
      ...(options.random ? { random: options.random } : {}),
      onResult: (result, delivery, detail) => {
        options.onResult?.(sink.name, result);
        // The sink's name only: its URL can hold a secret (a Slack webhook's does).
        if (result !== 'delivered')
          logger.warn(
            { sink: sink.name, eventId: delivery.id, result, detail },
            'notification not delivered',
          );
      },
    }),
  }));

  return {
    transition(record, index) {
      try {
        const t = record.transitions[index];
        if (!t) return;
        const wanted = queues.filter((q) => sinkWants(q.sink, t.kind, record.pool));
        if (wanted.length === 0) return;
        const event = healCloudEvent(record, index, options);
        for (const { sink, queue } of wanted) {
          const slack = sink.format === 'slack';
          queue.push({
            id: event.id,
            contentType: slack ? SLACK_CONTENT_TYPE : CLOUDEVENTS_CONTENT_TYPE,
            body: JSON.stringify(slack ? slackMessage(event) : event),
          });
        }
      } catch (error) {
        // A notification is for people; no bug in building one may reach the heal.
        logger.warn({ err: error, healId: record.id }, 'could not queue a heal notification');
      }
    },
    async close(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      await Promise.all(queues.map((q) => q.queue.close(deadline)));
    },
  };
}

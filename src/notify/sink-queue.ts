// One sink's outbox: a bounded in-memory queue delivered one notification at a time (so a sink
// sees a heal's transitions in order), each retried with exponential backoff. Nothing here is
// awaited by a heal: `push` returns at once, whatever the sink does.

/** A request body ready to send. */
export interface Delivery {
  body: string;
  contentType: string;
  /** For logs: the CloudEvent id. */
  id: string;
}

export type SendResult =
  | { ok: true }
  /** `retry: false` for answers another try cannot change (400, 401, 404...). */
  | { ok: false; retry: boolean; detail: string; retryAfterMs?: number };

export type DeliveryResult = 'delivered' | 'failed' | 'dropped';

export interface SinkQueueOptions {
  name: string;
  queueSize: number;
  maxAttempts: number;
  backoffMs: number;
  maxBackoffMs: number;
  /** One attempt; must not throw (a thrown error counts as a retryable failure). */
  send: (delivery: Delivery, signal: AbortSignal) => Promise<SendResult>;
  /** Each notification's end: delivered, failed (attempts used up, or refused), dropped. */
  onResult?: (result: DeliveryResult, delivery: Delivery, detail?: string) => void;
  /** Waits `ms`, or less when `signal` aborts (tests pass a fake). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** In [0, 1): the jitter of the backoff (tests pass a constant). */
  random?: () => number;
}

/**
 * The wait before retry number `attempt` (1: after the first failure).
 *
 * - `backoffMs · 2^(attempt-1)`, capped at `maxBackoffMs`, then jittered to between half and all
 *   of it, so that sinks recovering from an outage are not hit by every worker at once.
 * - A `Retry-After` the sink sent is honoured, still capped at `maxBackoffMs`: a sink cannot hold
 *   a notification (and those queued behind it) for longer than the operator allowed.
 */
export function backoffDelay(
  attempt: number,
  options: Pick<SinkQueueOptions, 'backoffMs' | 'maxBackoffMs'>,
  random: number,
  retryAfterMs?: number,
): number {
  const base = Math.min(options.maxBackoffMs, options.backoffMs * 2 ** (attempt - 1));
  const jittered = Math.round(base / 2 + (random * base) / 2);
  if (retryAfterMs === undefined) return jittered;
  return Math.min(options.maxBackoffMs, Math.max(jittered, retryAfterMs));
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    // A pending retry must not keep the process alive once everything else stopped.
    timer.unref();
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

export class SinkQueue {
  private readonly waiting: Delivery[] = [];
  private running: Promise<void> = Promise.resolve();
  /** Set and cleared synchronously with the loop in `drain`: no push can fall between. */
  private active = false;
  private closed = false;
  private readonly stop = new AbortController();
  private readonly sleep: NonNullable<SinkQueueOptions['sleep']>;
  private readonly random: () => number;

  private readonly options: SinkQueueOptions;

  constructor(options: SinkQueueOptions) {
    this.options = options;
    this.sleep = options.sleep ?? abortableSleep;
    this.random = options.random ?? Math.random;
  }

  /** Notifications waiting (not counting the one being delivered). */
  get length(): number {
    return this.waiting.length;
  }

  /** Queues a notification and returns at once; when full, the oldest waiting one is dropped. */
  push(delivery: Delivery): void {
    if (this.closed) {
      this.end('dropped', delivery, 'notifier closed');
      return;
    }
    if (this.waiting.length >= this.options.queueSize) {
      // The newest says most about where a heal stands now: the oldest goes.
      const oldest = this.waiting.shift();
      if (oldest) this.end('dropped', oldest, `queue full (${this.options.queueSize})`);
    }
    this.waiting.push(delivery);
    if (!this.active) {
      this.active = true;
      this.running = this.drain();
    }
  }

  /**
   * Stops taking notifications and gives those queued until `deadline` (epoch ms) to go out;
   * then the one in flight is aborted (failed) and the rest dropped.
   */
  async close(deadline: number): Promise<void> {
    this.closed = true;
    const timer = setTimeout(() => this.stop.abort(), Math.max(0, deadline - Date.now()));
    try {
      await this.running;
    } finally {
      clearTimeout(timer);
    }
  }

  private async drain(): Promise<void> {
    try {
      for (let next = this.waiting.shift(); next; next = this.waiting.shift()) {
        if (this.stop.signal.aborted) this.end('dropped', next, 'notifier closed');
        else await this.deliver(next);
      }
    } finally {
      this.active = false;
    }
  }

  private async deliver(delivery: Delivery): Promise<void> {
    let detail = '';
    for (let attempt = 1; attempt <= this.options.maxAttempts; attempt += 1) {
      let result: SendResult;
      try {
        result = await this.options.send(delivery, this.stop.signal);
      } catch (error) {
        result = { ok: false, retry: true, detail: String(error) };
      }
      if (result.ok) return this.end('delivered', delivery);
      detail = `attempt ${attempt}/${this.options.maxAttempts}: ${result.detail}`;
      if (!result.retry || attempt === this.options.maxAttempts || this.stop.signal.aborted) break;
      const wait = backoffDelay(attempt, this.options, this.random(), result.retryAfterMs);
      await this.sleep(wait, this.stop.signal);
      if (this.stop.signal.aborted) break;
    }
    this.end('failed', delivery, detail);
  }

  private end(result: DeliveryResult, delivery: Delivery, detail?: string): void {
    try {
      this.options.onResult?.(result, delivery, detail);
    } catch {
      // Counting and logging are best effort; they must not stop the queue.
    }
  }
}

// Groups the Redis writes of concurrent webhook requests into one round trip. Requests that reach
// their commit during the same turn of the event loop are sent together when the loop next
// reaches its check phase (setImmediate): a lone request waits for nothing, and under load each
// write syscall and each Redis call carries many requests instead of one.

export interface MicroBatcherOptions<T, R> {
  /** Sends one batch; resolves with exactly one result per item, in the items' order. */
  send: (items: T[]) => Promise<R[]>;
  /** Size of an item (say, the Redis arguments it adds); defaults to 1. */
  weight?: (item: T) => number;
  /** A batch stops growing at this total weight; an item heavier than this goes alone. */
  maxWeight: number;
}

interface Pending<T, R> {
  item: T;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

export class MicroBatcher<T, R> {
  readonly #options: MicroBatcherOptions<T, R>;
  #pending: Pending<T, R>[] = [];
  #scheduled = false;

  constructor(options: MicroBatcherOptions<T, R>) {
    if (!(options.maxWeight > 0)) {
      throw new RangeError(`maxWeight must be positive, got ${options.maxWeight}`);
    }
    this.#options = options;
  }

  /** Resolves with the item's own result once its batch has been sent and answered. */
  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#pending.push({ item, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => {
          this.#flush();
        });
      }
    });
  }

  #flush(): void {
    const pending = this.#pending;
    this.#pending = [];
    this.#scheduled = false;
    const weight = this.#options.weight ?? (() => 1);
    let batch: Pending<T, R>[] = [];
    let total = 0;
    for (const entry of pending) {
      const w = weight(entry.item);
      if (batch.length > 0 && total + w > this.#options.maxWeight) {
        this.#send(batch);
        batch = [];
        total = 0;
      }
      batch.push(entry);
      total += w;
    }
    if (batch.length > 0) this.#send(batch);
  }

  #send(batch: Pending<T, R>[]): void {
    let sending: Promise<R[]>;
    try {
      sending = this.#options.send(batch.map((entry) => entry.item));
    } catch (error) {
      sending = Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    sending.then(
      (results) => {
        if (results.length !== batch.length) {
          const error = new Error(
            `batch of ${batch.length} answered with ${results.length} results`,
          );
          for (const entry of batch) entry.reject(error);
          return;
        }
        batch.forEach((entry, i) => {
          entry.resolve(results[i] as R);
        });
      },
      (error: unknown) => {
        // Every request of a failed batch fails (the webhook answers 503; Alertmanager retries).
        for (const entry of batch) entry.reject(error);
      },
    );
  }
}

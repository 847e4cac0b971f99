// Groups incoming messages into batches closed by size or by age, and hands them, one batch at a
// time and in arrival order, to an async processor. Strict serial processing keeps each machine's
// readings in order through the windows; the in-flight count (collecting + queued + processing)
// is what the inputs bound to apply backpressure (JetStream) or to shed load (core NATS).

export interface BatchCollectorOptions<T, S = undefined> {
  maxBatch: number;
  /** Longest the first item of a batch waits for the batch to fill; 0 closes it on the next turn of the event loop. */
  maxDelayMs: number;
  /**
   * Called synchronously as each batch closes, in order, even while earlier batches are still being
   * processed; its result is handed to process(). Lets a later batch's work start (e.g. in a worker
   * thread) while an earlier one is published. Must not throw.
   */
  start?(batch: T[]): S;
  /** Must not reject: the processor owns its errors (ack/nak decisions live there). */
  process(batch: T[], started: S | undefined): Promise<void>;
}

interface CapacityWaiter {
  limit: number;
  resolve(): void;
}

export class BatchCollector<T, S = undefined> {
  readonly #opts: BatchCollectorOptions<T, S>;
  #open: T[] = [];
  #timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  readonly #queue: { batch: T[]; started: S | undefined }[] = [];
  #queued = 0;
  #processing: Promise<void> | undefined;
  #waiters: (() => void)[] = [];
  #capacityWaiters: CapacityWaiter[] = [];

  constructor(opts: BatchCollectorOptions<T, S>) {
    if (opts.maxBatch < 1) throw new Error('maxBatch must be at least 1');
    this.#opts = opts;
  }

  /** Items collected or queued or being processed. */
  get inFlight(): number {
    return this.#open.length + this.#queued;
  }

  add(item: T): void {
    this.#open.push(item);
    if (this.#open.length >= this.#opts.maxBatch) this.flush();
    else if (this.#timer === undefined) {
      this.#timer =
        this.#opts.maxDelayMs > 0
          ? setTimeout(() => this.flush(), this.#opts.maxDelayMs)
          : setImmediate(() => this.flush());
    }
  }

  /** Closes the open batch now. */
  flush(): void {
    this.#clearTimer();
    if (this.#open.length === 0) return;
    const batch = this.#open;
    this.#open = [];
    this.#queue.push({ batch, started: this.#opts.start?.(batch) });
    this.#queued += batch.length;
    if (!this.#processing) this.#processing = this.#run();
  }

  /** Resolves once fewer than `limit` items are in flight. */
  waitForCapacity(limit: number): Promise<void> {
    if (this.inFlight < limit) return Promise.resolve();
    return new Promise((resolve) => this.#capacityWaiters.push({ limit, resolve }));
  }

  /** Flushes and resolves when everything added so far has been processed. */
  drain(): Promise<void> {
    this.flush();
    if (!this.#processing) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  async #run(): Promise<void> {
    for (let item = this.#queue.shift(); item; item = this.#queue.shift()) {
      await this.#opts.process(item.batch, item.started);
      this.#queued -= item.batch.length;
      this.#wakeCapacityWaiters();
    }
    this.#processing = undefined;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  #wakeCapacityWaiters(): void {
    if (this.#capacityWaiters.length === 0) return;
    const still: CapacityWaiter[] = [];
    for (const w of this.#capacityWaiters) {
      if (this.inFlight < w.limit) w.resolve();
      else still.push(w);
    }
    this.#capacityWaiters = still;
  }

  #clearTimer(): void {
    if (this.#timer === undefined) return;
    if (this.#opts.maxDelayMs > 0) clearTimeout(this.#timer as NodeJS.Timeout);
    else clearImmediate(this.#timer as NodeJS.Immediate);
    this.#timer = undefined;
  }
}

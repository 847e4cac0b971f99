import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createMetrics } from './metrics.ts';
import { BucketRateLimiter, ItemExponentialRateLimiter } from './rateLimiter.ts';
import { WorkQueue } from './workQueue.ts';

function queue(): WorkQueue {
  return new WorkQueue({ name: 'test', rateLimiter: new ItemExponentialRateLimiter(5, 1_000) });
}

describe('WorkQueue', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('de-duplicates keys that are waiting and keeps FIFO order', async () => {
    const q = queue();
    for (const k of ['a', 'b', 'a', 'c', 'b']) q.add(k);
    expect(q.len()).toBe(3);
    expect([await q.get(), await q.get(), await q.get()]).toEqual(['a', 'b', 'c']);
  });

  it('never hands out a key while it is processing; re-queues it on done', async () => {
    const q = queue();
    q.add('a');
    const first = await q.get();
    q.add('a'); // changed while being reconciled
    expect(q.len()).toBe(0);
    let second: string | undefined;
    void q.get().then((k) => (second = k));
    await Promise.resolve();
    expect(second).toBeUndefined();
    q.done(first!);
    await Promise.resolve();
    expect(second).toBe('a');
  });

  it('wakes a waiting worker on add', async () => {
    const q = queue();
    const pending = q.get();
    q.add('x');
    expect(await pending).toBe('x');
  });

  it('addAfter delays, and the earliest of several delays wins', async () => {
    const q = queue();
    q.addAfter('a', 1_000);
    q.addAfter('a', 100);
    q.addAfter('a', 5_000);
    await vi.advanceTimersByTimeAsync(99);
    expect(q.len()).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(q.len()).toBe(1);
    await q.get();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(q.len()).toBe(0);
  });

  it('waits the longest a timer can for a delay beyond it, instead of firing at once', async () => {
    const q = queue();
    q.addAfter('yearly', 400 * 24 * 3_600_000);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(q.len()).toBe(0);
    await vi.advanceTimersByTimeAsync(2 ** 31 - 1);
    expect(q.len()).toBe(1);
  });

  it('backs off exponentially per key until forgotten', async () => {
    const q = queue();
    const times: number[] = [];
    for (let i = 0; i < 4; i++) {
      const start = Date.now();
      q.addRateLimited('a');
      const key = q.get();
      await vi.advanceTimersByTimeAsync(1_000);
      q.done((await key)!);
      times.push(q.numRequeues('a'));
      expect(Date.now() - start).toBe(1_000);
    }
    expect(times).toEqual([1, 2, 3, 4]);
    q.forget('a');
    expect(q.numRequeues('a')).toBe(0);
  });

  it('applies the backoff delays 5, 10, 20 ms', async () => {
    const q = queue();
    const delays: number[] = [];
    for (let i = 0; i < 3; i++) {
      const start = Date.now();
      q.addRateLimited('a');
      while (q.len() === 0 && Date.now() - start < 1_000) await vi.advanceTimersByTimeAsync(1);
      delays.push(Date.now() - start);
      q.done((await q.get())!);
    }
    expect(delays).toEqual([5, 10, 20]);
  });

  it('rate-limits globally with a token bucket', async () => {
    const q = new WorkQueue({ name: 'bucket', rateLimiter: new BucketRateLimiter(10, 2) });
    for (const k of ['a', 'b', 'c', 'd']) q.addRateLimited(k);
    expect(q.len()).toBe(2);
    await vi.advanceTimersByTimeAsync(100);
    expect(q.len()).toBe(3);
    await vi.advanceTimersByTimeAsync(100);
    expect(q.len()).toBe(4);
  });

  it('shutDown releases waiting workers, drops pending keys and refuses new ones', async () => {
    const q = queue();
    const waiting = q.get();
    q.shutDown();
    expect(await waiting).toBeUndefined();
    q.add('a');
    q.addAfter('b', 10);
    expect(q.len()).toBe(0);
    expect(await q.get()).toBeUndefined();
  });

  it('processes each key once under concurrency, never two of the same key at a time', async () => {
    vi.useRealTimers();
    const q = queue();
    const running = new Set<string>();
    const processed: string[] = [];
    let overlap = false;
    const worker = async (): Promise<void> => {
      for (let key = await q.get(); key !== undefined; key = await q.get()) {
        if (running.has(key)) overlap = true;
        running.add(key);
        await new Promise((r) => setTimeout(r, 1));
        processed.push(key);
        running.delete(key);
        q.done(key);
      }
    };
    const workers = Array.from({ length: 4 }, worker);
    // Five bursts of changes while the first reconciles still run: each key is reconciled once for
    // the first burst and once more for all the changes that arrived during it.
    for (let round = 0; round < 5; round++) {
      for (const k of ['a', 'b', 'c']) q.add(k);
      await Promise.resolve();
    }
    await new Promise((r) => setTimeout(r, 50));
    q.shutDown();
    await Promise.all(workers);
    expect(overlap).toBe(false);
    expect(processed.toSorted()).toEqual(['a', 'a', 'b', 'b', 'c', 'c']);
  });

  it('records workqueue metrics', async () => {
    const metrics = createMetrics();
    const q = new WorkQueue({ name: 'm', metrics, rateLimiter: new ItemExponentialRateLimiter() });
    q.add('a');
    q.add('b');
    q.addRateLimited('c');
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/workqueue_depth\{name="m"\} 2/);
    expect(text).toMatch(/workqueue_adds_total\{name="m"\} 2/);
    expect(text).toMatch(/workqueue_retries_total\{name="m"\} 1/);
    q.done((await q.get())!);
    expect(await metrics.registry.metrics()).toMatch(/workqueue_work_duration_seconds_count\{name="m"\} 1/);
  });
});

import { describe, expect, it } from 'vitest';
import { LoadCheckSlots } from './loadCheckSlots.ts';

describe('LoadCheckSlots', () => {
  it('runs up to the limit at once and queues the rest in arrival order', async () => {
    const slots = new LoadCheckSlots(2);
    const order: string[] = [];
    const a = slots.take();
    const b = slots.take();
    const c = slots.take();
    const d = slots.take();
    expect([a.position, b.position, c.position, d.position]).toEqual([undefined, undefined, 1, 2]);
    expect(slots.waiting).toBe(2);
    void c.ready.then(() => order.push('c'));
    void d.ready.then(() => order.push('d'));
    const releaseA = await a.ready;
    await b.ready;
    await Promise.resolve();
    expect(order).toEqual([]);
    releaseA();
    releaseA(); // a second release of the same turn frees nothing more
    await new Promise((r) => setTimeout(r, 0));
    expect(order).toEqual(['c']);
    expect(slots.waiting).toBe(1);
  });

  it('frees the slot when the last holder releases and nobody waits', async () => {
    const slots = new LoadCheckSlots(1);
    (await slots.take().ready)();
    expect(slots.take().position).toBeUndefined();
  });

  it('refuses a limit below one', () => {
    expect(() => new LoadCheckSlots(0)).toThrow(/≥ 1/);
  });

  it('a waiter whose signal aborts leaves the line; the next one gets the slot', async () => {
    const slots = new LoadCheckSlots(1);
    const release = await slots.take().ready;
    const abort = new AbortController();
    const gone = slots.take(abort.signal);
    const next = slots.take();
    expect(next.position).toBe(2);
    abort.abort(new Error('term over'));
    await expect(gone.ready).rejects.toThrow('term over');
    expect(slots.waiting).toBe(1);
    release();
    await next.ready; // not handed to the departed waiter
    expect(slots.waiting).toBe(0);
    await expect(slots.take(AbortSignal.abort(new Error('already'))).ready).rejects.toThrow('already');
  });
});

import { describe, expect, it } from 'vitest';
import { BatchCollector } from './batchCollector.ts';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('BatchCollector', () => {
  it('closes a batch when it reaches maxBatch, without waiting for the delay', async () => {
    const batches: number[][] = [];
    const c = new BatchCollector<number>({
      maxBatch: 3,
      maxDelayMs: 10_000,
      process: async (b) => void batches.push(b),
    });
    for (let i = 0; i < 7; i++) c.add(i);
    await tick(0);
    expect(batches).toEqual([
      [0, 1, 2],
      [3, 4, 5],
    ]);
    await c.drain();
    expect(batches).toEqual([[0, 1, 2], [3, 4, 5], [6]]);
  });

  it('closes a partial batch after maxDelayMs', async () => {
    const batches: number[][] = [];
    const c = new BatchCollector<number>({
      maxBatch: 100,
      maxDelayMs: 20,
      process: async (b) => void batches.push(b),
    });
    c.add(1);
    c.add(2);
    await tick(5);
    expect(batches).toEqual([]);
    await tick(40);
    expect(batches).toEqual([[1, 2]]);
  });

  it('processes batches one at a time, in order, and counts in-flight items until processed', async () => {
    const log: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const c = new BatchCollector<number>({
      maxBatch: 2,
      maxDelayMs: 0,
      process: async (b) => {
        log.push(`start ${b.join(',')}`);
        if (b[0] === 0) await gate;
        log.push(`end ${b.join(',')}`);
      },
    });
    [0, 1, 2, 3, 4].forEach((i) => c.add(i));
    expect(c.inFlight).toBe(5);
    let capacity = false;
    void c.waitForCapacity(3).then(() => (capacity = true));
    await tick(5);
    expect(log).toEqual(['start 0,1']);
    expect(capacity).toBe(false);
    release();
    await c.drain();
    expect(capacity).toBe(true);
    expect(c.inFlight).toBe(0);
    expect(log).toEqual(['start 0,1', 'end 0,1', 'start 2,3', 'end 2,3', 'start 4', 'end 4']);
  });

  it('drain resolves immediately when idle', async () => {
    const c = new BatchCollector<number>({ maxBatch: 2, maxDelayMs: 5, process: async () => undefined });
    await expect(c.drain()).resolves.toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import type { LoadedModel } from './model.ts';
import { ModelSlot } from './modelSlot.ts';

function fakeModel(version: string, released: string[]): LoadedModel {
  return {
    version,
    sha256: version,
    task: 'classification',
    inputs: ['a'],
    sequenceLength: undefined,
    rowWidth: 1,
    inputName: 'features',
    outputName: 'probability',
    outputWidth: 1,
    scoreFrom: 'output',
    metadata: {},
    blocksEventLoop: false,
    run: async (_rows, n) => new Float32Array(n),
    release: async () => void released.push(version),
  };
}

describe('model slot', () => {
  it('serves nothing until a model is installed', () => {
    expect(new ModelSlot().acquire()).toBeUndefined();
  });

  it('keeps a leased model alive across a swap and releases it after the last lease', () => {
    const released: string[] = [];
    const slot = new ModelSlot();
    slot.swap(fakeModel('v1', released));
    const a = slot.acquire()!;
    const b = slot.acquire()!;
    slot.swap(fakeModel('v2', released));
    expect(slot.acquire()!.model.version).toBe('v2'); // new batches see v2 at once
    expect(a.model.version).toBe('v1'); // in-flight batches keep v1
    a.release();
    a.release(); // idempotent
    expect(released).toEqual([]);
    b.release();
    expect(released).toEqual(['v1']);
  });

  it('releases an unleased model immediately on swap and on clearing', () => {
    const released: string[] = [];
    const slot = new ModelSlot();
    slot.swap(fakeModel('v1', released));
    slot.swap(fakeModel('v2', released));
    expect(released).toEqual(['v1']);
    expect(slot.swap(undefined)?.version).toBe('v2');
    expect(slot.current).toBeUndefined();
  });
});

// Hot swap: the serving model lives in a slot. A batch acquires the model once and uses it for its
// whole run, so a swap takes effect between batches (no reading is scored by two versions or
// dropped); the old session is released once the last batch holding it finishes.
import type { LoadedModel } from './model.ts';

export interface ModelLease {
  readonly model: LoadedModel;
  release(): void;
}

export class ModelSlot {
  #current: LoadedModel | undefined;
  readonly #leases = new Map<LoadedModel, number>();
  readonly #retired = new Set<LoadedModel>();

  get current(): LoadedModel | undefined {
    return this.#current;
  }

  /** The model for one batch, or undefined when none serves (fallback rules apply). */
  acquire(): ModelLease | undefined {
    const model = this.#current;
    if (!model) return undefined;
    this.#leases.set(model, (this.#leases.get(model) ?? 0) + 1);
    let released = false;
    return {
      model,
      release: () => {
        if (released) return;
        released = true;
        const left = this.#leases.get(model)! - 1;
        if (left > 0) return void this.#leases.set(model, left);
        this.#leases.delete(model);
        if (this.#retired.delete(model)) void model.release();
      },
    };
  }

  /** Atomically installs `next`; the previous model is released when no batch holds it. */
  swap(next: LoadedModel | undefined): LoadedModel | undefined {
    const previous = this.#current;
    this.#current = next;
    if (previous && previous !== next) {
      if (this.#leases.has(previous)) this.#retired.add(previous);
      else void previous.release();
    }
    return previous;
  }
}

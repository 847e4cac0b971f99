/**
 * Which fleet each model scores ("ns/model" → fleet name), kept by the model reconciler and the
 * fleet controller's model watch (which sees a new model first). It maps a
 * SensorFleet change to the models to reconcile, and a runtime's telemetry (which names its model)
 * to the fleet whose status it feeds.
 */
export class ModelFleetIndex {
  readonly #fleetOf = new Map<string, string>();

  set(modelKey: string, fleet: string): void {
    this.#fleetOf.set(modelKey, fleet);
  }

  remove(modelKey: string): void {
    this.#fleetOf.delete(modelKey);
  }

  fleetOf(namespace: string, model: string): string | undefined {
    return this.#fleetOf.get(`${namespace}/${model}`);
  }

  /** Keys of every model the reconciler has seen (and not seen deleted). */
  all(): string[] {
    return [...this.#fleetOf.keys()];
  }

  /** Keys of the models bound to `namespace/fleet`. */
  modelsOf(namespace: string, fleet: string): string[] {
    const prefix = `${namespace}/`;
    return [...this.#fleetOf].filter(([key, f]) => f === fleet && key.startsWith(prefix)).map(([key]) => key);
  }
}

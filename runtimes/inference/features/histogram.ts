import type { HistogramSnapshot } from '../../../contracts/telemetry.ts';
// Fixed-edge histogram for telemetry: counts[0] is below edges[0], counts[i] is [edges[i-1], edges[i]),
// and the last count is at or above the last edge. Compact and mergeable by the operator.

export class Histogram {
  readonly edges: Float64Array;
  readonly counts: Float64Array;
  count = 0;
  sum = 0;

  constructor(edges: readonly number[]) {
    this.edges = Float64Array.from(edges);
    this.counts = new Float64Array(edges.length + 1);
  }

  observe(value: number): void {
    if (Number.isNaN(value)) return;
    let lo = 0;
    let hi = this.edges.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (value < this.edges[mid]!) hi = mid;
      else lo = mid + 1;
    }
    this.counts[lo]! += 1;
    this.count += 1;
    this.sum += value;
  }

  snapshot(): HistogramSnapshot {
    return {
      edges: Array.from(this.edges),
      counts: Array.from(this.counts),
      count: this.count,
      sum: this.sum,
    };
  }
}

/** Latency buckets in milliseconds, fine below the 2 ms event-loop budget. */
export const LATENCY_EDGES_MS = [0.25, 0.5, 1, 2, 5, 10, 25, 50, 100, 250, 1000];

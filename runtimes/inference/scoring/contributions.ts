// Per-feature contributions to a prediction, in score units: how much each feature moves the score
// away from the score at the baseline. A "feature" is a contribution group: by default a sensor
// feature with every model input derived from it (`vibration`, `vibration.mean`, `vibration.std`
// together; every `<feature>.count_since_maintenance` forms the `since_maintenance` group), or each
// model input on its own. Exact for models whose metadata declares them linear;
// otherwise occlusion: the same row with one group's inputs replaced by their baseline, all
// variants of a batch scored in the batch's single ORT run — one extra row per group, so grouping
// by sensor feature also divides the cost of explaining by the inputs per feature.

export type ContributionGranularity = 'feature' | 'input';

export interface ContributionGroups {
  /** Group names, the keys of a prediction's contributions, in first-seen input order. */
  readonly names: readonly string[];
  /** Model input indices of each group. */
  readonly members: readonly (readonly number[])[];
}

/** Readings since the last maintenance label carry the machine's age, not its sensor's signal. */
export const MAINTENANCE_GROUP = 'since_maintenance';

/** The sensor feature a model input derives from: `vibration.mean`, `vibration.rms@1h`, `vibration@1h` → `vibration`. */
const featureOf = (input: string): string => {
  if (/\.count_since_maintenance(@|$)/.test(input)) return MAINTENANCE_GROUP;
  const end = input.search(/[.@]/);
  return end < 0 ? input : input.slice(0, end);
};

export function contributionGroups(
  inputs: readonly string[],
  granularity: ContributionGranularity,
): ContributionGroups {
  if (granularity === 'input') return { names: inputs, members: inputs.map((_, j) => [j]) };
  const index = new Map<string, number[]>();
  inputs.forEach((input, j) => {
    const name = featureOf(input);
    const members = index.get(name);
    if (members) members.push(j);
    else index.set(name, [j]);
  });
  return { names: [...index.keys()], members: [...index.values()] };
}

/** c[r, g] = Σ_{j ∈ g} w[j] · (x[r, j] − baseline[j]); they sum to score(x) − score(baseline). */
export function linearContributions(
  coefficients: ArrayLike<number>,
  baseline: ArrayLike<number>,
  rows: Float32Array,
  n: number,
  width: number,
  groups: ContributionGroups,
): Float32Array {
  const g = groups.members.length;
  const out = new Float32Array(n * g);
  for (let r = 0; r < n; r++) {
    for (let k = 0; k < g; k++) {
      let sum = 0;
      for (const j of groups.members[k]!) sum += coefficients[j]! * (rows[r * width + j]! - baseline[j]!);
      out[r * g + k] = sum;
    }
  }
  return out;
}

/** Writes, after the n original rows in `buffer`, n × groups variants: row r with group k's inputs at baseline. */
export function writeOcclusionVariants(
  buffer: Float32Array,
  n: number,
  width: number,
  baseline: ArrayLike<number>,
  groups: ContributionGroups,
): void {
  let at = n * width;
  for (let r = 0; r < n; r++) {
    const start = r * width;
    for (const members of groups.members) {
      // copyWithin, not set(subarray): no view object per row (the bench's batch writes 2304 variants).
      buffer.copyWithin(at, start, start + width);
      for (const j of members) buffer[at + j] = baseline[j]!;
      at += width;
    }
  }
}

/** c[r, k] = score(row r) − score(row r with group k occluded); variant scores follow the n originals. */
export function occlusionContributions(scores: ArrayLike<number>, n: number, groups: number): Float32Array {
  const out = new Float32Array(n * groups);
  for (let r = 0; r < n; r++) {
    const base = scores[r]!;
    for (let k = 0; k < groups; k++) out[r * groups + k] = base - scores[n + r * groups + k]!;
  }
  return out;
}

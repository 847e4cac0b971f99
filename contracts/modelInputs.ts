// How a model input names what it reads, for the operator (checks against the fleet), the runtime
// config (checks) and the runtime (fills rows), so all three agree:
//   temperature          the latest value of a feature
//   vibration.rms        an aggregation over the feature's window named `default`, or its only window
//   vibration.rms@1h     an aggregation over the feature's window named `1h`
// A sequence model ([N, T, F]) reads the last T raw values of a window per input instead:
//   vibration            the feature's window named `default`, or its only window
//   vibration@1h         the feature's window named `1h`

/** The aggregations a window computes; the API and the runtime config offer exactly these. */
export const AGGREGATIONS = [
  'mean',
  'std',
  'min',
  'max',
  'rms',
  'kurtosis',
  'slope',
  'count_since_maintenance',
] as const;
export type Aggregation = (typeof AGGREGATIONS)[number];

/** Feature names become JSON keys in readings and parts of model input names, so they stay identifier-like. */
export const FEATURE_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_]*$';
/** Window names follow `@` in input names: short, lower case (5m, 1h, last-30). */
export const WINDOW_NAME_PATTERN = '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$';
/** A model input: `temperature`, `vibration.rms` or `vibration.rms@1h`. */
export const MODEL_INPUT_PATTERN = `${FEATURE_NAME_PATTERN.slice(0, -1)}(\\.(${AGGREGATIONS.join('|')}))?(@${WINDOW_NAME_PATTERN.slice(1, -1)})?$`;

/** The name a window gets when none is given. */
export const DEFAULT_WINDOW_NAME = 'default';

/** What input resolution needs to know about a window. */
export interface WindowRef {
  feature: string;
  name?: string | undefined;
  size?: number;
  aggregations: readonly string[];
}

export type ResolvedInput =
  | { ok: true; kind: 'latest'; feature: string }
  | { ok: true; kind: 'window'; feature: string; window: number; aggregation: Aggregation }
  /** `vibration@1h`: a window's raw values, which only a sequence model reads. */
  | { ok: true; kind: 'samples'; feature: string; window: number }
  | { ok: false; problem: string };

export function windowName(w: Pick<WindowRef, 'name'>): string {
  return w.name ?? DEFAULT_WINDOW_NAME;
}

/** Resolves one input name against the declared features and windows. */
export function resolveInput(
  input: string,
  features: ReadonlySet<string>,
  windows: readonly WindowRef[],
): ResolvedInput {
  const at = input.indexOf('@');
  const path = at < 0 ? input : input.slice(0, at);
  const wanted = at < 0 ? undefined : input.slice(at + 1);
  const dot = path.indexOf('.');
  const feature = dot < 0 ? path : path.slice(0, dot);
  if (!features.has(feature)) return { ok: false, problem: `no feature ${feature}` };
  if (dot < 0 && wanted === undefined) return { ok: true, kind: 'latest', feature };
  const aggregation = dot < 0 ? undefined : path.slice(dot + 1);
  if (aggregation !== undefined && !(AGGREGATIONS as readonly string[]).includes(aggregation))
    return { ok: false, problem: `unknown aggregation ${aggregation}` };
  const found = findWindow(feature, wanted, windows, aggregation ?? '');
  if (!found.ok) return found;
  const index = found.window;
  if (aggregation === undefined) return { ok: true, kind: 'samples', feature, window: index };
  if (!windows[index]!.aggregations.includes(aggregation))
    return {
      ok: false,
      problem: `window ${windowName(windows[index]!)} over ${feature} does not compute ${aggregation}`,
    };
  return { ok: true, kind: 'window', feature, window: index, aggregation: aggregation as Aggregation };
}

/** The window over `feature` named `wanted`, else its only one or the one named default. */
function findWindow(
  feature: string,
  wanted: string | undefined,
  windows: readonly WindowRef[],
  aggregation: string,
): { ok: true; window: number } | { ok: false; problem: string } {
  const own = windows.flatMap((w, i) => (w.feature === feature ? [i] : []));
  const index =
    wanted !== undefined
      ? own.find((i) => windowName(windows[i]!) === wanted)
      : own.length === 1
        ? own[0]
        : own.find((i) => windowName(windows[i]!) === DEFAULT_WINDOW_NAME);
  if (index !== undefined) return { ok: true, window: index };
  if (own.length === 0) return { ok: false, problem: `no window over ${feature}` };
  const names = own.map((i) => windowName(windows[i]!)).join(', ');
  const example = `${feature}${aggregation ? `.${aggregation}` : ''}@${windowName(windows[own[0]!]!)}`;
  return {
    ok: false,
    problem:
      wanted !== undefined
        ? `no window named ${wanted} over ${feature} (its windows: ${names})`
        : `${feature} has several windows (${names}): name one, e.g. ${example}`,
  };
}

/**
 * What each input of a sequence model ([N, T, F]) reads: the last T raw values of a window over its
 * feature (`vibration`, or `vibration@1h`), which must keep at least T of them.
 */
export function resolveSequenceInputs(
  inputs: readonly string[],
  features: ReadonlySet<string>,
  windows: readonly WindowRef[],
  length: number,
): { ok: true; windows: number[] } | { ok: false; problems: string[] } {
  const resolved: number[] = [];
  const problems: string[] = [];
  for (const input of inputs) {
    const r = resolveInput(input, features, windows);
    if (!r.ok) {
      problems.push(`${input}: ${r.problem}`);
      continue;
    }
    if (r.kind === 'window') {
      problems.push(`${input}: a sequence model reads raw values, not an aggregation`);
      continue;
    }
    const found =
      r.kind === 'samples'
        ? { ok: true as const, window: r.window }
        : findWindow(r.feature, undefined, windows, '');
    if (!found.ok) {
      problems.push(`${input}: a sequence model reads a window of raw values: ${found.problem}`);
      continue;
    }
    const size = windows[found.window]!.size;
    if (size !== undefined && size < length) {
      problems.push(
        `${input}: the model takes the last ${length} readings but window ${windowName(windows[found.window]!)} over ${r.feature} keeps ${size}`,
      );
      continue;
    }
    resolved.push(found.window);
  }
  return problems.length === 0 ? { ok: true, windows: resolved } : { ok: false, problems };
}

/** Problems with the windows themselves: two windows of one feature need distinct names. */
export function windowNameClashes(windows: readonly WindowRef[]): { index: number; problem: string }[] {
  const seen = new Set<string>();
  const clashes: { index: number; problem: string }[] = [];
  windows.forEach((w, index) => {
    const key = `${w.feature}@${windowName(w)}`;
    if (seen.has(key))
      clashes.push({ index, problem: `feature ${w.feature} already has a window named ${windowName(w)}` });
    seen.add(key);
  });
  return clashes;
}

/**
 * `kubectl prognos status`: a MaintenanceModel's rollout as text, in the spirit of
 * `kubectl argo rollouts get rollout`. Pure (object and clock in, text out), so every state is tested.
 */
import type { Condition } from '../api/meta.ts';
import type { MaintenanceModel, MaintenanceModelStatus } from '../api/maintenanceModel.ts';
import { applicableActions } from './rolloutActions.ts';

type Rollout = NonNullable<MaintenanceModelStatus['rollout']>;
type AnalysisResult = NonNullable<Rollout['results']>[number];

/** Rows as columns padded to their widest cell (two spaces apart), each line indented. */
export function table(rows: string[][], indent = '  '): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) =>
    (
      indent + row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')
    ).trimEnd(),
  );
}

/** "3m", "2h5m", "4d": how long ago `time` was, as kubectl prints ages. */
export function age(time: string | undefined, now: Date): string {
  if (!time) return '-';
  const s = Math.max(0, Math.floor((now.getTime() - Date.parse(time)) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h}h${m % 60}m` : `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

const short = (sha: string | undefined): string => (sha ? sha.slice(0, 12) : '-');
const percent = (v: number | undefined): string =>
  v === undefined ? '-' : `${Number((v * 100).toPrecision(3))}%`;
const num = (v: number | undefined, unit = ''): string => (v === undefined ? '-' : `${v}${unit}`);

function condition(status: MaintenanceModelStatus, type: string): Condition | undefined {
  return status.conditions?.find((c) => c.type === type);
}

/** The phase with why: the Progressing condition's message while it explains the phase. */
function phaseLine(model: MaintenanceModel): string {
  const status = model.status;
  if (!status?.phase) return 'Unknown (the operator has not reported status yet)';
  const gen = model.metadata.generation;
  const stale =
    gen !== undefined && (status.observedGeneration ?? 0) < gen
      ? ` (status is of generation ${status.observedGeneration ?? '-'}, spec is at ${gen})`
      : '';
  return `${status.phase}${stale}`;
}

function stepLines(model: MaintenanceModel, rollout: Rollout | undefined, now: Date): string[] {
  const steps = model.spec.rollout?.steps ?? [];
  const rows: string[][] = [['', 'STEP', 'WEIGHT', 'PAUSE', 'STATE']];
  const current = rollout?.strategy === 'Canary' ? rollout.step : undefined;
  const stateOf = (i: number, pause: string): string => {
    if (current === undefined || i > current) return '';
    if (i < current) return 'done';
    if (rollout?.paused) return 'paused';
    return `${age(rollout?.stepStartedAt, now)} of ${pause}`;
  };
  steps.forEach((s, i) =>
    rows.push([i === current ? '→' : ' ', String(i + 1), `${s.weight}%`, s.pause, stateOf(i, s.pause)]),
  );
  // After the last step the new version takes 100%: shown as the final step.
  rows.push([
    current === steps.length ? '→' : ' ',
    String(steps.length + 1),
    '100%',
    '-',
    current === steps.length ? 'promoting' : '',
  ]);
  return ['Steps:', ...table(rows)];
}

function resultLines(title: string, results: AnalysisResult[]): string[] {
  const rows = [
    ['TIME', 'SAMPLES', 'VERDICT', 'FAILS', 'ERRORS', 'DLQ', 'P99', 'DIVERGENCE', 'AGREEMENT', 'MESSAGE'],
  ];
  for (const r of results) {
    rows.push([
      r.time,
      String(r.samples),
      r.verdict,
      String(r.consecutiveFailures),
      percent(r.errorRate),
      percent(r.deadLetterRate),
      num(r.p99LatencyMs, 'ms'),
      num(r.scoreDivergence),
      percent(r.shadowAgreement),
      r.message ?? '',
    ]);
  }
  return [title, ...table(rows)];
}

function rolloutLines(model: MaintenanceModel, rollout: Rollout, now: Date): string[] {
  const t = rollout.target;
  const lines = [
    `Rollout:         ${rollout.strategy} of ${rollout.source === 'Candidate' ? 'candidate ' : ''}${t.version} (sha256 ${short(t.sha256)}) ${t.uri}`,
    `  Started:       ${rollout.startedAt} (${age(rollout.startedAt, now)} ago)`,
  ];
  if (rollout.strategy === 'Canary') {
    const steps = model.spec.rollout?.steps?.length ?? 0;
    lines.push(`  Step:          ${Math.min(rollout.step + 1, steps + 1)}/${steps + 1}`);
  } else {
    const duration = model.spec.rollout?.shadowDuration;
    lines.push(
      `  Shadow:        since ${rollout.stepStartedAt} (${age(rollout.stepStartedAt, now)} of ${duration ?? '-'})`,
    );
  }
  lines.push(`  Weight:        ${rollout.weight}%`);
  lines.push(
    `  Ready:         ${rollout.readySince ? `every pod since ${rollout.readySince}` : 'not every pod is ready yet'}`,
  );
  if (rollout.paused) lines.push('  Paused:        yes (kubectl prognos resume to continue)');
  return lines;
}

/** The status of one model as `kubectl prognos status` prints it. */
export function renderStatus(model: MaintenanceModel, now: Date): string {
  const status = model.status ?? {};
  const rollout = status.rollout;
  const lines = [
    `Name:            ${model.metadata.name}`,
    `Namespace:       ${model.metadata.namespace ?? '-'}`,
    `Phase:           ${phaseLine(model)}`,
  ];
  // Why the phase is what it is: the rollout's condition, else what keeps the model from Ready.
  const ready = condition(status, 'Ready');
  const why = condition(status, 'Progressing') ?? (ready?.status === 'True' ? undefined : ready);
  if (why) lines.push(`Message:         ${why.reason}: ${why.message}`);
  lines.push(
    `Strategy:        ${model.spec.rollout?.strategy ?? 'none (a new spec.model replaces the stable)'}`,
  );
  const spec = model.spec.model;
  lines.push(`Spec model:      ${spec.version} (sha256 ${short(spec.sha256)})`);
  const candidate = model.spec.rollout?.candidate;
  if (candidate)
    lines.push(
      `Candidate:       ${candidate.version} (sha256 ${short(candidate.sha256)}), spec.rollout.candidate`,
    );
  const stable = status.stable;
  lines.push(
    `Stable:          ${stable ? `${stable.version} (sha256 ${short(stable.sha256)})${stable.since ? ` since ${stable.since}` : ''}` : '-'}`,
  );
  const canary = status.canary;
  if (canary)
    lines.push(
      `Canary:          ${canary.version} (sha256 ${short(canary.sha256)}) at ${canary.weight}%, step ${canary.step + 1}`,
    );
  if (status.shadow)
    lines.push(`Shadow:          ${status.shadow.version} (sha256 ${short(status.shadow.sha256)})`);
  if (status.endpoint) lines.push(`Endpoint:        ${status.endpoint}`);
  if (rollout) lines.push(...rolloutLines(model, rollout, now));

  if (model.spec.rollout?.strategy === 'Canary') lines.push('', ...stepLines(model, rollout, now));
  if (rollout?.results?.length) lines.push('', ...resultLines('Analysis (newest first):', rollout.results));
  // A rollout that ended leaves only its last analysis (status.analysis), e.g. the one that failed.
  else if (!rollout && status.analysis) lines.push('', ...resultLines('Last analysis:', [status.analysis]));

  const rb = status.rolledBack;
  if (rb) {
    const retry = status.phase === 'RolledBack' ? '; kubectl prognos retry to roll it out again' : '';
    lines.push('', `Rolled back:     ${rb.version} (sha256 ${short(rb.sha256)}) at ${rb.time}${retry}`);
    lines.push(`  ${rb.reason}: ${rb.message}`);
  }
  const p = status.promotable;
  if (p) {
    lines.push('', `Promotable:      ${p.version} passed; to promote it, set spec.model to:`);
    lines.push(`  version: ${p.version}`, `  uri: ${p.uri}`, `  sha256: ${p.sha256}`);
  }
  if (status.history?.length) {
    const rows = [['TIME', 'EVENT', 'VERSION', 'MESSAGE']];
    for (const h of status.history) rows.push([h.time, h.event, h.version, h.message ?? '']);
    lines.push('', 'History (newest first):', ...table(rows));
  }
  if (status.conditions?.length) {
    const rows = [['TYPE', 'STATUS', 'REASON', 'AGE', 'MESSAGE']];
    for (const c of status.conditions)
      rows.push([c.type, c.status, c.reason, age(c.lastTransitionTime, now), c.message]);
    lines.push('', 'Conditions:', ...table(rows));
  }
  const actions = applicableActions(model);
  lines.push('', `Actions:         ${actions.length ? actions.join(', ') : 'none apply now'}`);
  return lines.join('\n') + '\n';
}

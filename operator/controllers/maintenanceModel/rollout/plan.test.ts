import { describe, expect, it } from 'vitest';
import { Value } from '@sinclair/typebox/value';
import {
  MaintenanceModelSpec,
  ROLLOUT_ANNOTATIONS,
  type MaintenanceModel,
  type MaintenanceModelStatus,
} from '../../../api/maintenanceModel.ts';
import { EMPTY_MEASUREMENT, type Measurement } from './analysis.ts';
import {
  CANDIDATE_SCALE_DOWN_DELAY_MS,
  planRollout,
  type RolloutInputs,
  type RolloutPlan,
  type RolloutStatus,
} from './plan.ts';

const T0 = new Date('2026-12-03T10:00:00Z');
const at = (s: number) => new Date(T0.getTime() + s * 1000);
const iso = (s: number) => at(s).toISOString().replace('.000Z', 'Z');
const sha = (c: string) => c.repeat(64);
const STABLE = { version: 'v1', uri: 'file:///m/v1.onnx', sha256: sha('a'), inputs: ['x'] };
const V2 = { version: 'v2', uri: 'file:///m/v2.onnx', sha256: sha('b') };
const V3 = { version: 'v3', uri: 'file:///m/v3.onnx', sha256: sha('c') };

function model(opts: { status?: MaintenanceModelStatus; annotations?: string[]; rollout?: object } = {}) {
  const spec = Value.Default(MaintenanceModelSpec, {
    fleetRef: { name: 'f' },
    task: 'regression',
    model: { ...V2, inputs: ['x'] },
    thresholds: { warning: 50, critical: 20 },
    rollout: opts.rollout ?? {
      strategy: 'Canary',
      steps: [
        { weight: 10, pause: '1m' },
        { weight: 50, pause: '1m' },
      ],
      analysis: { interval: '10s', minSamples: 100, failureLimit: 2, maxErrorRate: 0.01 },
    },
  }) as MaintenanceModelSpec;
  const m: MaintenanceModel = {
    apiVersion: 'prognos.dev/v1alpha1',
    kind: 'MaintenanceModel',
    metadata: {
      name: 'm',
      namespace: 'ns',
      generation: 2,
      annotations: Object.fromEntries(
        (opts.annotations ?? []).map((a) => [
          ROLLOUT_ANNOTATIONS[a as keyof typeof ROLLOUT_ANNOTATIONS],
          'x',
        ]),
      ),
    },
    spec,
    ...(opts.status ? { status: opts.status } : {}),
  };
  return m;
}

const healthy: Measurement = { ...EMPTY_MEASUREMENT, messages: 500, predictions: 500 };
const failing: Measurement = { ...EMPTY_MEASUREMENT, messages: 500, predictions: 500, fallback: 250 };

function inputs(m: MaintenanceModel, now: Date, over: Partial<RolloutInputs> = {}): RolloutInputs {
  return {
    model: m,
    stable: STABLE,
    target: { artifact: V2, source: 'Spec' },
    candidateReady: () => true,
    stableRunsTarget: false,
    partitions: 10,
    inputMode: 'jetstream',
    measure: () => healthy,
    now,
    ...over,
  };
}

function running(over: Partial<RolloutStatus> = {}): RolloutStatus {
  return {
    strategy: 'Canary',
    source: 'Spec',
    target: V2,
    stable: STABLE,
    startedAt: iso(0),
    step: 0,
    stepStartedAt: iso(5),
    weight: 10,
    readySince: iso(5),
    ...over,
  };
}

const condition = (p: RolloutPlan, type: string) => p.conditions.find((c) => c.type === type);

describe('planRollout', () => {
  it('does nothing without a new version', () => {
    const p = planRollout(inputs(model(), T0, { target: undefined }));
    expect(p.rollout).toBeUndefined();
    expect(p.split).toBe('stable-only');
    expect(p.candidate).toBe('remove');
    expect(p.events).toEqual([]);
  });

  it('starts a rollout: the candidate runs, no traffic until it is ready', () => {
    const p = planRollout(inputs(model(), T0, { candidateReady: () => false }));
    expect(p.rollout).toMatchObject({ target: V2, stable: STABLE, step: 0, weight: 0, startedAt: iso(0) });
    expect(p.candidate).toBe('run');
    expect(p.split).toBe('stable-only');
    expect(p.phase).toBe('Progressing');
    expect(p.events.map((e) => e.reason)).toEqual(['RolloutStarted']);
    expect(condition(p, 'Progressing')).toMatchObject({ status: 'True', reason: 'WaitingForCandidate' });
  });

  it('gives the first step its weight at the partition grain once the candidate is ready', () => {
    const m = model({
      status: { rollout: running({ weight: 0, readySince: undefined, stepStartedAt: iso(0) }) },
    });
    const p = planRollout(inputs(m, at(5)));
    expect(p.rollout).toMatchObject({ weight: 10, readySince: iso(5), stepStartedAt: iso(5) });
    expect(p.split).toEqual({
      stable: { version: 'v1' },
      canary: { version: 'v2', weight: 10, partitions: 1 },
    });
  });

  it('rounds the weight to whole partitions and reports what it got', () => {
    const m = model({ status: { rollout: running({ weight: 0, readySince: undefined }) } });
    const p = planRollout(inputs(m, at(5), { partitions: 4 }));
    expect(p.split).toEqual({
      stable: { version: 'v1' },
      canary: { version: 'v2', weight: 25, partitions: 1 },
    });
    expect(p.rollout?.weight).toBe(25);
  });

  it('splits by machine bucket on core NATS (exact weight)', () => {
    const m = model({ status: { rollout: running({ weight: 0, readySince: undefined }) } });
    const p = planRollout(inputs(m, at(5), { inputMode: 'core', partitions: 1 }));
    expect(p.split).toEqual({ stable: { version: 'v1' }, canary: { version: 'v2', weight: 10 } });
  });

  it('refuses a JetStream canary on an unpartitioned stream, naming the fix', () => {
    const p = planRollout(inputs(model(), T0, { partitions: 1 }));
    expect(p.rollout).toBeUndefined();
    expect(condition(p, 'Progressing')).toMatchObject({ status: 'False', reason: 'RolloutRefused' });
    expect(condition(p, 'Progressing')?.message).toContain('spec.stream.partitions');
  });

  it('records one analysis per interval', () => {
    const m = model({ status: { rollout: running() } });
    const early = planRollout(inputs(m, at(10)));
    expect(early.rollout?.results).toBeUndefined();
    const p = planRollout(inputs(m, at(15)));
    expect(p.rollout?.results).toEqual([
      expect.objectContaining({ time: iso(15), verdict: 'Passed', samples: 500, consecutiveFailures: 0 }),
    ]);
  });

  it('measures the canary and the stable over the interval just ended', () => {
    const calls: unknown[] = [];
    const m = model({ status: { rollout: running() } });
    planRollout(
      inputs(m, at(40), {
        measure: (role, version, from, to) => {
          calls.push([role, version, from, to]);
          return healthy;
        },
      }),
    );
    expect(calls).toEqual([
      ['canary', 'v2', at(30).getTime(), at(40).getTime()],
      ['stable', 'v1', at(30).getTime(), at(40).getTime()],
    ]);
  });

  it('keeps an inconclusive interval from passing the step', () => {
    const m = model({ status: { rollout: running() } });
    const p = planRollout(inputs(m, at(70), { measure: () => ({ ...healthy, predictions: 10 }) }));
    expect(p.rollout?.results?.[0]).toMatchObject({ verdict: 'Inconclusive', consecutiveFailures: 0 });
    expect(p.rollout?.step).toBe(0);
  });

  it('moves to the next step when the pause is over and the latest interval passed', () => {
    const results = [{ time: iso(60), samples: 500, verdict: 'Passed' as const, consecutiveFailures: 0 }];
    const m = model({ status: { rollout: running({ results }) } });
    const p = planRollout(inputs(m, at(66)));
    expect(p.rollout).toMatchObject({ step: 1, weight: 50, stepStartedAt: iso(66) });
    expect(p.split).toMatchObject({ canary: { weight: 50, partitions: 5 } });
    expect(p.events.map((e) => e.reason)).toEqual(['StepCompleted']);
  });

  it('counts failures in a row and rolls back at failureLimit, naming the check', () => {
    const once = planRollout(
      inputs(model({ status: { rollout: running() } }), at(15), { measure: () => failing }),
    );
    expect(once.rollout?.results?.[0]).toMatchObject({ verdict: 'Failed', consecutiveFailures: 1 });
    expect(once.rollout?.results?.[0]?.message).toBe('errorRate 0.5 > maxErrorRate 0.01');
    const twice = planRollout(
      inputs(model({ status: { rollout: once.rollout! } }), at(25), { measure: () => failing }),
    );
    expect(twice.rollout).toBeUndefined();
    expect(twice.split).toBe('stable-only');
    expect(twice.candidate).toBe('drain');
    expect(twice.phase).toBe('RollingBack');
    expect(twice.rolledBack).toMatchObject({ version: 'v2', reason: 'AnalysisFailed', time: iso(25) });
    expect(twice.rolledBack?.message).toContain('errorRate 0.5 > maxErrorRate 0.01');
    expect(twice.history).toEqual([expect.objectContaining({ event: 'RolledBack', version: 'v2' })]);
    expect(twice.events[0]).toMatchObject({ type: 'Warning', reason: 'AnalysisFailed' });
  });

  it('a pass resets the failure count', () => {
    const results = [{ time: iso(15), samples: 500, verdict: 'Failed' as const, consecutiveFailures: 1 }];
    const p = planRollout(inputs(model({ status: { rollout: running({ results }) } }), at(25)));
    expect(p.rollout?.results?.[0]).toMatchObject({ verdict: 'Passed', consecutiveFailures: 0 });
  });

  it('keeps at most 10 analysis results', () => {
    const results = Array.from({ length: 10 }, (_, k) => ({
      time: iso(20 - k),
      samples: 500,
      verdict: 'Inconclusive' as const,
      consecutiveFailures: 0,
    }));
    const p = planRollout(inputs(model({ status: { rollout: running({ results }) } }), at(40)));
    expect(p.rollout?.results).toHaveLength(10);
    expect(p.rollout?.results?.[0]?.time).toBe(iso(40));
  });

  it('after the last step the canary holds 100% while the stable Deployment rolls to the target', () => {
    const results = [{ time: iso(130), samples: 500, verdict: 'Passed' as const, consecutiveFailures: 0 }];
    const m = model({
      status: { rollout: running({ step: 1, stepStartedAt: iso(70), weight: 50, results }) },
    });
    const p = planRollout(inputs(m, at(135)));
    expect(p.rollout).toMatchObject({ step: 2, weight: 100 });
    expect(p.stableServes).toBe('target');
    expect(p.split).toMatchObject({ canary: { weight: 100, partitions: 10 } });
    expect(p.promoted).toBe(false);
  });

  it('promotes once every stable pod runs the target: history, event, split back to the stable path', () => {
    const m = model({ status: { rollout: running({ step: 2, weight: 100 }) } });
    const waiting = planRollout(inputs(m, at(140)));
    expect(waiting.promoted).toBe(false);
    expect(condition(waiting, 'Progressing')).toMatchObject({ reason: 'Promoting' });
    const done = planRollout(inputs(m, at(150), { stableRunsTarget: true }));
    expect(done.promoted).toBe(true);
    expect(done.rollout).toBeUndefined();
    expect(done.stableServes).toBe('target');
    expect(done.split).toBe('stable-only');
    expect(done.candidate).toBe('remove');
    expect(done.history).toEqual([expect.objectContaining({ event: 'Promoted', version: 'v2' })]);
    expect(condition(done, 'Progressing')).toMatchObject({ status: 'False', reason: 'RolloutCompleted' });
  });

  it('reports a passing rollout.candidate as promotable and returns the fleet to the stable', () => {
    const results = [{ time: iso(130), samples: 500, verdict: 'Passed' as const, consecutiveFailures: 0 }];
    const m = model({
      status: {
        rollout: running({ source: 'Candidate', step: 1, stepStartedAt: iso(70), weight: 50, results }),
      },
    });
    const p = planRollout(inputs(m, at(135), { target: { artifact: V2, source: 'Candidate' } }));
    expect(p.rollout).toBeUndefined();
    expect(p.promotable).toEqual(V2);
    expect(p.split).toBe('stable-only');
    expect(p.candidate).toBe('remove');
    expect(p.phase).toBe('Paused');
    expect(condition(p, 'Promotable')).toMatchObject({ status: 'True', reason: 'CandidatePassed' });
    expect(condition(p, 'Promotable')?.message).toContain(`sha256 ${V2.sha256}`);
    // Reported until spec.model takes it; nothing runs meanwhile.
    const later = planRollout(
      inputs(model({ status: { promotable: V2 } }), at(200), {
        target: { artifact: V2, source: 'Candidate' },
      }),
    );
    expect(later).toMatchObject({ promotable: V2, phase: 'Paused', candidate: 'remove', rollout: undefined });
  });

  it('rolls back a candidate that is not ready within the progress deadline', () => {
    const m = model({
      status: { rollout: running({ weight: 0, readySince: undefined, stepStartedAt: iso(0) }) },
    });
    const waiting = planRollout(inputs(m, at(599), { candidateReady: () => false }));
    expect(waiting.rollout).toBeDefined();
    const late = planRollout(inputs(m, at(601), { candidateReady: () => false }));
    expect(late.rolledBack).toMatchObject({ reason: 'ProgressDeadlineExceeded' });
    expect(late.split).toBe('stable-only');
  });

  it('takes the weight away from a candidate that stops being ready', () => {
    const p = planRollout(
      inputs(model({ status: { rollout: running() } }), at(30), { candidateReady: () => false }),
    );
    expect(p.split).toBe('stable-only');
    expect(p.rollout).toMatchObject({ weight: 0, stepStartedAt: iso(30) });
    expect(p.rollout?.readySince).toBeUndefined();
  });

  it('aborts a rollout whose version is replaced mid-way and starts the newest', () => {
    const m = model({ status: { rollout: running() } });
    const p = planRollout(inputs(m, at(30), { target: { artifact: V3, source: 'Spec' } }));
    expect(p.history).toEqual([expect.objectContaining({ event: 'Aborted', version: 'v2' })]);
    expect(p.rollout).toMatchObject({ target: V3, step: 0, startedAt: iso(30) });
    expect(p.events.map((e) => e.reason)).toEqual(['RolloutAborted', 'RolloutStarted']);
  });

  it('keeps a rolled-back version from coming back: draining, then RolledBack', () => {
    const rolledBack = {
      version: 'v2',
      sha256: V2.sha256,
      time: iso(0),
      reason: 'AnalysisFailed',
      message: 'x',
    };
    const draining = planRollout(inputs(model({ status: { rolledBack } }), at(10)));
    expect(draining).toMatchObject({ phase: 'RollingBack', candidate: 'drain', rollout: undefined });
    const later = planRollout(
      inputs(model({ status: { rolledBack } }), at(CANDIDATE_SCALE_DOWN_DELAY_MS / 1000 + 1)),
    );
    expect(later).toMatchObject({ phase: 'RolledBack', candidate: 'remove', rollout: undefined });
    expect(condition(later, 'Progressing')?.message).toContain(ROLLOUT_ANNOTATIONS.retry);
    // Another version is a new rollout; the memory goes.
    const other = planRollout(
      inputs(model({ status: { rolledBack } }), at(60), { target: { artifact: V3, source: 'Spec' } }),
    );
    expect(other.rolledBack).toBeUndefined();
    expect(other.rollout?.target).toEqual(V3);
  });

  it.each([
    ['abort', { rollout: undefined, phase: 'RollingBack' }, [ROLLOUT_ANNOTATIONS.abort]],
    ['pause', { phase: 'Paused' }, [ROLLOUT_ANNOTATIONS.pause]],
    ['promote', { phase: 'Progressing' }, [ROLLOUT_ANNOTATIONS.promote]],
    ['promoteFull', { stableServes: 'target' }, [ROLLOUT_ANNOTATIONS.promoteFull]],
  ] as const)('acts on the %s annotation and consumes it', (action, expected, consumed) => {
    const p = planRollout(inputs(model({ status: { rollout: running() }, annotations: [action] }), at(8)));
    expect(p).toMatchObject(expected);
    expect(p.consumed).toEqual(consumed);
  });

  it('pause holds the step; resume lets it go on', () => {
    const results = [{ time: iso(60), samples: 500, verdict: 'Passed' as const, consecutiveFailures: 0 }];
    const paused = planRollout(
      inputs(model({ status: { rollout: running({ results, paused: true }) } }), at(66)),
    );
    expect(paused.rollout).toMatchObject({ step: 0, paused: true });
    const resumed = planRollout(
      inputs(
        model({ status: { rollout: running({ results, paused: true }) }, annotations: ['resume'] }),
        at(66),
      ),
    );
    expect(resumed.rollout).toMatchObject({ step: 1 });
    expect(resumed.rollout?.paused).toBeUndefined();
    expect(resumed.consumed).toEqual([ROLLOUT_ANNOTATIONS.resume]);
  });

  it('promote moves one step; promote-full goes to 100%', () => {
    const one = planRollout(
      inputs(model({ status: { rollout: running() }, annotations: ['promote'] }), at(8)),
    );
    expect(one.rollout).toMatchObject({ step: 1, weight: 50 });
    const full = planRollout(
      inputs(model({ status: { rollout: running() }, annotations: ['promoteFull'] }), at(8)),
    );
    expect(full.rollout).toMatchObject({ step: 2, weight: 100 });
  });

  it('retry starts a rolled-back version again', () => {
    const rolledBack = { version: 'v2', sha256: V2.sha256, time: iso(0), reason: 'Aborted', message: 'x' };
    const p = planRollout(inputs(model({ status: { rolledBack }, annotations: ['retry'] }), at(100)));
    expect(p.rolledBack).toBeUndefined();
    expect(p.rollout).toMatchObject({ target: V2, step: 0 });
    expect(p.consumed).toEqual([ROLLOUT_ANNOTATIONS.retry]);
    expect(p.events.map((e) => e.reason)).toEqual(['RolloutRetried', 'RolloutStarted']);
  });

  it('resumes from status alone (an operator restart changes nothing)', () => {
    const m = model({ status: { rollout: running() } });
    const a = planRollout(inputs(m, at(12)));
    const b = planRollout(inputs(m, at(12)));
    expect(a).toEqual(b);
    expect(a.events).toEqual([]);
  });
});

describe('planRollout: Shadow', () => {
  const shadowSpec = {
    strategy: 'Shadow',
    shadowDuration: '1m',
    analysis: {
      interval: '10s',
      minSamples: 100,
      failureLimit: 2,
      maxErrorRate: 0.01,
      minShadowAgreement: 0.9,
    },
  };
  const agreeing: Measurement = { ...healthy, shadowCompared: 400, shadowAgreed: 390 };
  const shadowRun = (over: Partial<RolloutStatus> = {}) =>
    running({ strategy: 'Shadow', weight: 0, ...over });
  const shadowModel = (status?: MaintenanceModelStatus, annotations?: string[]) =>
    model({ rollout: shadowSpec, ...(status ? { status } : {}), ...(annotations ? { annotations } : {}) });

  it('starts a shadow: its own Deployment, no split until it is ready', () => {
    const p = planRollout(inputs(shadowModel(), T0, { candidateReady: (role) => role === 'canary' }));
    expect(p.rollout).toMatchObject({ strategy: 'Shadow', step: 0, weight: 0 });
    expect(p.candidateRole).toBe('shadow');
    expect(p.candidate).toBe('run');
    expect(p.split).toBe('stable-only');
    expect(p.events[0]).toMatchObject({
      reason: 'RolloutStarted',
      message: expect.stringMatching(/^shadow of v2/),
    });
  });

  it('once ready, the shadow reads every reading beside the stable and is measured as shadow', () => {
    const roles: string[] = [];
    const p = planRollout(
      inputs(shadowModel({ rollout: shadowRun() }), at(20), {
        measure: (role) => {
          roles.push(role);
          return agreeing;
        },
      }),
    );
    expect(p.split).toEqual({ stable: { version: 'v1' }, shadow: { version: 'v2' } });
    expect(p.rollout?.weight).toBe(0);
    expect(p.stableServes).toBe('stable');
    expect(roles).toEqual(['shadow', 'stable']);
    expect(p.rollout?.results?.[0]).toMatchObject({ verdict: 'Passed', shadowAgreement: 0.975 });
    expect(condition(p, 'Progressing')).toMatchObject({ status: 'True', reason: 'ShadowRun' });
  });

  it('too little agreement fails the interval; failureLimit of them roll back naming the check', () => {
    const disagreeing: Measurement = { ...healthy, shadowCompared: 400, shadowAgreed: 200 };
    const first = planRollout(
      inputs(shadowModel({ rollout: shadowRun() }), at(20), { measure: () => disagreeing }),
    );
    expect(first.rollout?.results?.[0]).toMatchObject({ verdict: 'Failed', consecutiveFailures: 1 });
    const second = planRollout(
      inputs(shadowModel({ rollout: first.rollout! }), at(30), { measure: () => disagreeing }),
    );
    expect(second.rolledBack).toMatchObject({ reason: 'AnalysisFailed', version: 'v2' });
    expect(second.rolledBack?.message).toMatch(/shadowAgreement 0.5 < minShadowAgreement 0.9/);
    expect(second.split).toBe('stable-only');
  });

  it('fewer pairs than minSamples is inconclusive, not passed', () => {
    const p = planRollout(
      inputs(shadowModel({ rollout: shadowRun() }), at(20), {
        measure: () => ({ ...healthy, shadowCompared: 50, shadowAgreed: 50 }),
      }),
    );
    expect(p.rollout?.results?.[0]).toMatchObject({ verdict: 'Inconclusive' });
  });

  it('after shadowDuration with a passed interval it hands over to a 100% canary, ready first', () => {
    const passed = { time: iso(60), samples: 500, verdict: 'Passed' as const, consecutiveFailures: 0 };
    const p = planRollout(
      inputs(shadowModel({ rollout: shadowRun({ results: [passed] }) }), at(66), {
        measure: () => agreeing,
      }),
    );
    expect(p.rollout).toMatchObject({ step: 1, weight: 0 });
    expect(p.rollout?.readySince).toBeUndefined();
    expect(p.candidateRole).toBe('canary');
    expect(p.split).toBe('stable-only');
    expect(p.stableServes).toBe('stable');
    expect(condition(p, 'Progressing')).toMatchObject({ reason: 'Promoting' });

    const waiting = planRollout(
      inputs(shadowModel({ rollout: p.rollout! }), at(70), { candidateReady: (role) => role === 'shadow' }),
    );
    expect(waiting.split).toBe('stable-only');
    expect(waiting.candidateRole).toBe('canary');

    const holding = planRollout(inputs(shadowModel({ rollout: p.rollout! }), at(75)));
    expect(holding.split).toEqual({
      stable: { version: 'v1' },
      canary: { version: 'v2', weight: 100, partitions: 10 },
    });
    expect(holding.stableServes).toBe('target');

    const done = planRollout(
      inputs(shadowModel({ rollout: holding.rollout! }), at(90), { stableRunsTarget: true }),
    );
    expect(done.promoted).toBe(true);
    expect(done.history[0]).toMatchObject({ event: 'Promoted', message: 'after a shadow run of 1m' });
  });

  it('a shadow needs no partitions: it runs on a one-partition stream', () => {
    const p = planRollout(inputs(shadowModel(), T0, { partitions: 1 }));
    expect(p.rollout).toBeDefined();
    expect(p.candidateRole).toBe('shadow');
  });

  it('a rollout.candidate that passes its shadow run is reported promotable', () => {
    const passed = { time: iso(60), samples: 500, verdict: 'Passed' as const, consecutiveFailures: 0 };
    const p = planRollout(
      inputs(shadowModel({ rollout: shadowRun({ source: 'Candidate', results: [passed] }) }), at(66), {
        target: { artifact: V2, source: 'Candidate' },
        measure: () => agreeing,
      }),
    );
    expect(p.promotable).toEqual(V2);
    expect(p.rollout).toBeUndefined();
    expect(p.candidate).toBe('remove');
  });
});

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { MaintenanceModel } from '../api/maintenanceModel.ts';
import { customizations, readObject } from '../argocd/customizations.ts';
import { age, renderStatus, table } from './render.ts';

// The sample objects of the Argo CD health tests: one per state a model can be in.
const dir = join(customizations().find((c) => c.kind === 'MaintenanceModel')!.dir, 'testdata');
const now = new Date('2026-12-02T10:15:00Z');
const render = (state: string) =>
  renderStatus(readObject(dir, `${state}.yaml`) as MaintenanceModel, now).split('\n');

describe('kubectl prognos status', () => {
  it('shows a paused canary like kubectl argo rollouts get rollout', () => {
    expect(render('suspended_paused').join('\n')).toBe(`Name:            pump-failure
Namespace:       plant-a
Phase:           Paused
Message:         RolloutPaused: paused by prognos.dev/pause at step 2/2 (50%)
Strategy:        Canary
Spec model:      v4 (sha256 bbbbbbbbbbbb)
Stable:          v3 (sha256 aaaaaaaaaaaa) since 2026-12-01T08:00:00Z
Canary:          v4 (sha256 bbbbbbbbbbbb) at 50%, step 2
Endpoint:        pump-failure.plant-a.svc:50051
Rollout:         Canary of v4 (sha256 bbbbbbbbbbbb) nats-os://prognos-models/pump/v4.onnx
  Started:       2026-12-02T10:00:00Z (15m ago)
  Step:          2/3
  Weight:        50%
  Ready:         every pod since 2026-12-02T10:01:30Z
  Paused:        yes (kubectl prognos resume to continue)

Steps:
     STEP  WEIGHT  PAUSE  STATE
     1     10%     5m     done
  →  2     50%     10m    paused
     3     100%    -

Analysis (newest first):
  TIME                  SAMPLES  VERDICT       FAILS  ERRORS  DLQ  P99    DIVERGENCE  AGREEMENT  MESSAGE
  2026-12-02T10:07:00Z  812      Passed        0      0.2%    0%   4.1ms  0.03        -
  2026-12-02T10:06:00Z  131      Inconclusive  0      -       -    -      -           -

History (newest first):
  TIME                  EVENT     VERSION  MESSAGE
  2026-12-01T08:00:00Z  Promoted  v3
  2026-11-20T09:30:00Z  Deployed  v2

Conditions:
  TYPE              STATUS  REASON                    AGE  MESSAGE
  FleetBound        True    FleetFound                15m  bound to SensorFleet pumps
  ArtifactVerified  True    DigestAndInputsVerified   15m  v4 (sha256 bbbbbbbbbbbb…) matches its digest and inputs
  Available         True    MinimumReplicasAvailable  15m  2 runtime pod(s) serving
  Ready             True    Serving                   15m  v3 serves on every replica
  Progressing       True    RolloutPaused             15m  paused by prognos.dev/pause at step 2/2 (50%)

Actions:         abort, resume
`);
  });

  it('marks the current canary step with how long it has run', () => {
    const out = render('progressing_canaryStep');
    expect(out).toContain('  →  1     10%     5m     10m of 5m');
    expect(out).toContain('Canary:          v4 (sha256 bbbbbbbbbbbb) at 10%, step 1');
    expect(out).toContain('  Weight:        10%');
    expect(out).toContain('Actions:         promote, promote-full, abort, pause');
  });

  it('shows a canary whose pods are not ready yet at 0%', () => {
    const out = render('progressing_waitingForCandidate');
    expect(out).toContain(
      'Message:         WaitingForCandidate: waiting for every pod of v4 (sha256 bbbbbbbbbbbb…) to be ready',
    );
    expect(out).toContain('  Ready:         not every pod is ready yet');
    expect(out).toContain('  Weight:        0%');
    expect(out).not.toContain('Analysis (newest first):');
  });

  it('shows a shadow run without steps, with its agreement', () => {
    const out = render('progressing_shadow');
    expect(out).toContain('Strategy:        Shadow');
    expect(out).toContain('  Shadow:        since 2026-12-02T10:02:00Z (13m of 30m)');
    expect(out).toContain('Shadow:          v4 (sha256 bbbbbbbbbbbb)');
    expect(out).not.toContain('Steps:');
    expect(out.find((l) => l.startsWith('  2026-12-02T10:14:00Z'))).toMatch(/Passed .* 99\.1%$/);
  });

  it('shows the analysis that failed while rolling back', () => {
    const out = render('degraded_rollingBack');
    expect(out).toContain('Phase:           RollingBack');
    expect(out).toContain('Last analysis:');
    expect(out).toContain(
      '  2026-12-02T10:09:00Z  640      Failed   3      0%      0%   27.3ms  -           -          p99 latency 27.3ms exceeds 20ms',
    );
    expect(out).toContain('Actions:         none apply now');
  });

  it('shows what was rolled back and that retry applies', () => {
    const out = render('degraded_rolledBack');
    expect(out).toContain(
      'Rolled back:     v4 (sha256 bbbbbbbbbbbb) at 2026-12-02T10:09:00Z; kubectl prognos retry to roll it out again',
    );
    expect(out).toContain(
      '  AnalysisFailed: 3 failed analysis interval(s) in a row (failureLimit 3): p99 latency 27.3ms exceeds 20ms',
    );
    expect(out).toContain(
      '  2026-12-02T10:09:00Z  RolledBack  v4       3 failed analysis interval(s) in a row (failureLimit 3): p99 latency 27.3ms exceeds 20ms',
    );
    expect(out).toContain('Actions:         retry');
  });

  it('shows a failed candidate and that retry applies', () => {
    const out = render('healthy_candidateRolledBack');
    expect(out).toContain(
      'Rolled back:     v5 (sha256 cccccccccccc) at 2026-12-02T10:09:00Z; kubectl prognos retry to roll it out again',
    );
    expect(out).toContain('Actions:         retry');
  });

  it('shows the last stage of a promotion at 100%, with only abort left', () => {
    const out = render('progressing_promoting');
    expect(out).toContain('  →  3     100%    -      promoting');
    expect(out).toContain('  Step:          3/3');
    expect(out).toContain('Actions:         abort');
  });

  it('shows a promotable candidate with exactly what to put into spec.model', () => {
    const out = render('suspended_promotable');
    expect(out).toContain('Candidate:       v5 (sha256 cccccccccccc), spec.rollout.candidate');
    const at = out.indexOf('Promotable:      v5 passed; to promote it, set spec.model to:');
    expect(out.slice(at + 1, at + 4)).toEqual([
      '  version: v5',
      '  uri: nats-os://prognos-models/pump/v5.onnx',
      `  sha256: ${'c'.repeat(64)}`,
    ]);
    expect(out).toContain('Actions:         none apply now');
  });

  it('shows a stable model with its steps unmarked and nothing to do', () => {
    const out = render('healthy_stable');
    expect(out).toContain('Phase:           Stable');
    expect(out.some((l) => l.startsWith('Message:'))).toBe(false);
    expect(out).toContain('     1     10%     5m');
    expect(out.some((l) => l.includes('→'))).toBe(false);
    expect(out).toContain('Actions:         none apply now');
  });

  it('says why a model is not ready when no rollout explains it', () => {
    const out = render('degraded_fallbackOnly');
    expect(out).toContain(
      'Message:         FallbackOnly: no verified model (ArtifactDigestMismatch); 1 fallback rule(s) score readings',
    );
    expect(out).toContain('Strategy:        none (a new spec.model replaces the stable)');
    expect(out).toContain('Stable:          -');
    expect(out.some((l) => l.startsWith('Steps:'))).toBe(false);
  });

  it('says when status is missing or stale', () => {
    expect(render('progressing_noStatus')).toContain(
      'Phase:           Unknown (the operator has not reported status yet)',
    );
    expect(render('progressing_newGeneration')).toContain(
      'Phase:           Stable (status is of generation 2, spec is at 3)',
    );
  });

  it.each(readdirSync(dir))('renders %s', (file) => {
    expect(renderStatus(readObject(dir, file) as MaintenanceModel, now)).toMatch(/^Name: {12}pump-failure\n/);
  });
});

describe('helpers', () => {
  it('pads columns but not the last', () => {
    expect(
      table([
        ['A', 'BB', 'C'],
        ['aaa', 'b', ''],
      ]),
    ).toEqual(['  A    BB  C', '  aaa  b']);
  });

  it('prints ages as kubectl does', () => {
    const t = (s: number) => new Date(now.getTime() - s * 1000).toISOString();
    expect([age(t(5), now), age(t(300), now), age(t(3 * 3600 + 120), now), age(t(3 * 86400), now)]).toEqual([
      '5s',
      '5m',
      '3h2m',
      '3d',
    ]);
    expect(age(undefined, now)).toBe('-');
  });
});

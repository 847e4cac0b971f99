import { describe, expect, it } from 'vitest';
import { modelFixture } from '../testdata/fixtures.ts';
import { desiredSplit } from './traffic/split.ts';
import { modelStatus, rolledOut, type DeploymentState, type ModelStatusInputs } from './status.ts';

const now = new Date('2026-01-01T00:00:00Z');
const v1 = { version: 'v1', uri: 'file:///m.onnx', sha256: 'a'.repeat(64), inputs: ['vibration'] };
const rolled: DeploymentState = {
  observed: true,
  replicas: 2,
  totalReplicas: 2,
  updatedReplicas: 2,
  readyReplicas: 2,
  availableReplicas: 2,
};
const rolling: DeploymentState = {
  observed: true,
  replicas: 2,
  totalReplicas: 3,
  updatedReplicas: 1,
  readyReplicas: 1,
  availableReplicas: 1,
};

function inputs(patch: Partial<ModelStatusInputs>): ModelStatusInputs {
  return {
    model: modelFixture(),
    fleetRefusal: undefined,
    artifactRefusal: undefined,
    served: v1,
    fallbackOnly: false,
    deployment: rolled,
    endpoint: 'pump-failure.plant-a.svc:50051',
    now,
    ...patch,
  };
}

const digestMismatch = { reason: 'ArtifactDigestMismatch', message: 'x' };
const withRules = modelFixture(
  (m) => (m.spec.fallback = { rules: [{ feature: 'temperature', above: 95, severity: 'critical' }] }),
);
/** Nothing was ever verified and spec.fallback has rules: the children run the rules alone. */
const fallbackOnly = (patch: Partial<ModelStatusInputs> = {}) =>
  inputs({
    model: withRules,
    artifactRefusal: digestMismatch,
    served: undefined,
    fallbackOnly: true,
    ...patch,
  });

const conds = (s: ReturnType<typeof modelStatus>) =>
  Object.fromEntries(s.conditions!.map((c) => [c.type, `${c.status}/${c.reason}`]));

describe('modelStatus', () => {
  it.each([
    [
      'serving, rolled out',
      inputs({}),
      {
        FleetBound: 'True/FleetFound',
        ArtifactVerified: 'True/DigestAndInputsVerified',
        Available: 'True/MinimumReplicasAvailable',
        Ready: 'True/Serving',
      },
      'Stable',
    ],
    [
      'rolling out',
      inputs({ deployment: rolling }),
      { Available: 'True/MinimumReplicasAvailable', Ready: 'False/RolloutInProgress' },
      'Progressing',
    ],
    [
      'pods not ready yet',
      inputs({ deployment: { ...rolling, readyReplicas: 0, availableReplicas: 0, updatedReplicas: 2 } }),
      { Available: 'False/NoReadyReplicas', Ready: 'False/NoReadyReplicas' },
      'Progressing',
    ],
    [
      'fleet missing, nothing serves',
      inputs({
        fleetRefusal: { reason: 'FleetNotFound', message: 'x' },
        served: undefined,
        deployment: undefined,
      }),
      { FleetBound: 'False/FleetNotFound', Available: 'False/NoVerifiedModel', Ready: 'False/FleetNotFound' },
      'Degraded',
    ],
    [
      'bad digest while the old version keeps serving',
      inputs({ artifactRefusal: { reason: 'ArtifactDigestMismatch', message: 'x' } }),
      {
        ArtifactVerified: 'False/ArtifactDigestMismatch',
        Available: 'True/MinimumReplicasAvailable',
        Ready: 'False/ArtifactDigestMismatch',
      },
      'Stable',
    ],
    [
      'never verified, no fallback rules: nothing serves',
      inputs({ artifactRefusal: digestMismatch, served: undefined, deployment: undefined }),
      {
        ArtifactVerified: 'False/ArtifactDigestMismatch',
        Available: 'False/NoVerifiedModel',
        Ready: 'False/ArtifactDigestMismatch',
      },
      'Degraded',
    ],
    [
      'never verified, fallback rules serve',
      fallbackOnly(),
      {
        ArtifactVerified: 'False/ArtifactDigestMismatch',
        Available: 'True/MinimumReplicasAvailable',
        Ready: 'False/FallbackOnly',
      },
      'Degraded',
    ],
    [
      'never verified, fallback pods not ready yet',
      fallbackOnly({ deployment: undefined }),
      { Available: 'False/NoReadyReplicas', Ready: 'False/FallbackOnly' },
      'Degraded',
    ],
  ])('%s', (_, input, want, phase) => {
    const status = modelStatus(input);
    expect(conds(status)).toMatchObject(want);
    expect(status.phase).toBe(phase);
    expect(status.observedGeneration).toBe(2);
  });

  it.each<[string, Partial<DeploymentState>, boolean]>([
    ['all updated and ready', {}, true],
    ['surge: the old pod is the ready one', { totalReplicas: 3, readyReplicas: 2 }, false],
    ['template not observed yet', { observed: false }, false],
    ['scaled to zero', { replicas: 0, totalReplicas: 0, updatedReplicas: 0, readyReplicas: 0 }, false],
  ])('rolledOut: %s', (_, patch, want) => {
    expect(rolledOut({ ...rolled, ...patch })).toBe(want);
  });

  it('moves stable only once the served version is rolled out', () => {
    const old = { version: 'v0', sha256: 'b'.repeat(64), since: '2025-01-01T00:00:00Z' };
    const model = modelFixture((m) => (m.status = { stable: old }));
    expect(modelStatus(inputs({ model, deployment: rolling })).stable).toEqual(old);
    expect(modelStatus(inputs({ model })).stable).toEqual({
      version: 'v1',
      sha256: v1.sha256,
      since: '2026-01-01T00:00:00Z',
    });
  });

  it('fallback only: says so precisely, reports the endpoint, and names no stable version', () => {
    const status = modelStatus(fallbackOnly());
    const message = (type: string) => status.conditions!.find((c) => c.type === type)?.message;
    expect(message('Ready')).toBe(
      'no verified model (ArtifactDigestMismatch); 1 fallback rule(s) score readings',
    );
    expect(message('Available')).toBe('2 runtime pod(s) serving fallback rules only');
    expect(status.stable).toBeUndefined();
    expect(status.endpoint).toBe('pump-failure.plant-a.svc:50051');
    expect(modelStatus(fallbackOnly({ deployment: undefined })).conditions).toContainEqual(
      expect.objectContaining({
        type: 'Ready',
        message:
          'no verified model (ArtifactDigestMismatch); fallback rules will score readings once a runtime pod is ready',
      }),
    );
  });

  it('reports ready replicas and the endpoint; a recomputation changes nothing', () => {
    const first = modelStatus(inputs({}));
    expect(first).toMatchObject({ readyReplicas: 2, endpoint: 'pump-failure.plant-a.svc:50051' });
    const again = modelStatus(
      inputs({ model: modelFixture((m) => (m.status = first)), now: new Date(now.getTime() + 60_000) }),
    );
    expect(again).toEqual(first);
  });
});

describe('desiredSplit', () => {
  it.each([
    ['nothing served', undefined, true, null],
    ['rolling over', 'v2', false, null],
    ['rolled out', 'v2', true, { stable: { version: 'v2' } }],
  ])('%s', (_, version, rolledOut, want) => {
    expect(desiredSplit(version, rolledOut)).toEqual(want);
  });
});

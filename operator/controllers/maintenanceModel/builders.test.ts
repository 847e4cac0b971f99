import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseSplit, shouldHandle } from '../../../contracts/split.ts';
import { fleetFixture, modelFixture } from '../testdata/fixtures.ts';
import { configHash, desiredConfigMap, renderRuntimeConfig } from './configMap.ts';
import { DEFAULT_LIVENESS } from '../../../contracts/runtimeConfig.ts';
import { CONFIG_HASH_ANNOTATION, desiredDeployment, LIVENESS_PROBE } from './deployment.ts';
import { desiredPodDisruptionBudget } from './podDisruptionBudget.ts';
import { servedFromConfigMap } from './reconciler.ts';
import { desiredRuntimeConfig, FALLBACK_VERSION, type ServedArtifact } from './runtimeConfig.ts';
import { desiredService, grpcEndpoint } from './service.ts';
import { desiredServiceMonitor } from './serviceMonitor.ts';
import { desiredSplit } from './traffic/split.ts';

const artifact: ServedArtifact = {
  version: 'v1',
  uri: 'file:///models/pump-v1.onnx',
  sha256: 'a'.repeat(64),
  inputs: ['vibration', 'temperature', 'vibration.rms'],
};

describe('desiredRuntimeConfig', () => {
  it('renders a config the runtime accepts, from fleet and model', () => {
    const config = desiredRuntimeConfig(modelFixture(), fleetFixture(), artifact);
    expect(config).toMatchObject({
      namespace: 'plant-a',
      fleet: 'pumps',
      model: 'pump-failure',
      version: 'v1',
      role: 'stable',
      nats: { servers: ['nats://nats.nats.svc:4222'] },
      input: {
        mode: 'jetstream',
        subject: 'plant-a.pumps.*.readings',
        stream: 'PROGNOS_PLANT_A_PUMPS',
        consumers: ['prognos-pump-failure-stable'],
        machineId: { subjectToken: 3 },
      },
      schema: {
        timestampField: 'ts',
        timestampFormat: 'UnixMillis',
        maxFutureSkewMs: 300_000,
        features: [{ name: 'vibration', min: 0, max: 50, required: true }, {}],
      },
      windows: [{ feature: 'vibration', size: 60, aggregations: ['mean', 'rms'] }],
      artifact: { uri: artifact.uri, sha256: artifact.sha256, inputs: artifact.inputs },
      explain: { enabled: true, method: 'linear' },
      rollout: { kvBucket: 'prognos-rollouts', key: 'plant-a.pump-failure' },
      grpc: { port: 50051 },
      http: { port: 8080 },
    });
    expect(config.alerts.hysteresis).toBeCloseTo(0.05);
  });

  it.each([
    [
      'core mode uses a queue group',
      (m: ReturnType<typeof modelFixture>) => (m.spec.serving.inputMode = 'core'),
      { input: { mode: 'core', queueGroup: 'prognos-pump-failure-stable' } },
    ],
    [
      'gRPC mTLS files come from the mounted Secret',
      (m: ReturnType<typeof modelFixture>) =>
        (m.spec.serving.grpc = { port: 9000, tlsSecretRef: { name: 'tls' }, mutualTLS: true }),
      {
        grpc: {
          port: 9000,
          tls: { certFile: '/var/run/secrets/prognos/grpc-tls/tls.crt', requireClientCert: true },
        },
      },
    ],
    [
      'gRPC JWT auth reads the JWKS from the mounted Secret key; the rate limit is passed on',
      (m: ReturnType<typeof modelFixture>) =>
        (m.spec.serving.grpc = {
          port: 50051,
          mutualTLS: false,
          auth: {
            jwt: {
              jwksSecretRef: { name: 'cluster-jwks', key: 'keys.json' },
              issuer: 'https://kubernetes.default.svc',
              audiences: ['prognos'],
            },
          },
          rateLimit: { requestsPerSecond: 20, burst: 40 },
        }),
      {
        grpc: {
          auth: {
            jwt: {
              jwksFile: '/var/run/secrets/prognos/grpc-jwks/keys.json',
              issuer: 'https://kubernetes.default.svc',
              audiences: ['prognos'],
              clockToleranceSeconds: 30,
            },
          },
          rateLimit: { requestsPerSecond: 20, burst: 40 },
        },
      },
    ],
    [
      'gRPC JWT auth from a JWKS URL',
      (m: ReturnType<typeof modelFixture>) =>
        (m.spec.serving.grpc = {
          port: 50051,
          mutualTLS: false,
          auth: {
            jwt: {
              jwksURL: 'https://idp.example.com/jwks',
              issuer: 'https://idp.example.com',
              audiences: ['a', 'b'],
            },
          },
        }),
      {
        grpc: {
          auth: {
            jwt: {
              jwksUrl: 'https://idp.example.com/jwks',
              issuer: 'https://idp.example.com',
              audiences: ['a', 'b'],
            },
          },
        },
      },
    ],
  ])('%s', (_, patch, want) => {
    expect(desiredRuntimeConfig(modelFixture(patch), fleetFixture(), artifact)).toMatchObject(want);
  });

  it('renders no gRPC auth or rate limit unless asked', () => {
    const { grpc } = desiredRuntimeConfig(modelFixture(), fleetFixture(), artifact);
    expect(grpc.auth).toBeUndefined();
    expect(grpc.rateLimit).toBeUndefined();
  });

  it.each(['RFC3339', 'UnixMillis', 'UnixSeconds'] as const)(
    'passes the fleet timestamp format %s to the runtime',
    (format) => {
      const fleet = fleetFixture((f) => (f.spec.schema.timestampFormat = format));
      expect(desiredRuntimeConfig(modelFixture(), fleet, artifact).schema.timestampFormat).toBe(format);
    },
  );

  it('NATS credentials and TLS point at the mounted Secrets', () => {
    const fleet = fleetFixture((f) => {
      f.spec.nats = {
        url: 'tls://a:4222,tls://b:4222',
        credentialsSecretRef: { name: 'creds', key: 'user.creds' },
        tlsSecretRef: { name: 'ntls' },
      };
    });
    expect(desiredRuntimeConfig(modelFixture(), fleet, artifact).nats).toEqual({
      servers: ['tls://a:4222', 'tls://b:4222'],
      credentialsFile: '/var/run/secrets/prognos/nats/user.creds',
      tls: {
        caFile: '/var/run/secrets/prognos/nats-tls/ca.crt',
        certFile: '/var/run/secrets/prognos/nats-tls/tls.crt',
        keyFile: '/var/run/secrets/prognos/nats-tls/tls.key',
      },
    });
  });

  it('keeps the artifact where it always was, so existing models keep their config hash', () => {
    const keys = Object.keys(desiredRuntimeConfig(modelFixture(), fleetFixture(), artifact));
    expect(keys.slice(keys.indexOf('windows'), keys.indexOf('windows') + 3)).toEqual([
      'windows',
      'artifact',
      'thresholds',
    ]);
  });

  it('without an artifact renders a fallback-only config the split can name', () => {
    const rules = [{ feature: 'temperature', above: 95, severity: 'critical' as const }];
    const model = modelFixture((m) => (m.spec.fallback = { rules }));
    const config = desiredRuntimeConfig(model, fleetFixture(), undefined);
    expect(config.artifact).toBeUndefined();
    expect(config.version).toBe(FALLBACK_VERSION);
    expect(config.fallback.rules).toEqual(rules);
    // Runtimes match the stable by their configured version: the split written once the fallback
    // pods are rolled out must leave them every machine.
    const split = parseSplit(JSON.parse(JSON.stringify(desiredSplit(config.version, true))));
    expect(shouldHandle(split, config.version, 'stable', 'pump-7')).toBe(true);
    // An artifact-less ConfigMap is never taken for a previously served model.
    const cm = desiredConfigMap(model, renderRuntimeConfig(config));
    expect(servedFromConfigMap(cm)).toBeUndefined();
    expect(
      servedFromConfigMap(
        desiredConfigMap(model, renderRuntimeConfig(desiredRuntimeConfig(model, fleetFixture(), artifact))),
      ),
    ).toEqual(artifact);
  });

  it('renders time windows and several windows per feature; a plain window renders as before', () => {
    const fleet = fleetFixture((f) => {
      f.spec.windows = [
        { feature: 'vibration', name: 'default', size: 60, aggregations: ['mean', 'rms'] },
        { feature: 'vibration', name: '1h', size: 3600, duration: '1h', aggregations: ['rms'] },
      ];
    });
    const config = desiredRuntimeConfig(modelFixture(), fleet, {
      ...artifact,
      inputs: ['vibration', 'vibration.rms', 'vibration.rms@1h'],
    });
    expect(config.windows).toEqual([
      { feature: 'vibration', size: 60, aggregations: ['mean', 'rms'] },
      { feature: 'vibration', name: '1h', size: 3600, durationMs: 3_600_000, aggregations: ['rms'] },
    ]);
    expect(config.artifact?.inputs).toEqual(['vibration', 'vibration.rms', 'vibration.rms@1h']);
  });

  it("points the runtime at the fleet's own maintenance-event subject when it has one", () => {
    expect(desiredRuntimeConfig(modelFixture(), fleetFixture(), artifact).labels).toBeUndefined();
    const fleet = fleetFixture((f) => (f.spec.labels = { subject: 'plant-a.pumps.*.events' }));
    expect(desiredRuntimeConfig(modelFixture(), fleet, artifact).labels).toEqual({
      subject: 'plant-a.pumps.*.events',
    });
  });

  it('refuses an artifact whose inputs the fleet cannot compute', () => {
    expect(() =>
      desiredRuntimeConfig(modelFixture(), fleetFixture(), { ...artifact, inputs: ['vibration.kurtosis'] }),
    ).toThrow(/window default over vibration does not compute kurtosis/);
  });
});

describe('desiredConfigMap', () => {
  it('holds the rendered YAML; the hash follows the content', () => {
    const rendered = renderRuntimeConfig(desiredRuntimeConfig(modelFixture(), fleetFixture(), artifact));
    const cm = desiredConfigMap(modelFixture(), rendered);
    expect(cm.metadata).toMatchObject({ name: 'pump-failure-runtime', namespace: 'plant-a' });
    expect(parse(cm.data!['runtime.yaml']!).version).toBe('v1');
    expect(configHash(rendered)).toHaveLength(16);
    expect(configHash(rendered)).not.toBe(configHash(rendered.replace('v1', 'v2')));
  });
});

describe('owned objects', () => {
  const model = modelFixture();
  const owner = {
    apiVersion: 'prognos.dev/v1alpha1',
    kind: 'MaintenanceModel',
    name: 'pump-failure',
    uid: 'model-uid',
    controller: true,
  };
  it.each([
    ['ConfigMap', desiredConfigMap(model, 'x')],
    [
      'Deployment',
      desiredDeployment({ model, fleet: fleetFixture(), image: 'img', configHash: 'h', version: 'v1' }),
    ],
    ['Service', desiredService(model)],
    ['PodDisruptionBudget', desiredPodDisruptionBudget(modelFixture((m) => (m.spec.serving.replicas = 2)))!],
    ['ServiceMonitor', desiredServiceMonitor(model)],
  ])('%s is controlled by the model', (kind, obj) => {
    expect(obj.kind).toBe(kind);
    expect(obj.metadata!.ownerReferences).toEqual([expect.objectContaining(owner)]);
    expect(obj.metadata!.labels).toMatchObject({
      'prognos.dev/model': 'pump-failure',
      'app.kubernetes.io/managed-by': 'prognos-operator',
    });
  });
});

describe('desiredPodDisruptionBudget', () => {
  it.each([
    [1, undefined],
    [2, 1],
    [5, 1],
  ])('%i replicas: maxUnavailable %s', (replicas, maxUnavailable) => {
    const pdb = desiredPodDisruptionBudget(modelFixture((m) => (m.spec.serving.replicas = replicas)));
    expect(pdb?.spec?.maxUnavailable).toBe(maxUnavailable);
    if (pdb)
      expect(pdb.spec?.selector?.matchLabels).toEqual({
        'prognos.dev/model': 'pump-failure',
        'prognos.dev/role': 'stable',
      });
  });
});

describe('desiredDeployment', () => {
  const fleet = fleetFixture(
    (f) => (f.spec.nats.credentialsSecretRef = { name: 'creds', key: 'nats.creds' }),
  );
  const model = modelFixture((m) => (m.spec.serving.resources = { requests: { cpu: 1, memory: '256Mi' } }));
  const d = desiredDeployment({
    model,
    fleet,
    image: 'ghcr.io/prognos/prognos:0.1.0',
    configHash: 'abc',
    version: 'v1',
  });
  const pod = d.spec!.template.spec!;
  const c = pod.containers[0]!;

  it('runs the runtime with the mounted config', () => {
    expect(c.image).toBe('ghcr.io/prognos/prognos:0.1.0');
    expect(c.command).toEqual(['prognos-inference']);
    expect(c.args).toEqual(['--config', '/etc/prognos/runtime.yaml']);
    expect(pod.volumes).toContainEqual({ name: 'config', configMap: { name: 'pump-failure-runtime' } });
    expect(pod.volumes).toContainEqual({
      name: 'nats-credentials',
      secret: { secretName: 'creds', defaultMode: 0o440 },
    });
    expect(c.volumeMounts).toContainEqual({
      name: 'nats-credentials',
      mountPath: '/var/run/secrets/prognos/nats',
      readOnly: true,
    });
  });

  it('mounts the JWKS Secret where the runtime config points, as a whole volume that follows rotation', () => {
    const withJwks = desiredDeployment({
      model: modelFixture((m) => {
        m.spec.serving.grpc.auth = {
          jwt: { jwksSecretRef: { name: 'cluster-jwks', key: 'jwks.json' }, issuer: 'i', audiences: ['a'] },
        };
      }),
      fleet,
      image: 'img',
      configHash: 'abc',
      version: 'v1',
    }).spec!.template.spec!;
    expect(withJwks.volumes).toContainEqual({
      name: 'grpc-jwks',
      secret: { secretName: 'cluster-jwks', defaultMode: 0o440 },
    });
    const mount = withJwks.containers[0]!.volumeMounts!.find((m) => m.name === 'grpc-jwks');
    expect(mount).toEqual({
      name: 'grpc-jwks',
      mountPath: '/var/run/secrets/prognos/grpc-jwks',
      readOnly: true,
    });
    expect(pod.volumes!.map((v) => v.name)).not.toContain('grpc-jwks');
  });

  it('rolls pods on config change and never scales the stable down first', () => {
    expect(d.spec!.template.metadata!.annotations![CONFIG_HASH_ANNOTATION]).toBe('abc');
    expect(d.spec!.strategy!.rollingUpdate).toEqual({ maxUnavailable: 0, maxSurge: 1 });
    expect(d.spec!.replicas).toBe(2);
    expect(d.spec!.selector.matchLabels).toEqual({
      'prognos.dev/model': 'pump-failure',
      'prognos.dev/role': 'stable',
    });
  });

  it('is hardened and probed', () => {
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(c.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(pod.terminationGracePeriodSeconds).toBe(30);
    expect(c.readinessProbe!.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(c.livenessProbe!.httpGet).toEqual({ path: '/healthz', port: 'http' });
  });

  it('probes liveness in step with the limits it renders into the runtime config', () => {
    const { liveness } = desiredRuntimeConfig(modelFixture(), fleetFixture(), artifact);
    expect(liveness).toEqual(DEFAULT_LIVENESS);
    expect(c.livenessProbe).toEqual(LIVENESS_PROBE);
    const periodMs = LIVENESS_PROBE.periodSeconds! * 1000;
    // The probe looks at least twice within each limit, so it sees a stall soon after the runtime does …
    expect(periodMs * 2).toBeLessThanOrEqual(Math.min(liveness.heartbeatTimeoutMs, liveness.maxBatchAgeMs));
    // … and, because it fails only on the runtime's verdict, tolerates a slow answer (not one miss).
    expect(LIVENESS_PROBE.failureThreshold).toBeGreaterThan(1);
    expect(LIVENESS_PROBE.timeoutSeconds! * 1000).toBeLessThan(periodMs);
    // A stuck worker is restarted within the limit plus the probe's failures: under two minutes.
    expect(liveness.maxBatchAgeMs + periodMs * LIVENESS_PROBE.failureThreshold!).toBeLessThanOrEqual(120_000);
    expect(c.resources).toEqual({ requests: { cpu: '1', memory: '256Mi' } });
    expect(c.env).toContainEqual({ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } });
    expect(c.env).toContainEqual({
      name: 'POD_NAME',
      valueFrom: { fieldRef: { fieldPath: 'metadata.name' } },
    });
  });
});

describe('desiredService', () => {
  it('exposes gRPC and metrics, with the endpoint reported in status', () => {
    const svc = desiredService(modelFixture());
    expect(svc.spec!.ports!.map((p) => [p.name, p.port])).toEqual([
      ['grpc', 50051],
      ['http', 8080],
    ]);
    expect(grpcEndpoint(modelFixture())).toBe('pump-failure.plant-a.svc:50051');
  });
});

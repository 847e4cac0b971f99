// Typed SensorFleet / MaintenanceModel objects with the API defaults filled in, for the builders' table tests.
import type { MaintenanceModel } from '../../api/maintenanceModel.ts';
import type { SensorFleet } from '../../api/sensorFleet.ts';

export function fleetFixture(patch: (f: SensorFleet) => void = () => {}): SensorFleet {
  const fleet: SensorFleet = {
    apiVersion: 'prognos.dev/v1alpha1',
    kind: 'SensorFleet',
    metadata: { name: 'pumps', namespace: 'plant-a', generation: 1, uid: 'fleet-uid' },
    spec: {
      nats: { url: 'nats://nats.nats.svc:4222' },
      subject: 'plant-a.pumps.*.readings',
      machineId: { subjectToken: 3 },
      stream: { maxAge: '7d', replicas: 1, partitions: 1, storage: 'File' },
      schema: {
        timestampField: 'ts',
        timestampFormat: 'UnixMillis',
        features: [
          { name: 'vibration', min: 0, max: 50, required: true },
          { name: 'temperature', min: -40, max: 200, required: true },
        ],
        maxMessageBytes: 4096,
        maxFutureSkew: '5m',
      },
      windows: [{ feature: 'vibration', name: 'default', size: 60, aggregations: ['mean', 'rms'] }],
      deletionPolicy: 'Retain',
    },
  };
  patch(fleet);
  return fleet;
}

export function modelFixture(patch: (m: MaintenanceModel) => void = () => {}): MaintenanceModel {
  const model: MaintenanceModel = {
    apiVersion: 'prognos.dev/v1alpha1',
    kind: 'MaintenanceModel',
    metadata: { name: 'pump-failure', namespace: 'plant-a', generation: 2, uid: 'model-uid' },
    spec: {
      fleetRef: { name: 'pumps' },
      task: 'classification',
      model: {
        version: 'v1',
        uri: 'file:///models/pump-v1.onnx',
        sha256: 'a'.repeat(64),
        inputs: ['vibration', 'temperature', 'vibration.rms'],
      },
      thresholds: { warning: 0.5, critical: 0.8, hysteresis: 0.1 },
      serving: {
        replicas: 2,
        batching: { maxBatch: 256, maxDelayMs: 5 },
        inputMode: 'jetstream',
        startFrom: 'New',
        grpc: { port: 50051, mutualTLS: false },
        onnxRuntime: { intraOpThreads: 1, interOpThreads: 1 },
      },
      explain: { enabled: true, method: 'exact', granularity: 'feature' },
    },
  };
  patch(model);
  return model;
}

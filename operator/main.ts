// The operator process: `scripts/node24 operator/main.ts [--kubeconfig path] [--leader-elect] ...`.
// Env: POD_NAME (its identity), POD_NAMESPACE (the Lease's namespace), POD_IP (bind /metrics there).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { DEFAULT_INFERENCE_IMAGE } from './controllers/maintenanceModel/deployment.ts';
import {
  DEFAULT_ARTIFACT_LIMITS,
  DEFAULT_MAX_LOAD_CHECKS,
} from './controllers/maintenanceModel/artifactVerifier.ts';
import { DEFAULT_MODEL_WORKERS, PrognosOperator } from './prognosOperator.ts';

const USAGE = `prognos-operator [flags]
  --kubeconfig <path>        kubeconfig file (default: $KUBECONFIG, else in-cluster)
  --namespace <ns>           watch only this namespace (default: all namespaces)
  --leader-elect             campaign for the Lease before reconciling (run several replicas)
  --leader-election-namespace <ns>  namespace of the Lease (default: $POD_NAMESPACE, --namespace, prognos-system)
  --metrics-port <port>      /metrics, /healthz and /readyz (default 8080; 0 = pick a free port)
  --inference-image <image>  runtime image (default ${DEFAULT_INFERENCE_IMAGE})
  --trainer-image <image>    image of RetrainPolicy training Jobs (default: the runtime image)
  --model-workers <n>        MaintenanceModels reconciled at once (default ${DEFAULT_MODEL_WORKERS})
  --max-load-checks <n>      artifact load checks (a Node + ONNX Runtime child process each) at once; the
                             rest wait, reported as ArtifactVerified=Unknown VerificationQueued (default ${DEFAULT_MAX_LOAD_CHECKS})
  --max-artifact-bytes <n>   largest model artifact read, by the operator and the runtimes it configures;
                             a larger one is refused as ArtifactTooLarge (default ${DEFAULT_ARTIFACT_LIMITS.maxBytes}, 256 MiB)
  --artifact-timeout <s>     seconds to read an artifact before ArtifactFetchTimeout (default ${DEFAULT_ARTIFACT_LIMITS.timeoutMs / 1000})
  --service-monitors <mode>  auto: a ServiceMonitor per model while the prometheus-operator CRD is
                             installed (reads that one CRD); off: none, nothing cluster-scoped read (default auto)
  --keda <mode>              auto: autoscaling models get a KEDA ScaledObject while KEDA's CRD is installed
                             (reads that one CRD), a HorizontalPodAutoscaler otherwise; off: always an HPA (default auto)
  --gateway-api <mode>       auto: models with serving.grpcRoute get a GRPCRoute while the Gateway API's CRD
                             is installed (reads that one CRD); off: none, reported in their status (default auto)`;

function port(value: string | undefined, fallback: number, flag: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new Error(`${flag} must be a port number, got ${value}`);
  return n;
}

function positive(value: string | undefined, fallback: number, flag: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag} must be a positive number, got ${value}`);
  return n;
}

function loadKubeConfig(path: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  const file = path ?? process.env['KUBECONFIG'];
  if (file) kc.loadFromString(readFileSync(file, 'utf8'));
  else kc.loadFromCluster();
  return kc;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      kubeconfig: { type: 'string' },
      namespace: { type: 'string' },
      'leader-elect': { type: 'boolean', default: false },
      'leader-election-namespace': { type: 'string' },
      'metrics-port': { type: 'string' },
      'inference-image': { type: 'string' },
      'trainer-image': { type: 'string' },
      'model-workers': { type: 'string' },
      'max-load-checks': { type: 'string' },
      'max-artifact-bytes': { type: 'string' },
      'artifact-timeout': { type: 'string' },
      'service-monitors': { type: 'string', default: 'auto' },
      keda: { type: 'string', default: 'auto' },
      'gateway-api': { type: 'string', default: 'auto' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const metricsPort = port(values['metrics-port'], 8080, '--metrics-port');
  const modelWorkers = Number(values['model-workers'] ?? DEFAULT_MODEL_WORKERS);
  if (!Number.isInteger(modelWorkers) || modelWorkers < 1)
    throw new Error(`--model-workers must be a positive integer, got ${values['model-workers']}`);
  const maxBytes = positive(
    values['max-artifact-bytes'],
    DEFAULT_ARTIFACT_LIMITS.maxBytes,
    '--max-artifact-bytes',
  );
  const timeoutMs =
    positive(values['artifact-timeout'], DEFAULT_ARTIFACT_LIMITS.timeoutMs / 1000, '--artifact-timeout') *
    1000;
  const maxLoadChecks = Number(values['max-load-checks'] ?? DEFAULT_MAX_LOAD_CHECKS);
  if (!Number.isInteger(maxLoadChecks) || maxLoadChecks < 1)
    throw new Error(`--max-load-checks must be a positive integer, got ${values['max-load-checks']}`);
  const serviceMonitors = values['service-monitors'];
  if (serviceMonitors !== 'auto' && serviceMonitors !== 'off')
    throw new Error(`--service-monitors must be auto or off, got ${serviceMonitors}`);
  const keda = values.keda;
  if (keda !== 'auto' && keda !== 'off') throw new Error(`--keda must be auto or off, got ${keda}`);
  const gatewayApi = values['gateway-api'];
  if (gatewayApi !== 'auto' && gatewayApi !== 'off')
    throw new Error(`--gateway-api must be auto or off, got ${gatewayApi}`);
  const logger = pino({ name: 'prognos-operator' });
  const leaseNamespace =
    values['leader-election-namespace'] ??
    process.env['POD_NAMESPACE'] ??
    values.namespace ??
    'prognos-system';
  const operator = new PrognosOperator({
    kubeConfig: loadKubeConfig(values.kubeconfig),
    ...(values.namespace ? { namespace: values.namespace } : {}),
    leaderElection: values['leader-elect'] ? { namespace: leaseNamespace } : false,
    // In a pod, on the pod's IP (as the runtimes do): pods that share a host network cannot all bind
    // 0.0.0.0:8080 (the local cluster's pod runner), and probes reach the pod IP.
    health: { port: metricsPort, ...(process.env['POD_IP'] ? { host: process.env['POD_IP'] } : {}) },
    inferenceImage: values['inference-image'] ?? DEFAULT_INFERENCE_IMAGE,
    ...(values['trainer-image'] ? { trainerImage: values['trainer-image'] } : {}),
    modelWorkers,
    artifactLimits: { maxBytes, timeoutMs },
    maxLoadChecks,
    serviceMonitors: serviceMonitors === 'auto',
    keda: keda === 'auto',
    gatewayApi: gatewayApi === 'auto',
    ...(process.env['POD_NAME'] ? { identity: `${process.env['POD_NAME']}_${process.pid}` } : {}),
    logger,
  });
  await operator.start();
  logger.info(
    { namespace: values.namespace ?? '(all)', healthPort: operator.operator.healthPort },
    'prognos operator started',
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  console.error(USAGE);
  process.exit(2);
});

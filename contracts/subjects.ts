// NATS subjects of the data plane (docs/inference-runtime-io.md). Every
// token comes from validated config or a validated machine id, so none holds `.`, `*`, `>` or spaces.

export const predictionSubject = (namespace: string, model: string, machineId: string): string =>
  `prognos.predictions.${namespace}.${model}.${machineId}`;

export const alertSubject = (namespace: string, model: string, machineId: string): string =>
  `prognos.alerts.${namespace}.${model}.${machineId}`;

export const deadLetterSubject = (namespace: string, fleet: string): string =>
  `prognos.deadletter.${namespace}.${fleet}`;

export const telemetrySubject = (namespace: string, model: string, version: string): string =>
  `prognos.telemetry.${namespace}.${model}.${version}`;

export const labelSubject = (namespace: string, fleet: string, machineId: string): string =>
  `prognos.labels.${namespace}.${fleet}.${machineId}`;

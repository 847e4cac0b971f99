/** The Prognos API (prognos.dev/v1alpha1): TypeBox schemas, their TypeScript types and the CRD generator. */
export {
  API_VERSION,
  Condition,
  Conditions,
  DURATION_PATTERN,
  GROUP,
  LocalObjectReference,
  ResourceRequirements,
  SecretKeySelector,
  VERSION,
  type Duration,
} from './meta.ts';
export { parseDuration } from './duration.ts';
export { unresolvedInputs } from './inputs.ts';
export {
  AGGREGATIONS,
  SENSOR_FLEET_KIND,
  SENSOR_FLEET_PLURAL,
  SensorFleet,
  SensorFleetSpec,
  SensorFleetStatus,
  type Aggregation,
} from './sensorFleet.ts';
export {
  MAINTENANCE_MODEL_KIND,
  MAINTENANCE_MODEL_PLURAL,
  MODEL_INPUT_PATTERN,
  MaintenanceModel,
  MaintenanceModelSpec,
  MaintenanceModelStatus,
  PHASES,
  TASKS,
  URI_SCHEMES,
  type ModelPhase,
  type Task,
} from './maintenanceModel.ts';
export {
  DRIFT_METHODS,
  HIGHER_IS_BETTER,
  METRICS,
  RETRAIN_POLICY_KIND,
  RETRAIN_POLICY_PLURAL,
  RetrainPolicy,
  RetrainPolicySpec,
  RetrainPolicyStatus,
  type Metric,
} from './retrainPolicy.ts';
export {
  CATEGORY,
  customResourceDefinition,
  type CustomResourceDefinition,
  type KindDefinition,
} from './crd.ts';
export { KINDS, maintenanceModelKind, retrainPolicyKind, sensorFleetKind } from './kinds.ts';

/** The three Prognos kinds as the CRD generator sees them: schema, short names and `kubectl get` columns. */
import type { KindDefinition, PrinterColumn } from './crd.ts';
import { MAINTENANCE_MODEL_KIND, MAINTENANCE_MODEL_PLURAL, MaintenanceModel } from './maintenanceModel.ts';
import { RETRAIN_POLICY_KIND, RETRAIN_POLICY_PLURAL, RetrainPolicy } from './retrainPolicy.ts';
import { SENSOR_FLEET_KIND, SENSOR_FLEET_PLURAL, SensorFleet } from './sensorFleet.ts';

const ready: PrinterColumn = {
  name: 'Ready',
  type: 'string',
  jsonPath: '.status.conditions[?(@.type=="Ready")].status',
  description: 'Status of the Ready condition.',
};

const age: PrinterColumn = {
  name: 'Age',
  type: 'date',
  jsonPath: '.metadata.creationTimestamp',
  description: 'Time since creation.',
};

export const sensorFleetKind: KindDefinition = {
  kind: SENSOR_FLEET_KIND,
  plural: SENSOR_FLEET_PLURAL,
  shortNames: ['sf'],
  schema: SensorFleet,
  printerColumns: [
    {
      name: 'Subject',
      type: 'string',
      jsonPath: '.spec.subject',
      description: 'NATS subject of the readings.',
    },
    {
      name: 'Machines',
      type: 'integer',
      jsonPath: '.status.machinesSeen',
      description: 'Distinct machines seen.',
    },
    {
      name: 'Rate',
      type: 'number',
      jsonPath: '.status.readingsPerSecond',
      description: 'Readings per second.',
    },
    ready,
    age,
  ],
};

export const maintenanceModelKind: KindDefinition = {
  kind: MAINTENANCE_MODEL_KIND,
  plural: MAINTENANCE_MODEL_PLURAL,
  shortNames: ['mm'],
  schema: MaintenanceModel,
  printerColumns: [
    { name: 'Fleet', type: 'string', jsonPath: '.spec.fleetRef.name', description: 'SensorFleet scored.' },
    {
      name: 'Task',
      type: 'string',
      jsonPath: '.spec.task',
      description: 'classification, regression or anomaly.',
    },
    { name: 'Stable', type: 'string', jsonPath: '.status.stable.version', description: 'Stable version.' },
    {
      name: 'Canary',
      type: 'string',
      jsonPath: '.status.canary.version',
      description: 'Version under canary.',
    },
    {
      name: 'Weight',
      type: 'integer',
      jsonPath: '.status.canary.weight',
      description: 'Percent of machines on the canary.',
    },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase', description: 'Rollout phase.' },
    ready,
    age,
  ],
};

export const retrainPolicyKind: KindDefinition = {
  kind: RETRAIN_POLICY_KIND,
  plural: RETRAIN_POLICY_PLURAL,
  shortNames: ['rp'],
  schema: RetrainPolicy,
  printerColumns: [
    {
      name: 'Model',
      type: 'string',
      jsonPath: '.spec.modelRef.name',
      description: 'MaintenanceModel retrained.',
    },
    {
      name: 'Last Drift',
      type: 'date',
      jsonPath: '.status.lastDrift.time',
      description: 'When drift was last seen.',
    },
    {
      name: 'Active Job',
      type: 'string',
      jsonPath: '.status.activeJob.name',
      description: 'Training Job running now.',
    },
    { name: 'Promotion', type: 'string', jsonPath: '.spec.promotion', description: 'Auto or Manual.' },
    age,
  ],
};

export const KINDS: readonly KindDefinition[] = [sensorFleetKind, maintenanceModelKind, retrainPolicyKind];

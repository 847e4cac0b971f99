// A SensorFleet and a MaintenanceModel manifest (YAML or JSON) → the runtime config the operator
// would render for them. Defaults and validation come from the API's own schemas (what the API server
// applies), and the config from the operator's own renderer, so the trainer builds features from
// exactly the schema and windows a deployed runtime of that model computes.
import { readFile } from 'node:fs/promises';
import { type TObject } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { parse as parseYaml } from 'yaml';
import { MaintenanceModel } from '../../operator/api/maintenanceModel.ts';
import { SensorFleet } from '../../operator/api/sensorFleet.ts';
import {
  desiredRuntimeConfig,
  type ServedArtifact,
} from '../../operator/controllers/maintenanceModel/runtimeConfig.ts';
import type { RuntimeConfig } from '../../contracts/runtimeConfig.ts';

export interface Manifests {
  fleet: SensorFleet;
  model: MaintenanceModel;
}

/** Defaults and validates one manifest of `kind` (as parsed); throws naming `where` and the first bad fields. */
export function manifestOf<T>(schema: TObject, kind: string, value: unknown, where: string): T {
  const raw = value as { kind?: unknown; metadata?: Record<string, unknown> } | null;
  if (!raw || typeof raw !== 'object' || raw.kind !== kind)
    throw new Error(`${where}: expected a ${kind} manifest`);
  // Files outside a cluster often omit the namespace; the API server would fill in its own.
  const withNamespace = { ...raw, metadata: { namespace: 'default', ...raw.metadata } };
  const defaulted = Value.Default(schema, Value.Clone(withNamespace));
  const errors = [...Value.Errors(schema, defaulted)].slice(0, 5).map((e) => `${e.path}: ${e.message}`);
  if (errors.length > 0) throw new Error(`${where}: invalid ${kind}: ${errors.join('; ')}`);
  return defaulted as T;
}

/** A fleet and a model manifest as parsed (files, or the objects of a TrainingRequest), checked as a pair. */
export function manifestsOf(
  fleetValue: unknown,
  modelValue: unknown,
  where: { fleet: string; model: string },
): Manifests {
  const fleet = manifestOf<SensorFleet>(SensorFleet, 'SensorFleet', fleetValue, where.fleet);
  const model = manifestOf<MaintenanceModel>(MaintenanceModel, 'MaintenanceModel', modelValue, where.model);
  if (model.spec.fleetRef.name !== fleet.metadata.name)
    throw new Error(
      `${where.model}: fleetRef ${model.spec.fleetRef.name} does not name the fleet ${fleet.metadata.name}`,
    );
  return { fleet, model };
}

export async function readManifests(fleetFile: string, modelFile: string): Promise<Manifests> {
  const [fleetText, modelText] = await Promise.all([
    readFile(fleetFile, 'utf8'),
    readFile(modelFile, 'utf8'),
  ]);
  return manifestsOf(parseYaml(fleetText), parseYaml(modelText), { fleet: fleetFile, model: modelFile });
}

/** The stable runtime's config for `artifact` (or without one: what features need). */
export function runtimeConfigOf({ fleet, model }: Manifests, artifact?: ServedArtifact): RuntimeConfig {
  return desiredRuntimeConfig(model, fleet, artifact);
}

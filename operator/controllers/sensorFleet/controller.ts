import type { MaintenanceModel } from '../../api/maintenanceModel.ts';
import type { SensorFleet } from '../../api/sensorFleet.ts';
import { Controller } from '../../framework/controller.ts';
import { objectKey } from '../../framework/gvk.ts';
import { watchSpecs } from '../kinds.ts';
import type { SensorFleetReconciler } from './reconciler.ts';

/**
 * SensorFleet → its JetStream streams and telemetry-driven status. Models are watched too: a model
 * bound to the fleet is what starts the fleet polling its traffic (see SensorFleetReconciler).
 */
export function sensorFleetController(
  reconciler: SensorFleetReconciler,
  namespace: string | undefined,
): Controller<SensorFleet> {
  const kinds = watchSpecs(namespace);
  return new Controller<SensorFleet>('sensorfleet', {
    reconcile: (ctx) => reconciler.reconcile(ctx.request.key, ctx.object),
  })
    .for(kinds.sensorFleet)
    .watches(kinds.maintenanceModel, (obj) => {
      const model = obj as MaintenanceModel;
      return model.spec?.fleetRef?.name
        ? [objectKey(model.metadata.namespace, model.spec.fleetRef.name)]
        : [];
    });
}

import type { V1Secret } from '@kubernetes/client-node';
import type { MaintenanceModel } from '../../api/maintenanceModel.ts';
import type { SensorFleet } from '../../api/sensorFleet.ts';
import { Controller } from '../../framework/controller.ts';
import { objectKey } from '../../framework/gvk.ts';
import { generationChanged } from '../../framework/predicates.ts';
import { SECRET, watchSpecs } from '../kinds.ts';
import type { ModelFleetIndex } from '../maintenanceModel/modelFleetIndex.ts';
import type { SensorFleetReconciler } from './reconciler.ts';

/**
 * SensorFleet → its JetStream streams and telemetry-driven status. Models are watched too: a model
 * bound to the fleet is what starts the fleet polling its traffic (see SensorFleetReconciler). Only
 * a model's creation, deletion or spec change (fleetRef) can change that, so its status and
 * metadata writes do not wake the fleet: a burst of new models would otherwise reconcile the fleet
 * (and ask NATS about its streams) several times per model. The binding goes into the index before
 * the fleet is queued, so the fleet sees it even when its reconcile runs before the model's. The
 * Secrets a fleet names are read through a watch of each: a rotated Secret reconciles the fleet.
 */
export function sensorFleetController(
  reconciler: SensorFleetReconciler,
  index: ModelFleetIndex,
  namespace: string | undefined,
): Controller<SensorFleet> {
  const kinds = watchSpecs(namespace);
  return new Controller<SensorFleet>('sensorfleet', {
    reconcile: (ctx) =>
      reconciler.reconcile(
        ctx.request.key,
        ctx.object,
        (ns, name) => ctx.readReferenced<V1Secret>(SECRET, ns, name),
        ctx,
      ),
  })
    .for(kinds.sensorFleet)
    .watches({ ...kinds.maintenanceModel, predicate: generationChanged }, (obj) => {
      const model = obj as MaintenanceModel;
      const fleet = model.spec?.fleetRef?.name;
      if (!fleet) return [];
      if (!model.metadata.deletionTimestamp)
        index.set(objectKey(model.metadata.namespace, model.metadata.name!), fleet);
      return [objectKey(model.metadata.namespace, fleet)];
    });
}

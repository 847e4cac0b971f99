import type { SensorFleet } from '../../api/sensorFleet.ts';
import { Controller } from '../../framework/controller.ts';
import { watchSpecs } from '../kinds.ts';
import type { SensorFleetReconciler } from './reconciler.ts';

/** SensorFleet → its JetStream streams and telemetry-driven status. */
export function sensorFleetController(reconciler: SensorFleetReconciler, namespace: string | undefined): Controller<SensorFleet> {
  return new Controller<SensorFleet>('sensorfleet', {
    reconcile: (ctx) => reconciler.reconcile(ctx.request.key, ctx.object),
  }).for(watchSpecs(namespace).sensorFleet);
}

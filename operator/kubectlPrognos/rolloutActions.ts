/**
 * Which rollout control annotations apply to a model now: the rules of Argo CD's discovery.lua
 * (deploy/argocd/resource_customizations/prognos.dev/MaintenanceModel/actions), so kubectl prognos and
 * Argo CD offer the same actions. rolloutActions.test.ts checks them against discovery.lua's cases.
 */
import { ROLLOUT_ANNOTATIONS, type MaintenanceModel, type RolloutAction } from '../api/maintenanceModel.ts';

/** The actions by their Argo CD and annotation name (prognos.dev/<name>), in the order help lists them. */
export const ACTION_NAMES = ['promote', 'promote-full', 'abort', 'pause', 'resume', 'retry'] as const;
export type ActionName = (typeof ACTION_NAMES)[number];

const ACTION_KEYS: Record<ActionName, RolloutAction> = {
  promote: 'promote',
  'promote-full': 'promoteFull',
  abort: 'abort',
  pause: 'pause',
  resume: 'resume',
  retry: 'retry',
};

export function annotationOf(action: ActionName): string {
  return ROLLOUT_ANNOTATIONS[ACTION_KEYS[action]];
}

/** Why `action` does not apply to `model` now, or undefined when it does. */
export function refusal(action: ActionName, model: MaintenanceModel): string | undefined {
  const status = model.status ?? {};
  const phase = status.phase ?? 'not reported yet';
  const rollout = status.rollout;
  // A Progressing phase without status.rollout is a plain version change (no spec.rollout).
  const running = status.phase === 'Progressing' && rollout !== undefined;
  const paused = rollout?.paused === true;
  // A canary past its last step holds 100% while the stable rolls to it: no step to end or hold.
  const pastLastStep =
    rollout?.strategy === 'Canary' && rollout.step >= (model.spec.rollout?.steps?.length ?? 0);
  const notRunning = `no rollout is in progress (phase ${phase}); ${action} applies while a rollout is Progressing`;
  switch (action) {
    case 'promote':
    case 'promote-full':
    case 'pause':
      if (paused && (action === 'pause' || !running))
        return action === 'pause'
          ? 'the rollout is already paused'
          : 'the rollout is paused; resume it first';
      if (!running) return notRunning;
      return pastLastStep ? 'the new version already takes 100% while the stable rolls to it' : undefined;
    case 'abort':
      // Paused without status.rollout is a candidate awaiting promotion: nothing runs to abort.
      return rollout && (status.phase === 'Progressing' || status.phase === 'Paused')
        ? undefined
        : `no rollout is in progress or paused (phase ${phase})`;
    case 'resume':
      return paused ? undefined : `the rollout is not paused (phase ${phase})`;
    case 'retry':
      return status.phase === 'RolledBack' && status.rolledBack
        ? undefined
        : `nothing was rolled back (phase ${phase}); retry applies in phase RolledBack`;
  }
}

/** The actions that apply now, in ACTION_NAMES order. */
export function applicableActions(model: MaintenanceModel): ActionName[] {
  return ACTION_NAMES.filter((a) => refusal(a, model) === undefined);
}

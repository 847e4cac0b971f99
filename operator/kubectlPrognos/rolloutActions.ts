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
  // A Progressing phase without status.rollout is a plain version change (no spec.rollout).
  const running = status.phase === 'Progressing' && status.rollout !== undefined;
  const paused = status.rollout?.paused === true;
  switch (action) {
    case 'promote':
    case 'promote-full':
      if (running) return undefined;
      return paused
        ? 'the rollout is paused; resume it first'
        : `no rollout is in progress (phase ${phase}); ${action} applies while a rollout is Progressing`;
    case 'pause':
      if (running && !paused) return undefined;
      return paused
        ? 'the rollout is already paused'
        : `no rollout is in progress (phase ${phase}); pause applies while a rollout is Progressing`;
    case 'abort':
      return running || status.phase === 'Paused'
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

import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { MaintenanceModel } from '../api/maintenanceModel.ts';
import { actionCases, customizations, readObject } from '../argocd/customizations.ts';
import { ACTION_NAMES, annotationOf, applicableActions, refusal } from './rolloutActions.ts';

const model = customizations().find((c) => c.kind === 'MaintenanceModel')!;
const actionsDir = join(model.dir, 'actions');
const load = (name: string) => readObject(actionsDir, `testdata/${name}.yaml`) as MaintenanceModel;

describe('rollout actions', () => {
  // discovery.lua is checked against the same cases under gopher-lua (argocd.lua.test.ts), so the
  // plugin and Argo CD agree on every sample state.
  it.each(actionCases(model).discoveryTests)('agree with discovery.lua on $inputPath', (c) => {
    const enabled = c.result.filter((a) => !a.disabled).map((a) => a.name);
    expect(applicableActions(readObject(actionsDir, c.inputPath) as MaintenanceModel)).toEqual(
      ACTION_NAMES.filter((a) => enabled.includes(a)),
    );
  });

  it('are the actions Argo CD offers, each with its annotation', () => {
    expect(model.actions.map((a) => a.name).sort()).toEqual([...ACTION_NAMES].sort());
    expect(ACTION_NAMES.map(annotationOf)).toEqual([
      'prognos.dev/promote',
      'prognos.dev/promote-full',
      'prognos.dev/abort',
      'prognos.dev/pause',
      'prognos.dev/resume',
      'prognos.dev/retry',
    ]);
  });

  it('say why an action does not apply', () => {
    expect(refusal('promote', load('stable'))).toBe(
      'no rollout is in progress (phase Stable); promote applies while a rollout is Progressing',
    );
    expect(refusal('promote', load('paused_canary'))).toBe('the rollout is paused; resume it first');
    expect(refusal('pause', load('paused_canary'))).toBe('the rollout is already paused');
    expect(refusal('promote', load('promoting'))).toBe(
      'the new version already takes 100% while the stable rolls to it',
    );
    expect(refusal('abort', load('promotable'))).toBe('no rollout is in progress or paused (phase Paused)');
    expect(refusal('resume', load('progressing_canary'))).toBe(
      'the rollout is not paused (phase Progressing)',
    );
    expect(refusal('abort', load('rolled_back'))).toBe(
      'no rollout is in progress or paused (phase RolledBack)',
    );
    expect(refusal('retry', load('no_status'))).toBe(
      'nothing was rolled back (phase not reported yet); retry applies in phase RolledBack',
    );
    expect(refusal('promote-full', load('version_change'))).toBe(
      'no rollout is in progress (phase Progressing); promote-full applies while a rollout is Progressing',
    );
  });
});

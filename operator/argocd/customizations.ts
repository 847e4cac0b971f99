/**
 * The Argo CD resource customizations of deploy/argocd/resource_customizations (argo-cd's layout:
 * <group>/<Kind>/health.lua, actions/discovery.lua, actions/<name>/action.lua, and the test cases
 * health_test.yaml and actions/action_test.yaml with their testdata/ objects), read from disk.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { GROUP } from '../api/meta.ts';

export const REPO_ROOT = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');
export const CUSTOMIZATIONS_DIR = join(REPO_ROOT, 'deploy/argocd/resource_customizations');

export interface Customization {
  kind: string;
  /** The kind's folder, <group>/<Kind>. */
  dir: string;
  health: string;
  discovery?: string;
  /** Action scripts by name, sorted by name. */
  actions: { name: string; script: string }[];
}

export interface HealthCase {
  inputPath: string;
  healthStatus: { status: string; message: string };
}

export interface DiscoveryCase {
  inputPath: string;
  result: { name: string; disabled: boolean }[];
}

export interface ActionCase {
  action: string;
  inputPath: string;
  expectedOutputPath: string;
}

const read = (path: string): string => readFileSync(path, 'utf8');

/** Every kind of the prognos.dev group that has a folder, sorted by kind. */
export function customizations(): Customization[] {
  const groupDir = join(CUSTOMIZATIONS_DIR, GROUP);
  return readdirSync(groupDir)
    .sort()
    .map((kind) => {
      const dir = join(groupDir, kind);
      const actionsDir = join(dir, 'actions');
      const hasActions = existsSync(join(actionsDir, 'discovery.lua'));
      return {
        kind,
        dir,
        health: read(join(dir, 'health.lua')),
        ...(hasActions ? { discovery: read(join(actionsDir, 'discovery.lua')) } : {}),
        actions: hasActions
          ? readdirSync(actionsDir, { withFileTypes: true })
              .filter((e) => e.isDirectory() && existsSync(join(actionsDir, e.name, 'action.lua')))
              .map((e) => ({ name: e.name, script: read(join(actionsDir, e.name, 'action.lua')) }))
              .sort((a, b) => a.name.localeCompare(b.name))
          : [],
      };
    });
}

export function healthCases(c: Customization): HealthCase[] {
  return (parse(read(join(c.dir, 'health_test.yaml'))) as { tests: HealthCase[] }).tests;
}

export function actionCases(c: Customization): {
  discoveryTests: DiscoveryCase[];
  actionTests: ActionCase[];
} {
  const path = join(c.dir, 'actions', 'action_test.yaml');
  if (!existsSync(path)) return { discoveryTests: [], actionTests: [] };
  const cases = parse(read(path)) as Partial<ReturnType<typeof actionCases>>;
  return { discoveryTests: cases.discoveryTests ?? [], actionTests: cases.actionTests ?? [] };
}

/** A test object, by its path relative to the folder of the test file that names it. */
export function readObject(testFileDir: string, inputPath: string): unknown {
  return parse(read(join(testFileDir, inputPath)));
}

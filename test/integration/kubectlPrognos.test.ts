/**
 * kubectl-prognos through the real kubectl's plugin lookup: bin/ on PATH, `kubectl prognos ...`.
 * No operator runs here (the rollout controller writes status in the product); the test writes each
 * model's status itself through the status subresource, from the Argo CD sample objects.
 */
import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { MaintenanceModel } from '../../operator/api/maintenanceModel.ts';
import { REPO_ROOT, customizations, readObject } from '../../operator/argocd/customizations.ts';
import { kubectl, testEnv, type KubectlResult } from './env.ts';

const namespace = `plugin-${Math.random().toString(36).slice(2, 8)}`;
const actionsDir = join(customizations().find((c) => c.kind === 'MaintenanceModel')!.dir, 'actions');
const scratch = mkdtempSync(join(tmpdir(), 'kubectl-prognos-'));

/** The environment kubectl runs the plugin in: this repository's bin/ first on PATH. */
function pluginEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = testEnv();
  return {
    ...process.env,
    PATH: [join(REPO_ROOT, 'bin'), dirname(env.kubectl), process.env.PATH].join(delimiter),
    KUBECONFIG: env.kubeconfig,
    ...extra,
  };
}

/** `kubectl <args>` through kubectl's own binary, so `prognos` is found by its plugin lookup. */
function plugin(args: string[], extra: Record<string, string> = {}): Promise<KubectlResult> {
  return new Promise((resolve) => {
    execFile(testEnv().kubectl, args, { env: pluginEnv(extra), timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ stdout, stderr, code: err ? (typeof err.code === 'number' ? err.code : 1) : 0 }),
    );
  });
}

async function ok(args: string[], input?: string): Promise<string> {
  const r = await kubectl(args, input === undefined ? {} : { input });
  expect(r.code, `kubectl ${args.join(' ')}:\n${r.stderr}`).toBe(0);
  return r.stdout;
}

/** Creates model `name` from a sample object and writes the sample's status through the subresource. */
async function modelFrom(file: string, name: string): Promise<void> {
  const sample = readObject(actionsDir, `testdata/${file}.yaml`) as MaintenanceModel;
  const object = {
    apiVersion: sample.apiVersion,
    kind: sample.kind,
    metadata: { name, namespace },
    spec: sample.spec,
  };
  const created = JSON.parse(
    await ok(['create', '-o', 'json', '-f', '-'], JSON.stringify(object)),
  ) as MaintenanceModel;
  await setStatus(name, { ...sample.status, observedGeneration: created.metadata.generation });
}

async function setStatus(name: string, status: MaintenanceModel['status']): Promise<void> {
  await ok([
    'patch',
    'mm',
    name,
    '-n',
    namespace,
    '--subresource=status',
    '--type=merge',
    '-p',
    JSON.stringify({ status }),
  ]);
}

async function annotations(name: string): Promise<Record<string, string>> {
  const m = JSON.parse(await ok(['get', 'mm', name, '-n', namespace, '-o', 'json'])) as MaintenanceModel;
  return (m.metadata.annotations ?? {}) as Record<string, string>;
}

beforeAll(async () => {
  await ok(['apply', '--server-side', '-k', join(REPO_ROOT, 'config', 'crd')]);
  await ok(['wait', '--for=condition=Established', '--timeout=60s', 'crd/maintenancemodels.prognos.dev']);
  await ok(['create', 'namespace', namespace]);
  await modelFrom('progressing_canary', 'canary');
  await modelFrom('rolled_back', 'rolled-back');
});

afterAll(async () => {
  await kubectl(['delete', 'namespace', namespace, '--wait=false']);
  rmSync(scratch, { recursive: true, force: true });
});

describe('kubectl prognos', () => {
  it('is a plugin kubectl finds on PATH', async () => {
    const r = await plugin(['plugin', 'list', '--name-only']);
    expect(r.stdout.split('\n')).toContain('kubectl-prognos');
  });

  it('status shows the rollout: phase, steps with the current one, weight, analysis, history', async () => {
    const r = await plugin(['prognos', 'status', 'canary', '-n', namespace]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines).toContain('Name:            canary');
    expect(lines).toContain(`Namespace:       ${namespace}`);
    expect(lines).toContain('Phase:           Progressing');
    expect(lines).toContain('Canary:          v4 (sha256 bbbbbbbbbbbb) at 10%, step 1');
    expect(lines.find((l) => l.startsWith('  →  1     10%     5m'))).toBeDefined();
    expect(lines).toContain('  Weight:        10%');
    expect(lines.find((l) => l.startsWith('  2026-12-02T10:07:00Z  812      Passed'))).toBeDefined();
    expect(lines).toContain('  2026-12-01T08:00:00Z  Promoted  v3');
    expect(lines).toContain('Actions:         promote, promote-full, abort, pause');
  });

  it('promote sets prognos.dev/promote with a merge patch, leaving other annotations alone', async () => {
    await ok(['annotate', 'mm', 'canary', '-n', namespace, 'team=pumps']);
    const r = await plugin(['prognos', 'promote', 'canary', '-n', namespace]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(
      'maintenancemodel "canary" promote requested (prognos.dev/promote); the operator removes the annotation once it acts\n',
    );
    expect(await annotations('canary')).toEqual({ team: 'pumps', 'prognos.dev/promote': 'true' });
  });

  it('promote --full sets prognos.dev/promote-full', async () => {
    const r = await plugin(['prognos', 'promote', '--full', 'canary', '-n', namespace]);
    expect(r.code, r.stderr).toBe(0);
    expect(await annotations('canary')).toMatchObject({ 'prognos.dev/promote-full': 'true' });
  });

  it('refuses an action that does not apply, and writes nothing', async () => {
    const before = await annotations('canary');
    const r = await plugin(['prognos', 'resume', 'canary', '-n', namespace]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'error: cannot resume maintenancemodel "canary": the rollout is not paused (phase Progressing)\n',
    );
    expect(await annotations('canary')).toEqual(before);

    const retry = await plugin(['prognos', 'retry', 'canary', '-n', namespace]);
    expect(retry.stderr).toMatch(/^error: cannot retry maintenancemodel "canary": nothing was rolled back/);
  });

  it('retry applies to a rolled-back model, found in the namespace of the kubeconfig context', async () => {
    // A kubeconfig whose context names the namespace, passed with --kubeconfig rather than KUBECONFIG.
    const kc = parse(readFileSync(testEnv().kubeconfig, 'utf8')) as {
      contexts: { context: { namespace?: string } }[];
    };
    for (const c of kc.contexts) c.context.namespace = namespace;
    const path = join(scratch, 'kubeconfig');
    writeFileSync(path, stringify(kc));
    const r = await plugin(['prognos', 'retry', 'rolled-back', '--kubeconfig', path], {
      KUBECONFIG: '/nonexistent',
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(await annotations('rolled-back')).toEqual({ 'prognos.dev/retry': 'true' });

    const status = await plugin(['prognos', 'status', 'rolled-back', '--kubeconfig', path]);
    expect(status.stdout).toContain('Rolled back:     v4 (sha256 bbbbbbbbbbbb) at 2026-12-02T10:09:00Z');
  });

  it('names a missing model and an unknown context', async () => {
    const missing = await plugin(['prognos', 'status', 'nope', '-n', namespace]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`error: maintenancemodel "nope" not found in namespace ${namespace}\n`);
    const context = await plugin(['prognos', 'status', 'canary', '--context', 'elsewhere']);
    expect(context.stderr).toBe('error: context "elsewhere" is not in the kubeconfig\n');
  });

  it('status --watch prints the model again when its status changes', async () => {
    const child = spawn(testEnv().kubectl, ['prognos', 'status', 'canary', '-n', namespace, '--watch'], {
      env: pluginEnv(),
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const seen = async (text: string) => {
      const deadline = Date.now() + 30_000;
      while (!out.includes(text)) {
        if (Date.now() > deadline) throw new Error(`no "${text}" in:\n${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    try {
      await seen('Phase:           Progressing');
      const current = JSON.parse(
        await ok(['get', 'mm', 'canary', '-n', namespace, '-o', 'json']),
      ) as MaintenanceModel;
      await setStatus('canary', {
        ...current.status,
        phase: 'Paused',
        rollout: { ...current.status!.rollout!, paused: true },
      });
      await seen('Phase:           Paused');
      expect(out).toContain('  Paused:        yes (kubectl prognos resume to continue)');
      expect(out).toContain('Actions:         abort, resume');
    } finally {
      child.kill('SIGTERM');
    }
  });
});

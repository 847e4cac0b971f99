/**
 * The Argo CD customizations under gopher-lua, the Lua Argo CD embeds: every case of every
 * health_test.yaml and action_test.yaml in deploy/argocd/resource_customizations (argo-cd's layout)
 * runs through luacheck (test/tools/luacheck, Argo CD's sandbox and object encoding) and must give
 * exactly the expected health, the expected set of enabled actions, and the expected object.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  actionCases,
  customizations,
  healthCases,
  readObject,
} from '../../operator/argocd/customizations.ts';
import { ensureBinaries } from '../cluster/binaries.ts';

let luacheck: string;

beforeAll(async () => {
  luacheck = (await ensureBinaries()).luacheck;
});

/** Runs `script` in `mode` on `obj` and returns what Argo CD would read from it. */
function runLua(mode: 'health' | 'discovery' | 'action', script: string, obj: unknown): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = execFile(luacheck, [mode, script], { timeout: 10_000 }, (err, stdout, stderr) =>
      err
        ? reject(new Error(`luacheck ${mode} ${script}: ${stderr || err.message}`))
        : resolve(JSON.parse(stdout)),
    );
    child.stdin?.end(JSON.stringify(obj));
  });
}

for (const c of customizations()) {
  describe(c.kind, () => {
    const health = join(c.dir, 'health.lua');
    it.each(healthCases(c))('health of $inputPath is $healthStatus.status', async (t) => {
      expect(await runLua('health', health, readObject(c.dir, t.inputPath))).toEqual(t.healthStatus);
    });

    const actionsDir = join(c.dir, 'actions');
    const { discoveryTests, actionTests } = actionCases(c);
    if (c.discovery !== undefined) {
      it.each(discoveryTests)('discovery on $inputPath', async (t) => {
        const result = await runLua(
          'discovery',
          join(actionsDir, 'discovery.lua'),
          readObject(actionsDir, t.inputPath),
        );
        expect(result).toEqual([...t.result].sort((a, b) => a.name.localeCompare(b.name)));
      });

      it.each(actionTests)('$action on $inputPath', async (t) => {
        const input = readObject(actionsDir, t.inputPath);
        const output = await runLua('action', join(actionsDir, t.action, 'action.lua'), input);
        expect(output).toEqual(readObject(actionsDir, t.expectedOutputPath));
      });

      it('has a case for every action and every action in a case', () => {
        expect([...new Set(actionTests.map((t) => t.action))].sort()).toEqual(c.actions.map((a) => a.name));
      });
    }

    it('uses every sample object', () => {
      const used = new Set([
        ...healthCases(c).map((t) => join(c.dir, t.inputPath)),
        ...discoveryTests.map((t) => join(actionsDir, t.inputPath)),
        ...actionTests.flatMap((t) => [
          join(actionsDir, t.inputPath),
          join(actionsDir, t.expectedOutputPath),
        ]),
      ]);
      const samples = [join(c.dir, 'testdata'), join(actionsDir, 'testdata')]
        .filter((d) => existsSync(d))
        .flatMap((d) => readdirSync(d).map((f) => join(d, f)));
      expect(samples.filter((s) => !used.has(s))).toEqual([]);
    });
  });
}

describe('luacheck', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'luacheck-'));
  const script = (name: string, text: string): string => {
    writeFileSync(join(scratch, name), text);
    return join(scratch, name);
  };
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it("has no string library, like Argo CD's sandbox for argocd-cm scripts", async () => {
    const upper = script('upper.lua', 'return { status = string.upper("healthy") }');
    await expect(runLua('health', upper, {})).rejects.toThrow(/string/);
  });

  it('reads an unknown health status as Unknown, as Argo CD does', async () => {
    const bogus = script('bogus.lua', 'return { status = "Fine", message = "x" }');
    expect(await runLua('health', bogus, {})).toEqual({
      status: 'Unknown',
      message: 'Lua returned an invalid health status',
    });
  });

  it('keeps empty objects of the input empty objects, as Argo CD does', async () => {
    const same = script('same.lua', 'return obj');
    const obj = { metadata: { name: 'a', labels: {} }, spec: { list: [], nested: [{ empty: {} }] } };
    expect(await runLua('action', same, obj)).toEqual(obj);
  });
});

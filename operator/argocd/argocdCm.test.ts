import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { argocdCm, ARGOCD_CM_FILE, docsWithSnippet, DOCS_FILE } from './argocdCm.ts';
import { customizations } from './customizations.ts';
import { parse } from 'yaml';

describe('the argocd-cm snippet', () => {
  const snippet = argocdCm(customizations());

  it('deploy/argocd/argocd-cm.yaml is what npm run generate:argocd makes of the scripts', () => {
    expect(readFileSync(ARGOCD_CM_FILE, 'utf8')).toBe(snippet);
  });

  it('docs/argocd.md shows the same snippet', () => {
    const docs = readFileSync(DOCS_FILE, 'utf8');
    expect(docsWithSnippet(docs, snippet)).toBe(docs);
  });

  it('holds every script verbatim under the keys Argo CD reads', () => {
    const data = (parse(snippet) as { data: Record<string, string> }).data;
    for (const c of customizations()) {
      expect(data[`resource.customizations.health.prognos.dev_${c.kind}`]).toBe(c.health);
      const actions = data[`resource.customizations.actions.prognos.dev_${c.kind}`];
      if (c.discovery === undefined) {
        expect(actions).toBeUndefined();
        continue;
      }
      const parsed = parse(actions!) as { 'discovery.lua': string; definitions: { name: string }[] };
      expect(parsed['discovery.lua']).toBe(c.discovery);
      expect(parsed.definitions).toEqual(c.actions.map((a) => ({ name: a.name, 'action.lua': a.script })));
    }
    expect(Object.keys(data).sort()).toEqual([
      'resource.customizations.actions.prognos.dev_MaintenanceModel',
      'resource.customizations.health.prognos.dev_MaintenanceModel',
      'resource.customizations.health.prognos.dev_RetrainPolicy',
      'resource.customizations.health.prognos.dev_SensorFleet',
    ]);
  });
});

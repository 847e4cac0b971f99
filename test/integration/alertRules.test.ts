// The alert rules (charts/prognos/rules/prognos-alerts.yaml), checked with the real promtool: the file
// parses, each alert fires on the series that should fire it and not on its neighbours
// (test/prometheus/prognos-alerts.test.yaml), it names only metrics the code exports, its runbook
// links land on a heading of docs/runbooks.md, and the chart's PrometheusRule carries exactly it.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { createMetrics } from '../../operator/framework/metrics.ts';
import { createRuntimeMetrics } from '../../runtimes/inference/serve/metrics.ts';
import { ensureBinaries, repoRoot } from '../cluster/binaries.ts';
import { metricNames } from './promqlNames.ts';
import { manifests, renderChart } from './rbacManifests.ts';

const run = promisify(execFile);
const RULES = join(repoRoot, 'charts/prognos/rules/prognos-alerts.yaml');
const RULE_TESTS = join(repoRoot, 'test/prometheus/prognos-alerts.test.yaml');
const RUNBOOKS = join(repoRoot, 'docs/runbooks.md');
const RUNBOOKS_URL = 'https://github.com/prognos/prognos/blob/main/docs/runbooks.md#';

// Metrics the rules may read that Prognos does not export: kube-state-metrics v2 (Deployment
// readiness; kube_deployment_labels needs the managed-by label allowlisted, see docs/runbooks.md).
const KUBE_STATE_METRICS = new Set(['kube_deployment_status_replicas_unavailable', 'kube_deployment_labels']);

interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleFile {
  groups: { name: string; rules: AlertRule[] }[];
}
interface RuleTests {
  tests: { name: string; alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[];
}

const ruleFile = (): RuleFile => parse(readFileSync(RULES, 'utf8')) as RuleFile;
const alerts = (): AlertRule[] => ruleFile().groups.flatMap((g) => g.rules);

/** Names a registry exposes, with a histogram's _bucket, _sum and _count series. */
async function exposedNames(registry: Registry): Promise<string[]> {
  const text = await registry.metrics();
  return [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].flatMap(([, name, type]) =>
    type === 'histogram' || type === 'summary'
      ? [name!, `${name}_bucket`, `${name}_sum`, `${name}_count`]
      : [name!],
  );
}

/** GitHub's anchor of a Markdown heading. */
const anchor = (heading: string): string =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\w\- ]/g, '')
    .replace(/ /g, '-');

describe('alert rules', () => {
  let promtool: string;
  let tmp: string;
  beforeAll(async () => {
    promtool = (await ensureBinaries()).promtool;
    tmp = mkdtempSync(join(tmpdir(), 'prognos-rules-'));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('promtool check rules accepts the rule file', async () => {
    const { stdout } = await run(promtool, ['check', 'rules', RULES]);
    expect(stdout).toContain(`SUCCESS: ${alerts().length} rules found`);
  });

  it('promtool test rules: every alert fires on its series and not on its neighbours', async () => {
    const tests = parse(readFileSync(RULE_TESTS, 'utf8')) as RuleTests;
    const cases = tests.tests.flatMap((t) => t.alert_rule_test);
    for (const { alert } of alerts()) {
      const own = cases.filter((c) => c.alertname === alert);
      expect(
        own.some((c) => c.exp_alerts.length > 0),
        `${alert} has a test where it fires`,
      ).toBe(true);
      expect(
        own.some((c) => c.exp_alerts.length === 0),
        `${alert} has a test where it does not`,
      ).toBe(true);
    }
    const res = await run(promtool, ['test', 'rules', RULE_TESTS]).catch(
      (e: { stdout: string; stderr: string }) => e,
    );
    expect(`${res.stdout}${res.stderr}`).toContain('SUCCESS');
    expect(`${res.stdout}${res.stderr}`).not.toContain('FAILED');
  });

  it('names only metrics the operator, the inference runtime or kube-state-metrics export', async () => {
    const runtime = createRuntimeMetrics();
    const exported = new Set([
      ...(await exposedNames(createMetrics().registry)),
      ...(await exposedNames(runtime.registry)),
      ...KUBE_STATE_METRICS,
    ]);
    runtime.close();
    for (const { alert, expr } of alerts()) {
      const names = metricNames(expr);
      expect(names.length, `${alert} selects a metric`).toBeGreaterThan(0);
      for (const name of names) expect(exported.has(name), `${alert}: ${name} is exported`).toBe(true);
    }
  });

  it('metricNames: leaves functions, keywords, label names, strings, durations and numbers out', () => {
    expect(
      metricNames(
        'sum by (namespace, service) (rate(a_total{x="rate(b)", y=~"c|d"}[5m] offset 1h)) / on (service) ' +
          'group_left(model) max without (pod) (b_info) > 0.05 unless histogram_quantile(0.99, c_bucket[1m:30s]) and bool :d',
      ),
    ).toEqual([':d', 'a_total', 'b_info', 'c_bucket']);
  });

  it('every alert has a severity, a summary, a description and a runbook that docs/runbooks.md has', () => {
    const headings = new Set(
      [...readFileSync(RUNBOOKS, 'utf8').matchAll(/^#{2,3} (.+)$/gm)].map(([, h]) => anchor(h!)),
    );
    for (const { alert, labels, annotations } of alerts()) {
      expect(['warning', 'critical'], alert).toContain(labels?.severity);
      expect(annotations?.summary, alert).toBeTruthy();
      expect(annotations?.description, alert).toBeTruthy();
      const url = annotations?.runbook_url ?? '';
      expect(url.startsWith(RUNBOOKS_URL), `${alert}: ${url}`).toBe(true);
      expect(
        headings.has(url.slice(RUNBOOKS_URL.length)),
        `${alert}: docs/runbooks.md has "## ${alert}"`,
      ).toBe(true);
    }
  });

  it("the chart's PrometheusRule carries the rule file, and promtool accepts what it renders", async () => {
    const yaml = await renderChart('prognos', 'prognos-system', { 'prometheusRule.enabled': 'true' });
    const rule = manifests(yaml).find((o) => o.kind === 'PrometheusRule') as
      { metadata: { name: string }; spec: RuleFile } | undefined;
    expect(rule?.metadata.name).toBe('prognos-alerts');
    expect(rule?.spec).toEqual(ruleFile());
    const rendered = join(tmp, 'rendered.yaml');
    writeFileSync(rendered, stringify(rule!.spec));
    const { stdout } = await run(promtool, ['check', 'rules', rendered]);
    expect(stdout).toContain(`SUCCESS: ${alerts().length} rules found`);
  });

  it('prometheusRule.disabledAlerts leaves an alert out; a name no rule has fails the render', async () => {
    const yaml = await renderChart('prognos', 'prognos-system', {
      'prometheusRule.enabled': 'true',
      'prometheusRule.disabledAlerts': '{PrognosFleetNoReadings}',
    });
    const rule = manifests(yaml).find((o) => o.kind === 'PrometheusRule') as { spec: RuleFile } | undefined;
    const names = rule?.spec.groups.flatMap((g) => g.rules.map((r) => r.alert));
    expect(names).toEqual(
      alerts()
        .map((a) => a.alert)
        .filter((a) => a !== 'PrognosFleetNoReadings'),
    );
    await expect(
      renderChart('prognos', 'prognos-system', {
        'prometheusRule.enabled': 'true',
        'prometheusRule.disabledAlerts': '{PrognosFleetNoReading}',
      }),
    ).rejects.toThrow(/no alert PrognosFleetNoReading in rules/);
  });

  it('off by default: no PrometheusRule and no ServiceMonitor without the prometheus-operator', async () => {
    const kinds = manifests(await renderChart('prognos', 'prognos-system')).map((o) => o.kind);
    expect(kinds).not.toContain('PrometheusRule');
    expect(kinds).not.toContain('ServiceMonitor');
  });
});

/**
 * The Prometheus files under deploy/prometheus: promtool accepts the rules and the example config,
 * the rule unit tests pass (`promtool test rules`: each alert fires where it should and stays quiet
 * where it should), every alert has a runbook line pointing at its section of docs/operations.md,
 * and the expressions use metrics and labels mwingest really exposes.
 *
 * promtool comes from scripts/promtool (Debian's, fetched on first use): a missing promtool fails
 * these tests rather than skipping them.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { catalogOf, exercisedRegistry, promqlParts } from '../support/prometheus.js';

const execFileAsync = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const dir = join(root, 'deploy', 'prometheus');
const PROMTOOL = join(root, 'scripts', 'promtool');

interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleTests {
  rule_files: string[];
  tests: { name?: string; alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[];
}

async function promtool(...args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(PROMTOOL, args, { cwd: dir, timeout: 120_000 });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string; message: string };
    return {
      code: typeof failed.code === 'number' ? failed.code : -1,
      output: `${failed.stdout ?? ''}${failed.stderr ?? failed.message}`,
    };
  }
}

async function alerts(): Promise<AlertRule[]> {
  const file = parse(await readFile(join(dir, 'mwingest.rules.yml'), 'utf8')) as {
    groups: { rules: AlertRule[] }[];
  };
  return file.groups.flatMap((group) => group.rules);
}

/** GitHub's anchors of the headings of a Markdown file. */
function anchorsOf(markdown: string): Set<string> {
  return new Set(
    [...markdown.matchAll(/^#{1,6}\s+(.+)$/gm)].map((m) =>
      m[1]!
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s_-]/gu, '')
        .replace(/\s/g, '-'),
    ),
  );
}

const { registry, close } = exercisedRegistry();
after(close);

describe('Prometheus rules and config (deploy/prometheus)', () => {
  test('promtool accepts the rule file and the example config that loads it', async () => {
    const rules = await promtool('check', 'rules', 'mwingest.rules.yml');
    assert.equal(rules.code, 0, rules.output);
    const config = await promtool('check', 'config', 'prometheus.example.yml');
    assert.equal(config.code, 0, config.output);
  });

  test('promtool test rules: every alert fires and stays quiet as its tests say', async () => {
    const run = await promtool('test', 'rules', 'mwingest.rules.test.yml');
    assert.equal(run.code, 0, run.output);
    assert.match(run.output, /SUCCESS/);
  });

  test('every alert has a test that fires it and one that keeps it quiet', async () => {
    const tests = parse(await readFile(join(dir, 'mwingest.rules.test.yml'), 'utf8')) as RuleTests;
    assert.deepEqual(tests.rule_files, ['mwingest.rules.yml']);
    const cases = tests.tests.flatMap((group) => group.alert_rule_test ?? []);
    for (const { alert } of await alerts()) {
      const mine = cases.filter((c) => c.alertname === alert);
      assert.ok(
        mine.some((c) => (c.exp_alerts ?? []).length > 0),
        `${alert}: no test where it fires`,
      );
      assert.ok(
        mine.some((c) => (c.exp_alerts ?? []).length === 0),
        `${alert}: no test where it stays quiet`,
      );
    }
  });

  test('every alert has a severity, a summary and a runbook line into its docs/operations.md section', async () => {
    const anchors = anchorsOf(await readFile(join(root, 'docs', 'operations.md'), 'utf8'));
    const rules = await alerts();
    assert.ok(rules.length >= 10, `${rules.length} alerts`);
    for (const rule of rules) {
      assert.match(rule.labels?.severity ?? '', /^(critical|warning)$/, rule.alert);
      assert.ok(rule.annotations?.summary, `${rule.alert}: summary`);
      const runbook = rule.annotations?.runbook ?? '';
      assert.doesNotMatch(runbook, /\n/, `${rule.alert}: the runbook is one line`);
      const anchor = /docs\/operations\.md#([\w-]+)$/.exec(runbook)?.[1];
      assert.equal(
        anchor,
        rule.alert.toLowerCase(),
        `${rule.alert}: runbook ends with its section: ${runbook}`,
      );
      assert.ok(anchors.has(anchor), `docs/operations.md has no section #${anchor}`);
    }
  });

  test('alert expressions use metrics mwingest exposes and group by ingest_job, never by job or instance', async () => {
    const catalog = await catalogOf(registry);
    for (const rule of await alerts()) {
      const { selectors, grouping } = promqlParts(rule.expr);
      assert.ok(selectors.length > 0, rule.alert);
      for (const { metric, matchers } of selectors) {
        if (metric === 'up') continue; // Prometheus's own, per scrape target
        const labels = catalog.get(metric);
        assert.ok(labels, `${rule.alert}: ${metric} is not a metric mwingest exposes`);
        for (const label of matchers)
          assert.ok(labels.has(label), `${rule.alert}: ${metric} has no label ${label}`);
      }
      for (const label of grouping) {
        assert.ok(label !== 'job' && label !== 'instance', `${rule.alert}: groups by ${label}`);
        assert.ok(
          selectors.some(({ metric }) => catalog.get(metric)?.has(label)),
          `${rule.alert}: groups by ${label}, a label none of its metrics has`,
        );
      }
    }
  });
});

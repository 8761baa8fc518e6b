/**
 * The Grafana dashboard (deploy/grafana/mwingest-dashboard.json) queries what mwingest exposes:
 * every panel's query names metrics and labels from a real exposition, per-job panels follow the
 * dashboard's job selector, and every panel takes the dashboard's data source.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { catalogOf, exercisedRegistry, promqlParts } from '../support/prometheus.js';

interface Panel {
  type: string;
  title: string;
  datasource?: { uid?: string };
  targets?: { expr: string; datasource?: { uid?: string } }[];
  panels?: Panel[];
}
interface Dashboard {
  uid: string;
  panels: Panel[];
  templating: { list: { name: string; type: string; query: string | { query: string } }[] };
}

const file = join(import.meta.dirname, '..', '..', 'deploy', 'grafana', 'mwingest-dashboard.json');
const dashboard = JSON.parse(await readFile(file, 'utf8')) as Dashboard;
const panels = dashboard.panels
  .flatMap((panel) => [panel, ...(panel.panels ?? [])])
  .filter((p) => p.type !== 'row');
const { registry, close } = exercisedRegistry();
after(close);

/** Labels Prometheus adds to every series it scrapes, and the bucket bound of histograms. */
const SCRAPE_LABELS = new Set(['job', 'instance']);

describe('Grafana dashboard', () => {
  test('every panel queries metrics and labels mwingest exposes', async () => {
    const catalog = await catalogOf(registry);
    assert.ok(panels.length >= 20, `${panels.length} panels`);
    const used = new Set<string>();
    for (const panel of panels) {
      assert.ok(panel.targets && panel.targets.length > 0, `${panel.title}: no query`);
      for (const { expr } of panel.targets) {
        const { selectors, grouping } = promqlParts(expr);
        assert.ok(selectors.length > 0, `${panel.title}: ${expr}`);
        for (const { metric, matchers } of selectors) {
          const labels = catalog.get(metric);
          assert.ok(labels, `${panel.title}: ${metric} is not a metric mwingest exposes`);
          used.add(metric);
          for (const label of matchers)
            assert.ok(
              labels.has(label) || SCRAPE_LABELS.has(label),
              `${panel.title}: ${metric} has no label ${label}`,
            );
        }
        for (const label of grouping)
          assert.ok(
            SCRAPE_LABELS.has(label) || selectors.some(({ metric }) => catalog.get(metric)?.has(label)),
            `${panel.title}: groups by ${label}, a label none of its metrics has`,
          );
      }
    }
    // the headline metrics each have a panel
    for (const metric of [
      'mwingest_last_successful_run_timestamp_seconds',
      'mwingest_consumer_lag_seconds',
      'mwingest_hours_pending_completeness',
      'mwingest_bytes_written_total',
      'mwingest_webhdfs_request_duration_seconds_bucket',
      'mwingest_hive_request_duration_seconds_bucket',
      'mwingest_build_info',
    ])
      assert.ok(used.has(metric), `no panel shows ${metric}`);
  });

  test('per-job metrics follow the $ingest_job selector; the others are limited to mwingest targets', async () => {
    const catalog = await catalogOf(registry);
    for (const panel of panels) {
      for (const { expr } of panel.targets ?? []) {
        for (const { metric, matchers } of promqlParts(expr).selectors) {
          if (metric === 'mwingest_build_info') continue; // one series per process, no job to select
          const perJob = catalog.get(metric)?.has('ingest_job') === true;
          assert.ok(
            perJob ? matchers.includes('ingest_job') : matchers.includes('job'),
            `${panel.title}: ${metric} should be selected by ${perJob ? 'ingest_job' : 'job (the scrape job)'}`,
          );
        }
        if (promqlParts(expr).selectors.some(({ matchers }) => matchers.includes('ingest_job')))
          assert.match(expr, /ingest_job=~"\$ingest_job"/, panel.title);
      }
    }
  });

  test('the job selector lists ingest_job values of an exposed metric; panels use the chosen data source', async () => {
    const catalog = await catalogOf(registry);
    const variable = dashboard.templating.list.find((v) => v.name === 'ingest_job');
    const query = typeof variable?.query === 'string' ? variable.query : variable?.query.query;
    const [, metric, label] = /^label_values\((\w+),\s*(\w+)\)$/.exec(query ?? '') ?? [];
    assert.ok(metric && catalog.get(metric)?.has(label!), `ingest_job variable: ${query}`);
    assert.ok(dashboard.templating.list.some((v) => v.name === 'datasource' && v.type === 'datasource'));
    const chosen = '$' + '{datasource}'; // Grafana's variable syntax, not a template literal
    for (const panel of panels) {
      assert.equal(panel.datasource?.uid, chosen, panel.title);
      for (const target of panel.targets ?? []) assert.equal(target.datasource?.uid, chosen, panel.title);
    }
  });
});

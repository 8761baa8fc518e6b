// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${env:NAME} is the job-file syntax under test, not a template
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadJobForDocs } from '../../scripts/docs-check.js';
import { isMwiError } from '../../src/errors.js';
import { datasetTables } from '../../src/hive/ddl.js';
import { effectiveDataset, loadJob, resolveJobPath, topicMatcher } from '../../src/job/config.js';
import { SchemaRegistry } from '../../src/schemas/registry.js';
import { WMF_FIXTURES } from '../support/fixtures.js';

/** The job files in jobs/: they load, the production one says what production does, and its local twin stays its twin. */
const JOBS = join(import.meta.dirname, '..', '..', 'jobs');
interface JobJson {
  kafka: Record<string, unknown>;
  hive: Record<string, unknown>;
  registry?: unknown;
  fileSystem?: unknown;
}
const EXAMPLE_ENV = { ANALYTICS_HADOOP_WEBHDFS_URL: 'http://an-master1001.eqiad.wmnet:50070' };

describe('the job files in jobs/', () => {
  test('every one validates with the loader (a job reading ${env:…} with its .env.example)', async () => {
    const files = (await readdir(JOBS)).filter((f) => f.endsWith('.json'));
    assert.deepEqual(files.sort(), ['analytics.json', 'analytics.local.json', 'demo.json']);
    for (const file of files) await loadJobForDocs(join(JOBS, file), {});
  });

  test('analytics.json takes its NameNode from the environment, and says which variable when it is not set', async () => {
    await assert.rejects(
      loadJob(join(JOBS, 'analytics.json'), {}),
      (error) =>
        isMwiError(error, 'MWI_CONFIG_INVALID') &&
        /fileSystem\.url: \$\{env:ANALYTICS_HADOOP_WEBHDFS_URL\} names the environment variable ANALYTICS_HADOOP_WEBHDFS_URL/.test(
          error.message,
        ),
    );
    const example = await readFile(join(JOBS, 'analytics.env.example'), 'utf8');
    assert.match(example, /^ANALYTICS_HADOOP_WEBHDFS_URL=http:\/\/\S+$/m);
  });

  test("analytics.json is Wikimedia's mediawiki Camus job: real schemas, every revision, refinery's tables", async () => {
    const loaded = await loadJob(join(JOBS, 'analytics.json'), EXAMPLE_ENV);
    const { config } = loaded;
    const registry = await SchemaRegistry.load(join(JOBS, '..', 'event-schemas'), { strict: true });
    const ingested = registry.names().filter((name) => topicMatcher(config)(`mediawiki_${name}`));
    assert.deepEqual(ingested, ['ApiAction', 'CirrusSearchRequestSet']);
    // each reader pinned to the newest revision, so every revision producers write resolves to it
    for (const name of ingested) {
      assert.equal(effectiveDataset(config, name).readerRevision, registry.latest(name)!.revision, name);
    }
    assert.deepEqual(
      datasetTables(loaded, registry).map((t) => `${t.database}.${t.table} ${t.location}`),
      [
        'wmf_raw.apiaction /wmf/data/raw/mediawiki/mediawiki_ApiAction/hourly',
        'wmf_raw.cirrussearchrequestset /wmf/data/raw/mediawiki/mediawiki_CirrusSearchRequestSet/hourly',
      ],
    );
    // the table names are also the defaults: the schema name in lower case, in wmf_raw
    const defaults = { ...config, datasets: {} };
    assert.equal(effectiveDataset(defaults, 'CirrusSearchRequestSet').hive.table, 'cirrussearchrequestset');
    assert.equal(effectiveDataset(defaults, 'CirrusSearchRequestSet').hive.database, 'wmf_raw');
    assert.equal(config.schedule.cron, '15 * * * *');
    assert.deepEqual(config.timestamp, { field: 'ts', format: 'unix_seconds' });
    assert.equal(config.fileSystem.type, 'hdfs');
  });

  test('analytics.local.json is analytics.json with only the servers and the registry changed', async () => {
    const production = JSON.parse(await readFile(join(JOBS, 'analytics.json'), 'utf8')) as JobJson;
    const local = JSON.parse(await readFile(join(JOBS, 'analytics.local.json'), 'utf8')) as JobJson;
    const endpoints = (job: JobJson) => {
      const copy = structuredClone(job);
      delete copy.kafka.brokers;
      delete copy.registry;
      delete copy.fileSystem;
      delete copy.hive.server;
      delete copy.hive.user;
      return copy;
    };
    assert.deepEqual(endpoints(local), endpoints(production));
    const loaded = await loadJob(join(JOBS, 'analytics.local.json'), {});
    assert.deepEqual(loaded.config.kafka.brokers, ['127.0.0.1:9092']);
    assert.equal(resolveJobPath(loaded, loaded.config.registry!), join(JOBS, '..', 'event-schemas'));
  });

  test("the registry's Wikimedia schemas are the fixtures' bytes", async () => {
    for (const [name, revisions] of [
      ['ApiAction', ['101453221640']],
      ['CirrusSearchRequestSet', ['101446746400', '111448028943', '121456865906']],
    ] as const) {
      for (const revision of revisions) {
        const path = join('avro', 'mediawiki', name, `${revision}.avsc`);
        assert.deepEqual(
          await readFile(join(JOBS, '..', 'event-schemas', path)),
          await readFile(join(WMF_FIXTURES, path)),
          path,
        );
      }
    }
  });
});

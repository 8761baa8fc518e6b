import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { SchemaRegistry } from '../../src/schemas/registry.js';
import type { CheckId, CheckState } from '../../src/upgrade/check-result.js';
import { checkRevision, type RevisionCheckInput, type RevisionVerdict } from '../../src/upgrade/checks.js';

/**
 * The decisions the checks make beyond plain Avro resolution, each on a small registry written
 * here. The crafted breaking changes of test/fixtures/upgrade/ are run through the CLI in
 * test/cli/schema.test.ts.
 */

const temp = await mkdtemp(join(tmpdir(), 'mwingest-upgrade-checks-'));
after(() => rm(temp, { recursive: true, force: true }));

type Schemas = Record<string, Record<string, object>>;
let registries = 0;

async function registryOf(schemas: Schemas): Promise<SchemaRegistry> {
  const root = join(temp, `r${registries++}`);
  for (const [name, revisions] of Object.entries(schemas)) {
    const dir = join(root, 'avro', 'mediawiki', name);
    await mkdir(dir, { recursive: true });
    for (const [id, schema] of Object.entries(revisions)) {
      await writeFile(join(dir, `${id}.avsc`), JSON.stringify(schema, null, 2));
    }
  }
  return SchemaRegistry.load(root);
}

const event = (fields: object[], name = 'Event') => ({ type: 'record', name, fields });
const ts = { name: 'ts', type: 'int', default: 0 };
const wiki = { name: 'wiki', type: 'string', default: '' };

async function verdictOf(
  schemas: Schemas,
  idText: string,
  extra: Partial<RevisionCheckInput> = {},
  name = 'Event',
): Promise<RevisionVerdict> {
  return checkRevision({
    registry: await registryOf(schemas),
    name,
    idText,
    timestamp: { field: 'ts', format: 'unix_seconds', source: 'default' },
    ...extra,
  });
}

function stateOf(verdict: RevisionVerdict, id: CheckId): CheckState {
  return verdict.checks.find((c) => c.id === id)!.state;
}

function findingsOf(verdict: RevisionVerdict, id: CheckId) {
  return verdict.checks.find((c) => c.id === id)!.findings;
}

describe('revision ids and versions', () => {
  test('a version used twice fails, naming the other revision', async () => {
    const v = await verdictOf(
      {
        Event: {
          '101700000000': event([ts]),
          '111700100000': event([ts]),
          '111700200000': event([ts, wiki]),
        },
      },
      '111700200000',
    );
    assert.equal(stateOf(v, 'version'), 'fail');
    assert.match(
      findingsOf(v, 'version')[0]!.message,
      /111700100000 also has version 11: give this revision version 12/,
    );
    assert.equal(v.ok, false);
  });

  test('a time part not after an earlier revision fails', async () => {
    const v = await verdictOf(
      { Event: { '101700000000': event([ts]), '111600000000': event([ts]) } },
      '111600000000',
    );
    assert.equal(stateOf(v, 'revision-id'), 'fail');
    assert.match(findingsOf(v, 'revision-id')[0]!.message, /not after 101700000000/);
  });

  test('a new revision below an existing higher version fails; an old one checked as of its time passes', async () => {
    const schemas = {
      Event: { '101700000000': event([ts]), '121700100000': event([ts, wiki]), '111700200000': event([ts]) },
    };
    const late = await verdictOf(schemas, '111700200000');
    assert.equal(stateOf(late, 'revision-id'), 'fail');
    assert.match(
      findingsOf(late, 'revision-id')[0]!.message,
      /121700100000 \(version 12\) already existed.*131700200000\.avsc/,
    );

    const historical = await verdictOf(
      {
        Event: {
          '101700000000': event([ts]),
          '111700100000': event([ts, wiki]),
          '121700200000': event([ts, wiki]),
        },
      },
      '111700100000',
    );
    assert.equal(stateOf(historical, 'revision-id'), 'pass');
    assert.deepEqual(
      historical.later.map((e) => e.revision),
      [121700200000n],
    );
  });

  test('a time in the future is a warning', async () => {
    const v = await verdictOf(
      { Event: { '101700000000': event([ts]), '119999999999': event([ts]) } },
      '119999999999',
      {
        now: Date.UTC(2026, 0, 1),
      },
    );
    assert.equal(stateOf(v, 'revision-id'), 'warn');
    assert.equal(v.ok, true);
  });

  test('a first revision that is not version 10 is a warning', async () => {
    const v = await verdictOf({ Event: { '111700000000': event([ts]) } }, '111700000000');
    assert.equal(stateOf(v, 'version'), 'warn');
    for (const id of [
      'backward',
      'forward',
      'added-defaults',
      'removed-fields',
      'producer-fields',
    ] as const) {
      assert.equal(stateOf(v, id), 'skip', id);
    }
  });
});

describe('timestamp', () => {
  const check = async (type: unknown, format: string, field = 'ts') =>
    verdictOf({ Event: { '101700000000': event([{ name: field.split('.')[0], type }]) } }, '101700000000', {
      timestamp: { field, format, source: 'job' },
    });

  test('unix seconds: int or long pass, nullable warns, double fails', async () => {
    assert.equal(stateOf(await check('int', 'unix_seconds'), 'timestamp'), 'pass');
    assert.equal(stateOf(await check('long', 'unix_seconds'), 'timestamp'), 'pass');
    assert.equal(stateOf(await check(['null', 'long'], 'unix_seconds'), 'timestamp'), 'warn');
    const dbl = await check('double', 'unix_seconds');
    assert.equal(stateOf(dbl, 'timestamp'), 'fail');
    assert.equal(findingsOf(dbl, 'timestamp')[0]!.path, 'Event.ts');
  });

  test('unix milliseconds need a long', async () => {
    assert.equal(stateOf(await check('long', 'unix_milliseconds'), 'timestamp'), 'pass');
    const int = await check('int', 'unix_milliseconds');
    assert.equal(stateOf(int, 'timestamp'), 'fail');
    assert.match(findingsOf(int, 'timestamp')[0]!.message, /milliseconds need a long/);
  });

  test('ISO-8601 and patterns read strings, also at a dotted path', async () => {
    assert.equal(stateOf(await check('string', 'ISO-8601'), 'timestamp'), 'pass');
    assert.equal(stateOf(await check('int', 'ISO-8601'), 'timestamp'), 'fail');
    const meta = { type: 'record', name: 'Meta', fields: [{ name: 'dt', type: 'string' }] };
    assert.equal(stateOf(await check(['null', meta], 'yyyy-MM-dd HH:mm:ss', 'meta.dt'), 'timestamp'), 'pass');
    const missing = await check(['null', meta], 'ISO-8601', 'meta.when');
    assert.equal(stateOf(missing, 'timestamp'), 'fail');
    assert.equal(findingsOf(missing, 'timestamp')[0]!.path, 'Event.meta.when');
  });
});

describe('field names', () => {
  test('a snake_case name an earlier revision already had is a warning, not a failure', async () => {
    const legacy = { name: 'page_id', type: 'long', default: 0 };
    const v = await verdictOf(
      { Event: { '101700000000': event([ts, legacy]), '111700100000': event([ts, legacy, wiki]) } },
      '111700100000',
    );
    assert.equal(stateOf(v, 'field-names'), 'warn');
    assert.equal(findingsOf(v, 'field-names')[0]!.path, 'Event.page_id');
  });

  test('two names differing only by case fail (Hive columns ignore case)', async () => {
    const v = await verdictOf(
      {
        Event: {
          '101700000000': event([ts, { name: 'pageId', type: 'long', default: 0 }]),
          '111700100000': event([
            ts,
            { name: 'pageId', type: 'long', default: 0 },
            { name: 'pageID', type: 'long', default: 0 },
          ]),
        },
      },
      '111700100000',
    );
    assert.equal(stateOf(v, 'field-names'), 'fail');
    assert.match(findingsOf(v, 'field-names')[0]!.message, /pageId and pageID differ only by case/);
  });
});

describe('forward: the reader the job pins', () => {
  const three = {
    Event: {
      '101700000000': event([ts, { name: 'query', type: 'string' }]),
      '111700100000': event([ts, { name: 'query', type: 'string', default: '' }]),
      '121700200000': event([ts, wiki]),
    },
  };

  test('without a pin, the previous revision is the reader', async () => {
    const v = await verdictOf(three, '121700200000');
    assert.equal(v.reader?.entry.revision, 111700100000n);
    assert.equal(v.reader?.source, 'previous');
    assert.equal(stateOf(v, 'forward'), 'pass');
  });

  test('an older pinned reader is the one checked, and its missing default fails', async () => {
    const v = await verdictOf(three, '121700200000', { pinnedReader: 101700000000n });
    assert.equal(v.reader?.entry.revision, 101700000000n);
    assert.equal(v.reader?.source, 'job');
    assert.equal(stateOf(v, 'forward'), 'fail');
    assert.equal(findingsOf(v, 'forward')[0]!.path, 'Event.query');
  });

  test('a pinned reader that is not in the registry fails', async () => {
    const v = await verdictOf(three, '121700200000', { pinnedReader: 101600000000n });
    assert.equal(stateOf(v, 'forward'), 'fail');
    assert.match(
      findingsOf(v, 'forward')[0]!.message,
      /pins readerRevision 101600000000, which is not a revision of Event/,
    );
  });

  test('a job already pinning the new revision is checked against the previous one', async () => {
    const v = await verdictOf(three, '121700200000', { pinnedReader: 121700200000n });
    assert.equal(v.reader?.entry.revision, 111700100000n);
    assert.match(v.checks.find((c) => c.id === 'forward')!.summary, /already pins this revision/);
  });
});

describe('files', () => {
  test('invalid JSON and a non-record fail the file check and skip the schema checks', async () => {
    const root = join(temp, 'broken');
    const dir = join(root, 'avro', 'mediawiki', 'Event');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, '101700000000.avsc'), JSON.stringify(event([ts])));
    await writeFile(join(dir, '111700100000.avsc'), '{"type": "record",');
    await writeFile(join(dir, '121700200000.avsc'), '"string"');
    const registry = await SchemaRegistry.load(root);
    const timestamp = { field: 'ts', format: 'unix_seconds', source: 'default' } as const;
    const json = await checkRevision({ registry, name: 'Event', idText: '111700100000', timestamp });
    assert.equal(stateOf(json, 'file'), 'fail');
    assert.match(json.checks[0]!.summary, /not valid JSON/);
    assert.equal(stateOf(json, 'backward'), 'skip');
    const primitive = await checkRevision({ registry, name: 'Event', idText: '121700200000', timestamp });
    assert.match(primitive.checks[0]!.summary, /a string, not a record/);
    // The broken 11 is not an "earlier revision" of anything: only 10 is.
    assert.deepEqual(
      primitive.earlier.map((e) => e.revision),
      [101700000000n],
    );
  });
});

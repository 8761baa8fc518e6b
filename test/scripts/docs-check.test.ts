// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${env:NAME} is the job-file syntax under test, not a template
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Command } from 'commander';
import { type CheckOptions, checkDocs, type DocProblem, REPO } from '../../scripts/docs-check.js';
import { buildProgram } from '../../src/cli/program.js';

/**
 * The docs check against the real CLI: the repository's own docs with a flag or a command taken out
 * of the CLI, and small docs of our own in a scratch folder (with a copy of jobs/demo.json).
 */
let root: string;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'mwingest-docs-check-'));
  await mkdir(join(root, 'jobs'));
  await writeFile(
    join(root, 'jobs', 'local.json'),
    JSON.stringify({
      name: 'local',
      kafka: { brokers: ['127.0.0.1:9092'] },
      fileSystem: { type: 'local', root: '../out' },
    }),
  );
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Problems of one doc (README.md in the scratch folder), help examples left out. */
async function problemsOf(markdown: string, options: CheckOptions = {}): Promise<DocProblem[]> {
  await writeFile(join(root, 'README.md'), markdown);
  const problems = await checkDocs({ root, ...options });
  return problems.filter((p) => p.doc === 'README.md');
}

function without(remove: (program: Command) => void): () => Promise<Command> {
  return async () => {
    const program = await buildProgram();
    remove(program);
    return program;
  };
}

function sub(program: Command, name: string): Command {
  const found = program.commands.find((c) => c.name() === name);
  assert.ok(found, name);
  return found;
}

describe('the docs check', () => {
  test("the repository's docs fail when a flag they use is removed from the CLI", async () => {
    const problems = await checkDocs({
      build: without((program) => {
        const schedule = sub(program, 'schedule');
        (schedule as unknown as { options: unknown[] }).options = schedule.options.filter(
          (o) => o.long !== '--cron',
        );
      }),
    });
    const cron = problems.filter((p) => p.command.includes('--cron'));
    assert.ok(
      cron.some((p) => p.doc === 'docs/operations.md' && /unknown option '--cron'/.test(p.message)),
      JSON.stringify(problems, null, 2),
    );
    // the --help examples that use it fail too, and nothing else does
    assert.ok(
      cron.some((p) => p.doc === 'mwingest schedule --help'),
      JSON.stringify(cron, null, 2),
    );
    assert.deepEqual(
      problems.filter((p) => !p.command.includes('--cron')),
      [],
    );
  });

  test("the repository's docs fail when a command they use is removed from the CLI", async () => {
    const problems = await checkDocs({
      build: without((program) => {
        (program as unknown as { commands: Command[] }).commands = program.commands.filter(
          (c) => c.name() !== 'web',
        );
      }),
    });
    assert.ok(problems.some((p) => p.doc === 'README.md' && /unknown command 'web'/.test(p.message)));
    assert.ok(
      problems.some((p) => p.doc === 'docs/operations.md' && /has no subcommand "web"/.test(p.message)),
    );
  });

  test('a command naming a file that does not exist fails, naming the doc, the line and the file', async () => {
    const problems = await problemsOf(
      [
        '# Title',
        '',
        '```sh',
        'mwingest run --job jobs/local.json',
        'mwingest run --job jobs/gone.json',
        '```',
      ].join('\n'),
    );
    assert.deepEqual(
      problems.map((p) => `${p.doc}:${p.line}: ${p.message}`),
      ['README.md:5: --job jobs/gone.json: no such file or folder'],
    );
    // …in a synopsis, an inline span, a positional argument and under ~ too
    const more = await problemsOf(
      [
        '```sh',
        'mwingest hive worker --job jobs/missing.json [--concurrency 1]',
        'mwingest validate --registry ~/no-such-registry-here msg.avro',
        '```',
        'Or `mwingest status --job jobs/absent.json`.',
      ].join('\n'),
    );
    assert.deepEqual(
      more.map((p) => `${p.line}: ${p.message}`),
      [
        '2: --job jobs/missing.json: no such file or folder',
        '3: --registry ~/no-such-registry-here: no such file or folder',
        '3: <file> msg.avro: no such file or folder',
        '5: --job jobs/absent.json: no such file or folder',
      ],
    );
  });

  test('a file the doc writes first (> FILE) counts as there, as does a folder an output option writes into', async () => {
    const problems = await problemsOf(
      [
        '```sh',
        'kcat -C -b 127.0.0.1:9092 -t mediawiki_ApiAction -o -1 -c 1 -e > msg.avro',
        'mwingest validate --topic mediawiki_ApiAction msg.avro',
        'mwingest schema upgrade EditAttempt 121725201754 --hql alter.hql',
        'mwingest schema upgrade EditAttempt 121725201754 --hql no-dir/alter.hql',
        '```',
      ].join('\n'),
    );
    assert.deepEqual(
      problems.map((p) => `${p.line}: ${p.message}`),
      ['5: --hql no-dir/alter.hql: the folder no-dir does not exist'],
    );
  });

  test('an unknown flag, a bad value or a missing argument fails; --help passes', async () => {
    const problems = await problemsOf(
      [
        '```sh',
        'mwingest run --job jobs/local.json --jobb x',
        'mwingest web --job jobs/local.json --port 99999',
        'mwingest schema upgrade EditAttempt',
        'mwingest status --help',
        'mwingest <command> --help',
        '```',
        'Inline: `mwingest worker --metrics-prt P`.',
      ].join('\n'),
    );
    assert.deepEqual(
      problems.map((p) => `${p.line}: ${p.message}`),
      [
        "2: unknown option '--jobb'\n(Did you mean --job?)",
        "3: option '--port <port>' argument '99999' is invalid. expected a port number (0–65535), got \"99999\"",
        "4: missing required argument 'revision'",
        '8: `mwingest worker` has no option --metrics-prt',
      ],
    );
  });

  test('a job file that does not validate fails with the loader’s reason', async () => {
    await writeFile(join(root, 'jobs', 'bad.json'), JSON.stringify({ name: 'Bad Name' }));
    const problems = await problemsOf('```sh\nmwingest status --job jobs/bad.json\n```\n');
    assert.equal(problems.length, 1);
    assert.match(
      problems[0]!.message,
      /--job jobs\/bad\.json does not validate: .*name: expected lower-case/,
    );
  });

  test('a job reading ${env:…} validates with its .env.example; run here, it needs a # needs: line', async () => {
    await writeFile(
      join(root, 'jobs', 'prod.json'),
      JSON.stringify({
        name: 'prod',
        kafka: { brokers: ['kafka1012.eqiad.wmnet:9092'] },
        fileSystem: { type: 'hdfs', url: '${env:DOCS_CHECK_TEST_URL}' },
      }),
    );
    const unmarked = await problemsOf('```sh\nmwingest status --job jobs/prod.json\n```\n');
    assert.match(unmarked[0]?.message ?? '', /does not validate: .*DOCS_CHECK_TEST_URL/);

    await writeFile(
      join(root, 'jobs', 'prod.env.example'),
      'DOCS_CHECK_TEST_URL=http://an-master1001.eqiad.wmnet:50070\n',
    );
    assert.deepEqual(
      (await problemsOf('```sh\nmwingest status --job jobs/prod.json\n```\n')).map((p) => p.message),
      [
        '--job jobs/prod.json needs DOCS_CHECK_TEST_URL from the environment: mark the line "# needs: <reason>" or use a job for the local stack',
      ],
    );
    assert.deepEqual(
      (
        await problemsOf('```sh\nmwingest status --job jobs/prod.json\n```\n', {
          env: { DOCS_CHECK_TEST_URL: 'http://127.0.0.1:9870' },
        })
      ).map((p) => p.message),
      [
        '--job jobs/prod.json talks to kafka1012.eqiad.wmnet:9092: mark the line "# needs: <reason>" or use a job for the local stack',
      ],
    );
    assert.deepEqual(
      await problemsOf(
        '```sh\nmwingest schedule --list\n# needs: the production cluster\nmwingest status --job jobs/prod.json\n```\n',
      ),
      [],
    );
  });

  test('a host that is not this machine needs a reason, on the line or above it', async () => {
    const line =
      'mwingest validate --brokers kafka1012.eqiad.wmnet:9092 --topic mediawiki_ApiAction --count 1';
    assert.deepEqual(
      (await problemsOf(`\`\`\`sh\n${line}\n\`\`\`\n`)).map((p) => p.message),
      [
        'names kafka1012.eqiad.wmnet:9092, which is not on the local stack: mark the line "# needs: <reason>" or use 127.0.0.1',
      ],
    );
    assert.deepEqual(await problemsOf(`\`\`\`sh\n${line}   # needs: a production broker\n\`\`\`\n`), []);
    assert.deepEqual(
      await problemsOf(
        '```sh\nmwingest validate --brokers 127.0.0.1:9092 --topic mediawiki_ApiAction --count 1\n```\n',
      ),
      [],
    );
  });

  test('an untagged block with a mwingest line must say whether it is a command', async () => {
    const problems = await problemsOf(
      '```\nmwingest statsu --job jobs/local.json\n```\n\n```text\nmwingest parquet 39,333\n```\n',
    );
    assert.deepEqual(
      problems.map((p) => `${p.line}: ${p.message}`),
      [
        '2: a code block without a language holds a mwingest line: tag it ```sh (a command, checked) or ```text',
      ],
    );
  });

  test('the check covers every Markdown file of the repository', async () => {
    const { markdownFiles } = await import('../../scripts/docs-check.js');
    const files = await markdownFiles(REPO);
    for (const doc of [
      'README.md',
      'docs/hive.md',
      'docs/operations.md',
      'jobs/README.md',
      'event-schemas/README.md',
    ]) {
      assert.ok(files.includes(doc), doc);
    }
    assert.ok(!files.some((f) => f.startsWith('node_modules/')));
  });
});

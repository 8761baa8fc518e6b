// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${env:NAME} is the job-file syntax under test, not a template
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { afterEach, test } from 'node:test';
import { clearSecrets, maskProcessOutput, maskSecrets, registerSecret } from '../src/secrets.js';

afterEach(clearSecrets);

test('every occurrence of a registered value is shown as its ${env:NAME}, longest value first', () => {
  registerSecret('s3cret', '${env:PW}');
  registerSecret('s3cret-token', '${env:TOKEN}');
  assert.equal(
    maskSecrets('login s3cret; token s3cret-token; s3crets'),
    'login ${env:PW}; token ${env:TOKEN}; ${env:PW}s',
  );
  assert.equal(maskSecrets('nothing here'), 'nothing here');
});

test('masked streams: text and buffers with a secret are masked, other buffers pass unchanged', () => {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  maskProcessOutput([stream as unknown as NodeJS.WriteStream]);
  registerSecret('s3cret', '${env:PW}');
  stream.write('password s3cret\n');
  stream.write(Buffer.from('as bytes: s3cret\n'));
  const binary = Buffer.from([0, 0xff, 0xfe, 1]);
  stream.write(binary);
  assert.equal(Buffer.concat(chunks.slice(0, 2)).toString(), 'password ${env:PW}\nas bytes: ${env:PW}\n');
  assert.equal(chunks[2], binary);
});

test("the logger never writes a job's environment value, whatever object or message holds it", () => {
  const script = `
    import { registerSecret } from './src/secrets.ts';
    import { createLogger } from './src/log.ts';
    registerSecret('s3cret-value', '\${env:HIVE_PW}');
    createLogger('t').error({ reason: 'login failed for s3cret-value', nested: { url: 'http://s3cret-value/' } }, 'saw s3cret-value');
  `;
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: new URL('..', import.meta.url),
    encoding: 'utf8',
  });
  assert.equal(run.status, 0, run.stderr);
  assert.doesNotMatch(run.stderr, /s3cret-value/);
  assert.match(run.stderr, /"msg":"saw \$\{env:HIVE_PW\}"/);
  assert.match(run.stderr, /login failed for \$\{env:HIVE_PW\}/);
});

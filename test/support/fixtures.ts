import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The real MediaWiki schemas (`shared/fixtures/wmf-event-schemas`, beside the project checkout), as a
 * registry root for tests. `MWINGEST_WMF_FIXTURES` points elsewhere; a checkout that is not next to
 * `shared/` falls back to the workplace's `/work/shared`.
 */
function locate(): string {
  const fromEnv = process.env.MWINGEST_WMF_FIXTURES;
  if (fromEnv) return fromEnv;
  const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const beside = join(projectRoot, '..', 'shared', 'fixtures', 'wmf-event-schemas');
  return existsSync(beside) ? beside : '/work/shared/fixtures/wmf-event-schemas';
}

export const WMF_FIXTURES = locate();

/**
 * Records shaped like real MediaWiki events, for tests and bench/codec.ts: a CirrusSearchRequestSet
 * of revision 121456865906 with nested hits and requests (~850 bytes encoded) and an ApiAction
 * (~150 bytes). Deterministic for a seed.
 */

export { WMF_FIXTURES } from '../support/fixtures.js';
export const CIRRUS = 'CirrusSearchRequestSet';
export const CIRRUS_NEWEST = 121456865906n;
export const API_ACTION = 101453221640n;

/** mulberry32: small, fast, seedable (the demo's generator). */
export { createRandom as seededRandom } from '../../src/demo/records.js';

const TITLES = [
  'Apollo 11',
  'Moon landing',
  'Neil Armstrong',
  'Saturn V',
  'Buzz Aldrin',
  'Lunar Module Eagle',
  'Sea of Tranquility',
];
const AGENTS = [
  'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15',
];

function hex(random: () => number, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += '0123456789abcdef'[Math.floor(random() * 16)];
  return out;
}

function hit(random: () => number, i: number) {
  return {
    title: TITLES[(i + Math.floor(random() * 3)) % TITLES.length]!,
    index: 'enwiki_content_1456865906',
    pageId: 10_000 + Math.floor(random() * 5_000_000),
    score: Math.fround(random() * 40),
    profileName: '',
  };
}

/** A CirrusSearchRequestSet record for revision 121456865906 (about 850 bytes encoded). */
export function cirrusRecord(random: () => number, ts = 1456865906) {
  const hits = Array.from({ length: 5 }, (_, i) => hit(random, i));
  return {
    id: `${hex(random, 8)}-${hex(random, 4)}-4${hex(random, 3)}-a${hex(random, 3)}-${hex(random, 12)}`,
    ts,
    wikiId: 'enwiki',
    source: 'web',
    identity: hex(random, 32),
    ip: `10.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}`,
    userAgent: AGENTS[Math.floor(random() * AGENTS.length)]!,
    backendUserTests: ['textcat:control'],
    tookMs: Math.fround(20 + random() * 200),
    payload: { host: 'mw1017', acceptLang: 'en-US,en;q=0.5' },
    hits,
    requests: [
      {
        query: 'apollo moon landing',
        queryType: 'full_text',
        indices: ['enwiki_content'],
        tookMs: 38,
        elasticTookMs: 21,
        limit: 20,
        hitsTotal: 1534,
        hitsReturned: 5,
        hitsOffset: 0,
        namespaces: [0],
        suggestion: '',
        suggestionRequested: true,
        maxScore: Math.fround(41.5),
        payload: {},
        hits: hits.slice(0, 3),
      },
      {
        query: 'apollo moon landing',
        queryType: 'comp_suggest',
        indices: ['enwiki_titlesuggest'],
        tookMs: 9,
        elasticTookMs: 4,
        limit: 10,
        hitsTotal: 2,
        hitsReturned: 2,
        hitsOffset: 0,
        namespaces: [0],
        suggestion: '',
        suggestionRequested: false,
        maxScore: -1,
        payload: {},
        hits: hits.slice(0, 1),
      },
    ],
  };
}

/** An ApiAction record for revision 101453221640 (about 150 bytes encoded). */
export function apiActionRecord(random: () => number, ts = 1453221640) {
  return {
    ts,
    ip: `10.64.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}`,
    userAgent: 'pywikibot/9.0 (python 3.11)',
    wiki: 'wikidatawiki',
    timeSpentBackend: Math.floor(random() * 500),
    hadError: false,
    errorCodes: [],
    params: { action: 'query', format: 'json', prop: 'revisions', titles: 'Q42' },
  };
}

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isMwiError } from '../../src/errors.js';
import { compilePathTemplate } from '../../src/hours/path-template.js';

const vars = {
  root: '/wmf/data/raw/mediawiki',
  topic: 'mediawiki_CirrusSearchRequestSet',
  name: 'CirrusSearchRequestSet',
};
const bucket = { year: 2026, month: 3, day: 7, hour: 4 };

describe('path templates', () => {
  test("the default is Wikimedia's Camus layout, zero-padded", () => {
    const template = compilePathTemplate('<root>/<topic>/hourly/{yyyy}/{MM}/{dd}/{HH}');
    assert.equal(
      template.hourDir(vars, bucket),
      '/wmf/data/raw/mediawiki/mediawiki_CirrusSearchRequestSet/hourly/2026/03/07/04',
    );
    assert.equal(
      template.datasetRoot(vars),
      '/wmf/data/raw/mediawiki/mediawiki_CirrusSearchRequestSet/hourly',
    );
  });

  test('the older documented form <root>/<Name>/<year>/<month>/<day>/<hour> is expressible', () => {
    const template = compilePathTemplate('<root>/<name>/{yyyy}/{MM}/{dd}/{HH}');
    assert.equal(
      template.hourDir(vars, bucket),
      '/wmf/data/raw/mediawiki/CirrusSearchRequestSet/2026/03/07/04',
    );
  });

  test('unpadded and Hive-style forms', () => {
    const template = compilePathTemplate('<root>/<topic>/year={yyyy}/month={M}/day={d}/hour={H}');
    assert.equal(
      template.hourDir(vars, bucket),
      '/wmf/data/raw/mediawiki/mediawiki_CirrusSearchRequestSet/year=2026/month=3/day=7/hour=4',
    );
  });

  test('a trailing or doubled slash does not change the directory', () => {
    const template = compilePathTemplate('<root>//<topic>/{yyyy}/{MM}/{dd}/{HH}/');
    assert.equal(
      template.hourDir(vars, bucket),
      '/wmf/data/raw/mediawiki/mediawiki_CirrusSearchRequestSet/2026/03/07/04',
    );
  });

  for (const [template, reason] of [
    ['<root>/{yyyy}/{MM}/{dd}/{HH}', /<topic> or <name>/],
    ['<root>/<topic>/{yyyy}/{MM}/{dd}', /in that order/],
    ['<root>/<topic>/{yyyy}/{dd}/{MM}/{HH}', /in that order/],
    ['<root>/<topic>/{yyyy}/{MM}/{dd}/{HH}/{HH}', /once each/],
    ['<root>/<dataset>/{yyyy}/{MM}/{dd}/{HH}', /unknown placeholder <dataset>/],
    ['<root>/<topic>/{YYYY}/{MM}/{dd}/{HH}', /unknown placeholder \{YYYY\}/],
    ['data/<topic>/{yyyy}/{MM}/{dd}/{HH}', /absolute/],
    ['<root>/<topic>/{yyyy/{MM}/{dd}/{HH}', /unknown placeholder|unbalanced/],
  ] as const) {
    test(`refuses ${template}`, () => {
      assert.throws(
        () => compilePathTemplate(template),
        (error) =>
          isMwiError(error, 'MWI_CONFIG_INVALID') &&
          /output\.pathTemplate/.test(error.message) &&
          reason.test(error.message),
      );
    });
  }
});

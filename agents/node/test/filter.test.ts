import { describe, expect, it } from 'vitest';
import { ModuleFilter, parseFilterEntries } from '../src/filter.js';

const root = '/srv/app';

function filter(include: string, exclude = '', agentDir?: string): ModuleFilter {
  const inc = parseFilterEntries(include, 'FLOWTRACE_INCLUDE');
  const exc = parseFilterEntries(exclude, 'FLOWTRACE_EXCLUDE');
  expect([...inc.problems, ...exc.problems]).toEqual([]);
  return new ModuleFilter({ include: inc.entries, exclude: exc.entries, root, agentDir });
}

describe('module filter', () => {
  it('defaults to the application’s own files, never node_modules', () => {
    const f = filter('');
    expect(f.matches('/srv/app/src/orders.js')).toBe(true);
    expect(f.matches('/srv/app/server.mjs')).toBe(true);
    expect(f.matches('/srv/app/node_modules/express/index.js')).toBe(false);
    expect(f.matches('/elsewhere/lib.js')).toBe(false);
    expect(f.matches('node:http')).toBe(false);
  });

  it('takes module-path prefixes relative to the project root', () => {
    const f = filter('src/,./lib/orders');
    expect(f.matches('/srv/app/src/a.js')).toBe(true);
    expect(f.matches('/srv/app/lib/orders/index.js')).toBe(true);
    expect(f.matches('/srv/app/lib/other.js')).toBe(false);
    expect(f.matches('/srv/app/test/a.js')).toBe(false);
  });

  it('takes package prefixes for code inside node_modules', () => {
    const f = filter('@acme/,left-pad');
    expect(f.matches('/srv/app/node_modules/@acme/billing/dist/index.js')).toBe(true);
    expect(f.matches('/srv/app/node_modules/left-pad/index.js')).toBe(true);
    expect(f.matches('/srv/app/node_modules/express/index.js')).toBe(false);
    expect(f.matches('/srv/app/src/a.js')).toBe(false);
  });

  it('takes /regex/ entries, tested against the absolute path', () => {
    const f = filter('/services\\/.*\\.service\\.js$/i');
    expect(f.matches('/srv/app/services/orders.service.js')).toBe(true);
    expect(f.matches('/srv/app/services/ORDERS.SERVICE.JS')).toBe(true);
    expect(f.matches('/srv/app/services/orders.js')).toBe(false);
  });

  it('applies exclusions after inclusions', () => {
    const f = filter('src/', 'src/generated/,/\\.test\\.js$/');
    expect(f.matches('/srv/app/src/a.js')).toBe(true);
    expect(f.matches('/srv/app/src/generated/api.js')).toBe(false);
    expect(f.matches('/srv/app/src/a.test.js')).toBe(false);
  });

  it('never instruments the agent or OpenTelemetry, whatever the filter says', () => {
    const f = filter('/.*/', '', '/srv/app/node_modules/@flowtrace/agent-node');
    expect(f.matches('/srv/app/node_modules/@opentelemetry/api/build/src/index.js')).toBe(false);
    expect(f.matches('/srv/app/node_modules/@flowtrace/agent-node/dist/src/wrap.js')).toBe(false);
    expect(f.matches('/srv/app/node_modules/import-in-the-middle/index.js')).toBe(false);
    expect(f.matches('/srv/app/node_modules/lodash/index.js')).toBe(true);
  });

  it('reports a bad regular expression with the setting’s name', () => {
    const { problems } = parseFilterEntries('src/,/([a-z/', 'FLOWTRACE_INCLUDE');
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('FLOWTRACE_INCLUDE');
  });

  it('gives the ESM loader URL patterns that cover what it matches', () => {
    const urls = (f: ModuleFilter, paths: string[]): boolean[] => paths.map((p) => f.loaderPatterns().some((re) => re.test(`file://${p}`)));
    expect(urls(filter(''), ['/srv/app/src/a.mjs', '/srv/app/node_modules/x/a.mjs', '/other/a.mjs'])).toEqual([true, false, false]);
    expect(urls(filter('src/,@acme/'), ['/srv/app/src/a.mjs', '/srv/app/lib/a.mjs', '/srv/app/node_modules/@acme/x/a.mjs'])).toEqual([true, false, true]);
    expect(urls(filter('/orders/'), ['/srv/app/lib/orders.mjs'])).toEqual([true]);
  });
});

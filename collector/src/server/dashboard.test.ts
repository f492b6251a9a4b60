import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requiredAccess } from '../auth/route-access.js';
import { DASHBOARD_CSP, DASHBOARD_PAGES, defaultDashboardDir, registerDashboard } from './dashboard.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const INDEX = '<!doctype html><script type="module" src="/assets/index-AbC123.js"></script><div id="root"></div>';

async function appServing(dir: string): Promise<FastifyInstance> {
  const app = Fastify();
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: `no route ${req.method} ${req.url}` }));
  app.get('/api/services', async () => ({ services: [] }));
  registerDashboard(app, { dir });
  await app.ready();
  return app;
}

describe('the dashboard on the API port', () => {
  let dir: string;
  let built: FastifyInstance;
  let notBuilt: FastifyInstance;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ft-dashboard-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), INDEX);
    writeFileSync(join(dir, 'assets', 'index-AbC123.js'), 'console.log(1)\n');
    writeFileSync(join(dir, 'assets', '.hidden'), 'HIDDEN-CONTENT\n');
    writeFileSync(join(dir, 'secret.txt'), 'OUTSIDE-CONTENT\n');
    built = await appServing(dir);
    notBuilt = await appServing(join(dir, 'no-such-build'));
  });
  afterAll(async () => {
    await built.close();
    await notBuilt.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers every page route with index.html, revalidated, under a strict CSP', async () => {
    for (const url of ['/', '/search?service=a', '/traces/4bf92f3577b34da6a3ce929d0e0e4736', '/services/checkout', '/flame', '/compare?a=1&b=2', '/tail', '/sql']) {
      const res = await built.inject({ url });
      expect(res.statusCode, url).toBe(200);
      expect(res.body).toBe(INDEX);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(res.headers['content-security-policy']).toBe(DASHBOARD_CSP);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
    }
    expect(DASHBOARD_CSP).toContain("frame-ancestors 'none'");
    expect(DASHBOARD_CSP).toContain("script-src 'self';");
    expect(DASHBOARD_CSP).toContain("connect-src 'self'");
    expect(DASHBOARD_CSP).not.toContain('unsafe');
  });

  it('serves hashed assets as immutable for a year, with the same headers', async () => {
    const res = await built.inject({ url: '/assets/index-AbC123.js' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('console.log(1)\n');
    expect(res.headers['content-type']).toMatch(/^text\/javascript|^application\/javascript/);
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });

  it('serves nothing beyond the pages and the assets folder', async () => {
    for (const url of ['/nope', '/index.html', '/secret.txt', '/assets/.hidden', '/assets/../secret.txt', '/assets/%2e%2e/secret.txt', '/assets/missing.js', '/traces']) {
      const res = await built.inject({ url });
      expect(res.statusCode, url).toBe(404);
      expect(res.body, url).not.toMatch(/HIDDEN-CONTENT|OUTSIDE-CONTENT/);
    }
    // The API's own routes and its JSON 404 are untouched, and carry none of the page headers.
    const api = await built.inject({ url: '/api/services' });
    expect(api.json()).toEqual({ services: [] });
    expect(api.headers['content-security-policy']).toBeUndefined();
    expect((await built.inject({ url: '/api/nope' })).json()).toEqual({ error: 'no route GET /api/nope' });
  });

  it('says to run the build when there is none', async () => {
    const res = await notBuilt.inject({ url: '/search' });
    expect(res.statusCode).toBe(503);
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(res.body).toContain('run `npm run build`');
    expect((await notBuilt.inject({ url: '/assets/index-AbC123.js' })).statusCode).toBe(404);
  });

  it('is public, while the data stays behind the read scope', () => {
    for (const page of DASHBOARD_PAGES) expect(requiredAccess('GET', page), page).toBe('public');
    expect(requiredAccess('HEAD', '/')).toBe('public');
    expect(requiredAccess('GET', '/assets/*')).toBe('public');
    expect(requiredAccess('POST', '/search')).toBe('admin');
    expect(requiredAccess('GET', '/api/traces')).toBe('read');
  });

  it('finds dashboard/dist of its checkout from the sources and from the build output', () => {
    const expected = join(ROOT, 'dashboard', 'dist');
    expect(defaultDashboardDir(join(ROOT, 'collector', 'src', 'server'))).toBe(expected);
    expect(defaultDashboardDir(join(ROOT, 'dist', 'collector', 'src', 'server'))).toBe(expected);
    expect(defaultDashboardDir()).toBe(expected);
  });
});

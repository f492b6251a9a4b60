import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';

/**
 * The web dashboard (dashboard/, a Vite build) on the query API's port:
 * - its pages (DASHBOARD_PAGES) answer `index.html`, so deep links and reloads work; any other
 *   path stays the API's JSON 404;
 * - `/assets/*` are the build's hashed files, cached for a year as immutable;
 * - without a build, the pages answer 503 saying to run `npm run build`.
 * Everything here is public (route-access.ts): no data, only the app, which then calls the API
 * under the usual authentication. Every answer carries a strict CSP: scripts, styles and
 * connections only from this origin, nothing inline, no framing.
 */

/** The app's page routes (dashboard/src/router.tsx): the only paths answered with index.html. */
export const DASHBOARD_PAGES = [
  '/',
  '/search',
  '/traces/:traceId',
  '/services',
  '/services/:service',
  '/flame',
  '/compare',
  '/tail',
  '/sql',
] as const;

/** Where the build's hashed files are served from (Vite's `assetsDir`). */
export const DASHBOARD_ASSETS_PREFIX = '/assets/';

export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': DASHBOARD_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

const NOT_BUILT = 'The FlowTrace dashboard is not built: run `npm run build` (or `npm install`) in the FlowTrace checkout, then restart the collector.\n';

export interface DashboardOptions {
  /** The build output; {@link defaultDashboardDir} when absent. */
  dir?: string;
}

/**
 * `dashboard/dist` of the checkout this file belongs to, found by walking up from it: the same
 * from `collector/src/server/` (tsx, tests) and from `dist/collector/src/server/` (after build).
 */
export function defaultDashboardDir(from: string = import.meta.dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'dashboard', 'package.json'))) return join(dir, 'dashboard', 'dist');
    if (dirname(dir) === dir) return join(from, 'dashboard', 'dist'); // not in a checkout: reported as not built
  }
}

/** Registers the dashboard's pages and assets in their own context (its headers stay on its routes). */
export function registerDashboard(app: FastifyInstance, options: DashboardOptions = {}): void {
  const dir = options.dir ?? defaultDashboardDir();
  void app.register(async (scope) => {
    scope.addHook('onSend', async (_req, reply, payload) => {
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) reply.header(name, value);
      return payload;
    });

    for (const page of DASHBOARD_PAGES) {
      scope.get(page, { schema: { hide: true } }, async (_req, reply) => sendIndex(reply, dir));
    }

    const assets = join(dir, 'assets');
    if (existsSync(assets)) {
      await scope.register(fastifyStatic, {
        root: assets,
        prefix: DASHBOARD_ASSETS_PREFIX,
        index: false,
        dotfiles: 'ignore',
        // Vite names every asset by its content hash: a changed file is a new URL.
        immutable: true,
        maxAge: '365d',
        schemaHide: true,
      });
    }
  });
}

async function sendIndex(reply: FastifyReply, dir: string): Promise<FastifyReply> {
  let html: Buffer;
  try {
    html = await readFile(join(dir, 'index.html'));
  } catch {
    return reply.code(503).type('text/plain; charset=utf-8').header('cache-control', 'no-store').send(NOT_BUILT);
  }
  // Always revalidated: it names the current hashed assets.
  return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(html);
}

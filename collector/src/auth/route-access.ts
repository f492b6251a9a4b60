import type { Scope } from './principal.js';

/** What a route needs: nothing (`public`) or a scope (`admin` implies every scope). */
export type RouteAccess = 'public' | Scope;

export interface RouteRule {
  /** An HTTP method, or `*` for any. HEAD is matched as GET. */
  method: string;
  /** A Fastify route pattern as registered (`/api/traces/:traceId`), or a prefix ending in `/*`. */
  route: string;
  access: RouteAccess;
}

/**
 * The one table of who may call what on the query API. First match wins; a route that matches
 * nothing needs `admin` (default deny), so a new route is closed until it is listed here.
 */
export const ROUTE_ACCESS: readonly RouteRule[] = [
  { method: 'GET', route: '/healthz', access: 'public' },
  { method: 'GET', route: '/readyz', access: 'public' },
  { method: 'GET', route: '/metrics', access: 'read' },
  { method: 'POST', route: '/api/sql', access: 'sql' },
  // Exports run a user `where` condition through the same SQL gate (query/export-routes.ts).
  { method: 'POST', route: '/api/export', access: 'sql' },
  // Trace-based assertions (query/assert-routes.ts): reads through the search compiler under the read rules; POST only for the body.
  { method: 'POST', route: '/api/assert', access: 'read' },
  { method: '*', route: '/api/tokens', access: 'admin' },
  { method: '*', route: '/api/tokens/*', access: 'admin' },
  // Writes a backup of the whole store (backup/backup-routes.ts): admin only, like the tokens.
  { method: 'POST', route: '/api/admin/backup', access: 'admin' },
  // Side rows a `process` collector sends the embedded-store owner (roles/owner-rows.ts): the
  // scope that sends spans, since spans make these rows anyway (stitch, RED, drops).
  { method: 'POST', route: '/api/internal/rows/:table', access: 'ingest' },
  // Browser login: each authenticates by itself (BROWSER_SESSION_PUBLIC_ROUTES in browser-session-routes.ts).
  { method: 'POST', route: '/api/session', access: 'public' },
  { method: 'GET', route: '/api/session', access: 'public' },
  { method: 'DELETE', route: '/api/session', access: 'public' },
  { method: 'GET', route: '/auth/oidc/login', access: 'public' },
  { method: 'GET', route: '/auth/oidc/callback', access: 'public' },
  // The web dashboard's pages and assets (server/dashboard.ts, DASHBOARD_PAGES): the app only, no
  // data; the app's API calls need credentials like any other.
  { method: 'GET', route: '/', access: 'public' },
  { method: 'GET', route: '/search', access: 'public' },
  { method: 'GET', route: '/traces/:traceId', access: 'public' },
  { method: 'GET', route: '/services', access: 'public' },
  { method: 'GET', route: '/services/:service', access: 'public' },
  { method: 'GET', route: '/flame', access: 'public' },
  { method: 'GET', route: '/compare', access: 'public' },
  { method: 'GET', route: '/tail', access: 'public' },
  { method: 'GET', route: '/sql', access: 'public' },
  { method: 'GET', route: '/assets/*', access: 'public' },
  // The OpenAPI document (query/openapi-routes.ts): no data, but the API's shape is for callers who may use it.
  { method: 'GET', route: '/api/openapi.json', access: 'read' },
  // Log records (query/logs/): reads, under the same per-service and environment rules as spans.
  { method: 'GET', route: '/api/logs', access: 'read' },
  { method: 'GET', route: '/api/traces/:traceId/logs', access: 'read' },
  { method: 'GET', route: '/api/*', access: 'read' },
  // Jaeger's query API (query/jaeger/): reads, under the same per-service rules.
  { method: 'GET', route: '/jaeger/api/*', access: 'read' },
  // MCP (mcp/http.ts): reads under the per-service rules; its sql tool also needs `sql`, checked in the tool.
  { method: '*', route: '/mcp', access: 'read' },
];

/** The access a request needs; `route` is the matched route pattern (undefined when no route matched). */
export function requiredAccess(method: string, route: string | undefined, rules: readonly RouteRule[] = ROUTE_ACCESS): RouteAccess {
  if (route === undefined) return 'admin';
  const m = method === 'HEAD' ? 'GET' : method;
  for (const rule of rules) {
    if (rule.method !== '*' && rule.method !== m) continue;
    const matches = rule.route.endsWith('/*') ? route.startsWith(rule.route.slice(0, -1)) : route === rule.route;
    if (matches) return rule.access;
  }
  return 'admin';
}

import { describe, expect, it } from 'vitest';
import { requiredAccess } from './route-access.js';

describe('route access table', () => {
  it('leaves only health and readiness public', () => {
    expect(requiredAccess('GET', '/healthz')).toBe('public');
    expect(requiredAccess('HEAD', '/readyz')).toBe('public');
    expect(requiredAccess('GET', '/metrics')).toBe('read');
    expect(requiredAccess('POST', '/api/session')).toBe('public');
    expect(requiredAccess('GET', '/auth/oidc/callback')).toBe('public');
  });

  it('needs sql for /api/sql, admin for tokens, read for other GET /api routes', () => {
    expect(requiredAccess('POST', '/api/sql')).toBe('sql');
    expect(requiredAccess('POST', '/api/export')).toBe('sql');
    expect(requiredAccess('POST', '/api/assert')).toBe('read');
    expect(requiredAccess('POST', '/api/tokens')).toBe('admin');
    expect(requiredAccess('DELETE', '/api/tokens/:id')).toBe('admin');
    expect(requiredAccess('GET', '/api/tokens')).toBe('admin');
    expect(requiredAccess('POST', '/api/admin/backup')).toBe('admin');
    expect(requiredAccess('GET', '/api/traces/:traceId')).toBe('read');
    expect(requiredAccess('GET', '/api/service-graph')).toBe('read');
  });

  it('denies by default: an unlisted route or method, or no route at all, needs admin', () => {
    expect(requiredAccess('POST', '/api/traces')).toBe('admin');
    expect(requiredAccess('GET', '/debug/pprof')).toBe('admin');
    expect(requiredAccess('POST', '/healthz')).toBe('admin');
    expect(requiredAccess('GET', undefined)).toBe('admin');
  });
});

import { describe, expect, it } from 'vitest';
import { principalFromClaims, rolesFromClaims } from './oidc-roles.js';

const roles = {
  viewer: { scopes: ['read' as const], services: ['checkout'], environments: [] },
  everything: { scopes: ['read' as const], services: [], environments: [] },
  prod: { scopes: ['read' as const], services: ['checkout'], environments: ['prod'] },
  staging: { scopes: ['read' as const], services: ['payments'], environments: ['prod'] },
  shipper: { scopes: ['ingest' as const], services: [], environments: [] },
};

describe('rolesFromClaims', () => {
  it('reads a string, an array, or a dotted path; ignores everything else', () => {
    expect(rolesFromClaims({ roles: 'viewer' }, 'roles')).toEqual(['viewer']);
    expect(rolesFromClaims({ roles: ['a', 1, 'b'] }, 'roles')).toEqual(['a', 'b']);
    expect(rolesFromClaims({ realm_access: { roles: ['a'] } }, 'realm_access.roles')).toEqual(['a']);
    expect(rolesFromClaims({ roles: { a: true } }, 'roles')).toEqual([]);
    expect(rolesFromClaims({}, 'realm_access.roles')).toEqual([]);
    expect(rolesFromClaims({ roles: ['a'] }, 'roles.__proto__')).toEqual([]);
  });
});

describe('principalFromClaims', () => {
  const map = (claimRoles: string[]) => principalFromClaims({ sub: 's', preferred_username: 'sam', roles: claimRoles }, { roles_claim: 'roles', roles });

  it('names the principal after its subject', () => {
    expect(map(['viewer'])).toMatchObject({ id: 'oidc:s', kind: 'oidc', name: 'sam' });
  });

  it('lifts a limit when one of the roles has none on that dimension', () => {
    expect(map(['viewer', 'everything']).rules).toEqual({});
  });

  it('unites services when the roles agree on environments', () => {
    expect(map(['prod', 'staging']).rules).toEqual({ services: ['checkout', 'payments'], environments: ['prod'] });
  });

  it('does not let an ingest-only role widen what may be read', () => {
    const p = map(['viewer', 'shipper']);
    expect(p.rules).toEqual({ services: ['checkout'] });
    expect([...p.scopes].sort()).toEqual(['ingest', 'read']);
  });

  it('ignores claim roles the config does not map, and refuses when none is mapped', () => {
    expect(map(['viewer', 'stranger']).rules).toEqual({ services: ['checkout'] });
    expect(() => map(['stranger'])).toThrow(/no role of yours is mapped/);
  });
});

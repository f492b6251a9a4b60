import type { JWTPayload } from 'jose';
import type { AuthConfig } from './config.js';
import { AuthError, type Principal, type ReadRules, type Scope } from './principal.js';

type OidcConfig = AuthConfig['oidc'];
type RoleGrant = OidcConfig['roles'][string];

/** Scopes that read stored data, and so are what read rules limit. */
const READING_SCOPES: ReadonlySet<Scope> = new Set<Scope>(['read', 'sql', 'admin']);

/**
 * The caller's role names from `claim`, a dotted path (`realm_access.roles`) to a string
 * or an array of strings. Anything else counts as no role.
 */
export function rolesFromClaims(claims: JWTPayload, claim: string): string[] {
  let value: unknown = claims;
  for (const key of claim.split('.')) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) return [];
    value = (value as Record<string, unknown>)[key];
  }
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return [];
}

/**
 * The principal of a verified OIDC token: its roles mapped through `auth.oidc.roles`, scopes
 * and read rules united over the roles. Throws AuthError(403) when no role is mapped.
 */
export function principalFromClaims(claims: JWTPayload, config: Pick<OidcConfig, 'roles_claim' | 'roles'>): Principal {
  const sub = claims.sub ?? '';
  const roleNames = rolesFromClaims(claims, config.roles_claim);
  const grants = roleNames.filter((r) => Object.hasOwn(config.roles, r)).map((r) => [r, config.roles[r]] as const);
  if (grants.length === 0) {
    throw new AuthError(403, `no role of yours is mapped: the token's "${config.roles_claim}" claim holds ${roleNames.length ? roleNames.map((r) => JSON.stringify(r)).join(', ') : 'no role'}, auth.oidc.roles maps ${Object.keys(config.roles).map((r) => JSON.stringify(r)).join(', ') || 'none'}`);
  }
  const scopes = new Set<Scope>(grants.flatMap(([, g]) => g.scopes));
  return {
    id: `oidc:${sub}`,
    kind: 'oidc',
    name: firstString(claims.name, claims.email, claims.preferred_username) ?? sub,
    scopes,
    rules: unitedRules(grants.filter(([, g]) => g.scopes.some((s) => READING_SCOPES.has(s)))),
  };
}

/**
 * The read rules of several roles together. Rules are one list per dimension, so the union
 * is exact only when the roles agree on at least one dimension (e.g. all limit to the same
 * services): `{a}×{prod} ∪ {b}×{dev}` is not `{a,b}×{prod,dev}`. Rather than grant more
 * than any role does, such a combination is refused. An empty list means "no limit".
 */
function unitedRules(grants: ReadonlyArray<readonly [string, RoleGrant]>): ReadRules {
  if (grants.length === 0) return {};
  const same = (pick: (g: RoleGrant) => string[]) => {
    const first = key(pick(grants[0][1]));
    return grants.every(([, g]) => key(pick(g)) === first);
  };
  if (!same((g) => g.services) && !same((g) => g.environments)) {
    throw new AuthError(403, `your roles ${grants.map(([r]) => JSON.stringify(r)).join(', ')} limit both services and environments differently, which cannot be combined into one rule: grant them through one role in auth.oidc.roles`);
  }
  const union = (pick: (g: RoleGrant) => string[]): string[] | undefined =>
    grants.some(([, g]) => pick(g).length === 0) ? undefined : [...new Set(grants.flatMap(([, g]) => pick(g)))].sort();
  const rules: ReadRules = {};
  const services = union((g) => g.services);
  const environments = union((g) => g.environments);
  if (services) rules.services = services;
  if (environments) rules.environments = environments;
  return rules;
}

function key(list: string[]): string {
  return JSON.stringify([...new Set(list)].sort());
}

function firstString(...values: unknown[]): string | undefined {
  return values.find((v): v is string => typeof v === 'string' && v !== '');
}

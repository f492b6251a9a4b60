import type { Logger } from 'pino';
import { ConfigError } from '../config/load.js';
import type { SessionAuthenticator } from './api-auth.js';
import { BrowserSessions } from './browser-session.js';
import type { AuthConfig } from './config.js';
import { createOidcVerifier } from './oidc.js';
import { OidcLogin } from './oidc-login.js';
import type { CredentialVerifier } from './principal.js';

/** The seams of the collector's auth this needs (CollectorAuth). */
export interface AuthSeams {
  addVerifier(verifier: CredentialVerifier): void;
  readonly api: { readonly verifiers: readonly CredentialVerifier[]; sessions?: SessionAuthenticator };
}

/**
 * Adds the OIDC JWT verifier (when `auth.oidc.issuer` is set) after the API tokens, and builds
 * the browser sessions on the same verifier chain, with OIDC browser login when
 * `auth.oidc.client_id` is set. Registers the sessions with the API's auth hook.
 */
export function setUpOidcAndSessions(config: AuthConfig, auth: AuthSeams, options: { secure: boolean; logger: Logger }): BrowserSessions {
  let oidcLogin: OidcLogin | undefined;
  if (config.oidc.issuer) {
    const verifier = createOidcVerifier(config.oidc, options.logger);
    auth.addVerifier(verifier);
    if (config.oidc.client_id) oidcLogin = new OidcLogin(config.oidc, verifier);
  } else if (config.oidc.client_id) {
    throw new ConfigError('auth.oidc.client_id', 'browser login through OIDC needs auth.oidc.issuer');
  }
  const sessions = new BrowserSessions({ ttlMinutes: config.sessions.ttl_minutes, verifiers: auth.api.verifiers, secure: options.secure, oidcLogin });
  auth.api.sessions = sessions;
  return sessions;
}

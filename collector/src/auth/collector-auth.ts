import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from 'pino';
import type { ApiAuthOptions, SessionAuthenticator } from './api-auth.js';
import { AuditLog } from './audit.js';
import { AuthConfigError, bootstrapAdminToken } from './bootstrap.js';
import type { AuthConfig } from './config.js';
import { createIngestAuthenticator, type IngestAuthenticator } from './ingest-auth.js';
import { isLoopbackHost } from './loopback.js';
import type { CredentialVerifier } from './principal.js';
import { TokenStore } from './token-store.js';

export interface CollectorAuthDeps {
  writer: ClickHouseClient;
  reader: ClickHouseClient;
  database: string;
  /** The API's configured bind host (`127.0.0.1`, `0.0.0.0`, …). */
  apiHost: string;
  /** `api.cors.allowed_origins`. */
  corsOrigins: readonly string[];
  logger: Logger;
}

/**
 * Authentication for the whole collector: the API token store, the verifiers every face
 * shares (API tokens first; OIDC adds its JWT verifier with {@link addVerifier}), the API's
 * auth options, the receivers' ingest authenticator, and the audit log.
 */
export class CollectorAuth {
  readonly tokens: TokenStore;
  readonly audit: AuditLog;
  readonly ingest: IngestAuthenticator;
  /** True when requests must carry credentials: the API is not bound to loopback only, or `require_credentials: always`. */
  readonly credentialsRequired: boolean;
  private readonly verifiers: CredentialVerifier[];
  private readonly logger: Logger;
  /** The API's auth hook options; `sessions` may be set once browser sessions are built. */
  readonly api: ApiAuthOptions & { sessions?: SessionAuthenticator };

  constructor(
    private readonly config: AuthConfig,
    deps: CollectorAuthDeps,
  ) {
    this.logger = deps.logger.child({ component: 'auth' });
    this.tokens = new TokenStore({ writer: deps.writer, reader: deps.reader }, deps.database);
    this.verifiers = [this.tokens];
    this.audit = new AuditLog(deps.writer, deps.database, config.audit.retention_days, deps.logger);
    this.ingest = createIngestAuthenticator(this.verifiers, config.ingest.required);
    this.credentialsRequired = config.api.require_credentials === 'always' || !isLoopbackHost(deps.apiHost);
    this.api = { verifiers: this.verifiers, anonymousLoopback: !this.credentialsRequired, allowedOrigins: deps.corsOrigins, audit: this.audit };
  }

  /** Adds a verifier (e.g. OIDC JWTs), tried after the ones before it, on the API and the receivers. */
  addVerifier(verifier: CredentialVerifier): void {
    this.verifiers.push(verifier);
  }

  /**
   * Loads the tokens, registers the bootstrap token, and refuses (AuthConfigError) when
   * credentials are required but there is no way in.
   */
  async start(): Promise<void> {
    await this.tokens.start();
    const file = this.config.bootstrap_token_file;
    if (file) await bootstrapAdminToken(file, this.tokens, this.logger);
    if (this.credentialsRequired && !this.tokens.hasActiveToken() && !this.config.oidc.issuer) {
      const why = this.config.api.require_credentials === 'always' ? 'auth.api.require_credentials is "always"' : 'the query API listens on a non-loopback address';
      const bootstrap = file
        ? `the bootstrap token in ${file} was revoked (delete the file to have a new one created)`
        : 'start with --bootstrap-token-file FILE (auth.bootstrap_token_file) to create the first admin token';
      throw new AuthConfigError(`${why}, so it needs credentials, but there is no way in: ${bootstrap}, or set auth.oidc.issuer`);
    }
    await this.audit.start();
  }

  async shutdown(): Promise<void> {
    this.tokens.stop();
    await this.audit.shutdown();
  }
}

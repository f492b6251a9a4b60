import type { ClickHouseClient } from '@clickhouse/client';
import { createTableStatements, onCluster, shardBy, storeCluster } from '../../../exporters/clickhouse/cluster-ddl.js';
import { AuthError, SCOPES, type CredentialVerifier, type Principal, type ReadRules, type Scope } from './principal.js';
import { generateToken, generateTokenId, hashToken, isTokenShaped, sameDigest, TOKEN_PREFIX } from './token-format.js';

/**
 * `flowtrace_api_tokens`: one row per token after merges (ReplacingMergeTree on `Version`, so a
 * revocation is a newer row of the same id). It holds only SHA-256 digests, never a token; user
 * SQL cannot read it (it is not on the user-SQL allow-list).
 */
export const API_TOKENS_TABLE = 'flowtrace_api_tokens';

/** How often the cache is re-read, so tokens created or revoked by another collector on the same ClickHouse take effect here. */
const REFRESH_MS = 30_000;

export interface ApiToken {
  id: string;
  name: string;
  scopes: Scope[];
  services: string[];
  environments: string[];
  createdAt: Date;
  expiresAt?: Date;
  revokedAt?: Date;
}

interface StoredToken extends ApiToken {
  /** SHA-256 of the token, hex. */
  hash: string;
  version: number;
}

export interface NewToken {
  name: string;
  scopes: Scope[];
  services?: string[];
  environments?: string[];
  expiresAt?: Date;
}

/** The API is up but the token table has not been read yet: 503, retry shortly. */
export class TokensNotLoadedError extends Error {
  override name = 'TokensNotLoadedError';
}

export interface TokenStoreClients {
  writer: ClickHouseClient;
  reader: ClickHouseClient;
}

/**
 * API tokens: created, listed and revoked through the API, kept in ClickHouse and cached in
 * memory, so verifying a request costs no query and a revocation is effective at once here.
 * Also the CredentialVerifier for `ft_` bearer tokens.
 */
export class TokenStore implements CredentialVerifier {
  readonly kind = 'api-token';
  private byHash = new Map<string, StoredToken>();
  private loaded = false;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly clients: TokenStoreClients,
    private readonly database: string,
    private readonly now: () => number = Date.now,
  ) {}

  private get table(): string {
    return `\`${this.database}\`.\`${API_TOKENS_TABLE}\``;
  }

  /** Creates the table, reads it, and keeps re-reading it. */
  async start(): Promise<void> {
    const cluster = storeCluster(this.clients.writer);
    await this.clients.writer.command({ query: `CREATE DATABASE IF NOT EXISTS \`${this.database}\`${onCluster(cluster)}` });
    const create = `CREATE TABLE IF NOT EXISTS ${this.table} (
        Id String,
        Name String,
        TokenHash String,
        Scopes Array(LowCardinality(String)),
        Services Array(String),
        Environments Array(String),
        CreatedAt DateTime64(3, 'UTC'),
        ExpiresAt Nullable(DateTime64(3, 'UTC')),
        RevokedAt Nullable(DateTime64(3, 'UTC')),
        Version UInt64
      ) ENGINE = ReplacingMergeTree(Version)
      ORDER BY Id`;
    // Cluster mode (cluster-ddl.ts): every version of a token on one shard, so FINAL keeps the newest.
    for (const query of createTableStatements(create, cluster, shardBy('Id'))) await this.clients.writer.command({ query });
    await this.refresh();
    this.timer = setInterval(() => void this.refresh().catch(() => undefined), REFRESH_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Re-reads every token (a few hundred rows at most: tokens are made by hand). */
  async refresh(): Promise<void> {
    const result = await this.clients.reader.query({
      query: `SELECT Id, Name, TokenHash, Scopes, Services, Environments,
        toUnixTimestamp64Milli(CreatedAt) AS Created, toUnixTimestamp64Milli(ExpiresAt) AS Expires,
        toUnixTimestamp64Milli(RevokedAt) AS Revoked, Version
        FROM ${this.table} FINAL`,
      format: 'JSONEachRow',
      clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
    });
    type Row = { Id: string; Name: string; TokenHash: string; Scopes: string[]; Services: string[]; Environments: string[]; Created: number; Expires: number | null; Revoked: number | null; Version: number };
    const next = new Map<string, StoredToken>();
    for (const row of await result.json<Row>()) {
      next.set(row.TokenHash, {
        id: row.Id,
        name: row.Name,
        hash: row.TokenHash,
        scopes: row.Scopes.filter((s): s is Scope => (SCOPES as readonly string[]).includes(s)),
        services: row.Services,
        environments: row.Environments,
        createdAt: new Date(row.Created),
        expiresAt: row.Expires === null ? undefined : new Date(row.Expires),
        revokedAt: row.Revoked === null ? undefined : new Date(row.Revoked),
        version: row.Version,
      });
    }
    // A token created or revoked here while the read was running is kept as this collector knows it.
    for (const [hash, mine] of this.byHash) {
      const read = next.get(hash);
      if (!read || read.version < mine.version) next.set(hash, mine);
    }
    this.byHash = next;
    this.loaded = true;
  }

  /** Creates a token; the only time the token itself exists outside the caller is this return value. */
  async create(spec: NewToken): Promise<{ token: string; info: ApiToken }> {
    const token = generateToken();
    const stored = await this.insert(token, spec);
    return { token, info: publicView(stored) };
  }

  /**
   * Registers a token the operator chose (the bootstrap file). Idempotent: a token already
   * stored — even revoked — is left as it is, so a restart never brings a revoked token back.
   */
  async register(token: string, spec: NewToken): Promise<ApiToken> {
    const existing = this.byHash.get(hashToken(token));
    return publicView(existing ?? (await this.insert(token, spec)));
  }

  list(): ApiToken[] {
    return [...this.byHash.values()].map(publicView).sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
  }

  /** Revokes by id; undefined when there is no such token. Revoking twice keeps the first time. */
  async revoke(id: string): Promise<ApiToken | undefined> {
    const stored = [...this.byHash.values()].find((t) => t.id === id);
    if (!stored) return undefined;
    if (stored.revokedAt) return publicView(stored);
    const revoked: StoredToken = { ...stored, revokedAt: new Date(this.now()), version: Math.max(stored.version + 1, this.now()) };
    await this.write(revoked);
    this.byHash.set(revoked.hash, revoked);
    return publicView(revoked);
  }

  /** True when some token is neither revoked nor expired: there is a way in. */
  hasActiveToken(): boolean {
    const now = this.now();
    return [...this.byHash.values()].some((t) => !t.revokedAt && !(t.expiresAt && t.expiresAt.getTime() <= now));
  }

  async verify(bearer: string): Promise<Principal | undefined> {
    if (!bearer.startsWith(TOKEN_PREFIX)) return undefined;
    if (!this.loaded) throw new TokensNotLoadedError('the collector is starting: API tokens are not loaded yet; retry shortly');
    if (!isTokenShaped(bearer)) throw new AuthError(401, 'malformed API token');
    const digest = hashToken(bearer);
    // Looked up by digest (timing reveals nothing about the token), confirmed in constant time.
    const stored = this.byHash.get(digest);
    if (!stored || !sameDigest(stored.hash, digest)) throw new AuthError(401, 'unknown API token');
    if (stored.revokedAt) throw new AuthError(401, `API token ${stored.id} was revoked`);
    if (stored.expiresAt && stored.expiresAt.getTime() <= this.now()) throw new AuthError(401, `API token ${stored.id} expired at ${stored.expiresAt.toISOString()}`);
    const rules: ReadRules = {};
    if (stored.services.length) rules.services = [...stored.services];
    if (stored.environments.length) rules.environments = [...stored.environments];
    return { id: `token:${stored.id}`, kind: 'token', name: stored.name, scopes: new Set(stored.scopes), rules };
  }

  private async insert(token: string, spec: NewToken): Promise<StoredToken> {
    const now = this.now();
    const stored: StoredToken = {
      id: generateTokenId(),
      name: spec.name,
      hash: hashToken(token),
      scopes: [...new Set(spec.scopes)],
      services: spec.services ?? [],
      environments: spec.environments ?? [],
      createdAt: new Date(now),
      expiresAt: spec.expiresAt,
      version: now,
    };
    await this.write(stored);
    this.byHash.set(stored.hash, stored);
    return stored;
  }

  private async write(t: StoredToken): Promise<void> {
    await this.clients.writer.insert({
      table: this.table,
      format: 'JSONEachRow',
      values: [
        {
          Id: t.id,
          Name: t.name,
          TokenHash: t.hash,
          Scopes: t.scopes,
          Services: t.services,
          Environments: t.environments,
          CreatedAt: dateTime(t.createdAt),
          ExpiresAt: t.expiresAt ? dateTime(t.expiresAt) : null,
          RevokedAt: t.revokedAt ? dateTime(t.revokedAt) : null,
          Version: t.version,
        },
      ],
    });
  }
}

function publicView(t: StoredToken): ApiToken {
  const { hash: _hash, version: _version, ...info } = t;
  return info;
}

/** `YYYY-MM-DD hh:mm:ss.sss` in UTC, as DateTime64(3, 'UTC') parses it. */
export function dateTime(d: Date): string {
  return d.toISOString().replace('T', ' ').replace('Z', '');
}

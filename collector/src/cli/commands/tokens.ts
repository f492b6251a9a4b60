import type { CreateTokenRequest, TokenJson } from '../../auth/token-routes.js';
import { SCOPES, type Scope } from '../../auth/principal.js';
import { ApiError, apiCredential, apiUrl, callApi, CONNECTION_HELP } from '../api-client.js';
import { parseCommandArgs } from '../args.js';
import { UsageError, type Command, type CommandIO } from '../command.js';
import { formatTable } from '../format.js';

const CREATE_USAGE = `Usage: flowtrace tokens create --name NAME --scope SCOPES [options]

Creates an API token through the collector's API (admin scope needed) and prints it once:
it is stored only as a hash and cannot be shown again.

Options:
  --name NAME          what the token is for (shown in tokens list and the audit log)
  --scope SCOPES       comma-separated: ${SCOPES.join(', ')} (admin implies all)
  --service NAMES      comma-separated: read only these services (default: all)
  --environment NAMES  comma-separated: read only these deployment environments (default: all)
  --expires DURATION   e.g. 30d, 12h, 90m (default: never)
  --json               print the token and its details as JSON
${CONNECTION_HELP}
  -h, --help           show this help
`;

const LIST_USAGE = `Usage: flowtrace tokens list [options]

Lists the API tokens (never their values) through the collector's API (admin scope needed).

Options:
  --json               print JSON
${CONNECTION_HELP}
  -h, --help           show this help
`;

const REVOKE_USAGE = `Usage: flowtrace tokens revoke [options] ID

Revokes an API token by id (see tokens list); effective at once (admin scope needed).

Options:
${CONNECTION_HELP}
  -h, --help           show this help
`;

const connection = { api: { type: 'string' }, 'token-file': { type: 'string' }, help: { type: 'boolean', short: 'h' } } as const;

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

const UNIT_SECONDS: Record<string, number> = { m: 60, h: 3600, d: 86_400 };

/** `30d`, `12h`, `90m` → seconds. */
export function parseExpiry(text: string): number {
  const m = /^(\d{1,6})([mhd])$/.exec(text.trim());
  if (!m || Number(m[1]) === 0) throw new UsageError(`--expires: expected a duration such as 30d, 12h or 90m, got '${text}'`);
  return Number(m[1]) * UNIT_SECONDS[m[2]!]!;
}

/** Runs an API call with the command's connection options, printing API errors (exit 1). */
async function withApi(name: string, values: { api?: string; 'token-file'?: string }, io: CommandIO, call: (base: string, token: string | undefined) => Promise<void>): Promise<number> {
  const token = apiCredential(values['token-file'], io.env);
  try {
    await call(apiUrl(values.api, io.env), token);
    return 0;
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    io.stderr.write(`flowtrace tokens ${name}: ${err.message}\n`);
    return 1;
  }
}

export const tokensCreateCommand: Command = {
  path: ['tokens', 'create'],
  summary: 'create an API token (printed once)',
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, {
      ...connection,
      name: { type: 'string' },
      scope: { type: 'string' },
      service: { type: 'string' },
      environment: { type: 'string' },
      expires: { type: 'string' },
      json: { type: 'boolean' },
    });
    if (values.help) {
      io.stdout.write(CREATE_USAGE);
      return 0;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    if (!values.name?.trim()) throw new UsageError('--name is required');
    const scopes = list(values.scope);
    if (scopes.length === 0) throw new UsageError(`--scope is required: one or more of ${SCOPES.join(', ')}`);
    const unknown = scopes.find((s) => !(SCOPES as readonly string[]).includes(s));
    if (unknown) throw new UsageError(`--scope: unknown scope '${unknown}'; expected ${SCOPES.join(', ')}`);
    const body: CreateTokenRequest = {
      name: values.name.trim(),
      scopes: scopes as Scope[],
      services: list(values.service),
      environments: list(values.environment),
      expiresInSeconds: values.expires === undefined ? undefined : parseExpiry(values.expires),
    };
    return withApi('create', values, io, async (base, token) => {
      const created = await callApi<TokenJson & { token: string }>(base, '/api/tokens', { method: 'POST', body, token });
      if (values.json) {
        io.stdout.write(JSON.stringify(created, null, 2) + '\n');
        return;
      }
      io.stdout.write(`${created.token}\n`);
      io.stderr.write(`created token ${created.id} (${created.name}): scopes ${created.scopes.join(',')}${created.expiresAt ? `, expires ${created.expiresAt}` : ''}. It is shown only this once.\n`);
    });
  },
};

export const tokensListCommand: Command = {
  path: ['tokens', 'list'],
  summary: 'list API tokens',
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, { ...connection, json: { type: 'boolean' } });
    if (values.help) {
      io.stdout.write(LIST_USAGE);
      return 0;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    return withApi('list', values, io, async (base, token) => {
      const { tokens } = await callApi<{ tokens: TokenJson[] }>(base, '/api/tokens', { token });
      if (values.json) {
        io.stdout.write(JSON.stringify(tokens, null, 2) + '\n');
        return;
      }
      const rows = tokens.map((t) => ({
        id: t.id,
        name: t.name,
        scopes: t.scopes.join(','),
        services: t.services.join(',') || '*',
        environments: t.environments.join(',') || '*',
        created: t.createdAt,
        expires: t.expiresAt ?? '',
        status: t.revokedAt ? 'revoked' : t.expiresAt && Date.parse(t.expiresAt) <= Date.now() ? 'expired' : 'active',
      }));
      io.stdout.write(formatTable(['id', 'name', 'scopes', 'services', 'environments', 'created', 'expires', 'status'], rows));
    });
  },
};

export const tokensRevokeCommand: Command = {
  path: ['tokens', 'revoke'],
  summary: 'revoke an API token by id',
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, connection);
    if (values.help) {
      io.stdout.write(REVOKE_USAGE);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError('expected one token id (see flowtrace tokens list)');
    const id = positionals[0]!;
    return withApi('revoke', values, io, async (base, token) => {
      const revoked = await callApi<TokenJson>(base, `/api/tokens/${encodeURIComponent(id)}`, { method: 'DELETE', token });
      io.stdout.write(`revoked token ${revoked.id} (${revoked.name}) at ${revoked.revokedAt}\n`);
    });
  },
};

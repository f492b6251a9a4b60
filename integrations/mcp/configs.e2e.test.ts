// The IDE configurations in this folder (README.md says where each goes and quotes each product's
// documented format): each file's shape is checked against that format, no file holds a token,
// and every server a file names really answers `initialize` and `tools/list` against a real
// collector that requires a token — a stdio server by running the command it names (`flowtrace`
// on PATH, as `npm link` puts it there), an HTTP server by connecting to its URL with its
// headers — after the variables the product documents are filled in the way that product does.
import { readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, FLOWTRACE_BIN, newTempDir, startCollector, type RunningCollector } from '../../test/helpers/collector.js';

const DIR = import.meta.dirname;
/** The collector URL and token file the examples name; the test points them at its own. */
const EXAMPLE_API = 'http://127.0.0.1:8686';
const EXAMPLE_TOKEN_FILE = '/path/to/flowtrace-mcp.token';

type Json = Record<string, unknown>;
type Product = 'vscode' | 'cursor' | 'claude-code' | 'claude-desktop' | 'jetbrains' | 'zed';

interface ServerEntry {
  name: string;
  stdio?: { command: string; args: string[]; env: Record<string, string> };
  http?: { url: string; headers: Record<string, string> };
}

/** Which product each file is for, and the key its servers sit under. */
const FILES: Record<string, { product: Product; key: 'servers' | 'mcpServers' | 'context_servers' }> = {
  'vscode-http.mcp.json': { product: 'vscode', key: 'servers' },
  'vscode-stdio.mcp.json': { product: 'vscode', key: 'servers' },
  'cursor.mcp.json': { product: 'cursor', key: 'mcpServers' },
  'claude-code.mcp.json': { product: 'claude-code', key: 'mcpServers' },
  'claude-desktop.json': { product: 'claude-desktop', key: 'mcpServers' },
  'jetbrains.mcp.json': { product: 'jetbrains', key: 'mcpServers' },
  'zed.settings.json': { product: 'zed', key: 'context_servers' },
};

/** Each product's variable syntax in its config (README.md quotes the documentation). */
const VARIABLE: Record<Product, RegExp | undefined> = {
  vscode: /\$\{input:([A-Za-z0-9_-]+)\}/g, // ${input:id}, declared in "inputs"
  cursor: /\$\{env:([A-Z0-9_]+)\}/g, // ${env:NAME}
  'claude-code': /\$\{([A-Z0-9_]+)(?::-[^}]*)?\}/g, // ${NAME}, ${NAME:-default}
  'claude-desktop': undefined,
  jetbrains: undefined,
  zed: undefined,
};

const isStringRecord = (v: unknown): v is Record<string, string> => typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string');
const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

/** The file's servers, after checking the shape its product documents; throws naming what is wrong. */
function serversOf(file: string, config: Json): ServerEntry[] {
  const { product, key } = FILES[file]!;
  const allowedTop = product === 'vscode' ? ['servers', 'inputs'] : [key];
  expect(Object.keys(config).filter((k) => !allowedTop.includes(k)), `${file}: top-level keys`).toEqual([]);
  const servers = config[key] as Record<string, Json>;
  expect(typeof servers === 'object' && servers !== null && Object.keys(servers).length > 0, `${file}: "${key}" holds servers`).toBe(true);
  return Object.entries(servers).map(([name, s]) => {
    const stdioKeys = ['type', 'command', 'args', 'env'];
    const httpKeys = ['type', 'url', 'headers'];
    if (typeof s.command === 'string') {
      // VS Code requires "type": "stdio"; Claude Code takes it optionally; the others have no type for stdio.
      if (product === 'vscode') expect(s.type, `${file}/${name}: type`).toBe('stdio');
      else if (product === 'claude-code') expect([undefined, 'stdio']).toContain(s.type);
      else expect(s.type, `${file}/${name}: no type`).toBeUndefined();
      expect(Object.keys(s).filter((k) => !stdioKeys.includes(k)), `${file}/${name}: keys`).toEqual([]);
      expect(s.args === undefined || isStringArray(s.args), `${file}/${name}: args is a list of strings`).toBe(true);
      expect(s.env === undefined || isStringRecord(s.env), `${file}/${name}: env maps names to strings`).toBe(true);
      return { name, stdio: { command: s.command, args: (s.args as string[] | undefined) ?? [], env: (s.env as Record<string, string> | undefined) ?? {} } };
    }
    // Remote servers: VS Code and Claude Code say "type": "http"; Cursor takes a url alone. The
    // Claude Desktop file, JetBrains' JSON and Zed's settings carry stdio servers here.
    expect(['vscode', 'claude-code', 'cursor'], `${file}/${name}: a remote server in a ${product} file`).toContain(product);
    if (product === 'cursor') expect(s.type).toBeUndefined();
    else expect(s.type, `${file}/${name}: type`).toBe('http');
    expect(typeof s.url === 'string' && s.url.endsWith('/mcp'), `${file}/${name}: url ends with /mcp`).toBe(true);
    expect(Object.keys(s).filter((k) => !httpKeys.includes(k)), `${file}/${name}: keys`).toEqual([]);
    expect(s.headers === undefined || isStringRecord(s.headers)).toBe(true);
    return { name, http: { url: s.url as string, headers: (s.headers as Record<string, string> | undefined) ?? {} } };
  });
}

/** Fills in the product's variables as the product would: the token, from wherever the file says. */
function expand(file: string, config: Json, text: string, token: string): string {
  const { product } = FILES[file]!;
  const pattern = VARIABLE[product];
  let out = text;
  if (pattern) {
    out = text.replace(pattern, (_m, name: string) => {
      if (product === 'vscode') {
        const inputs = (config.inputs ?? []) as Array<{ id: string; type: string; password?: boolean }>;
        const input = inputs.find((i) => i.id === name);
        expect(input, `${file}: \${input:${name}} is declared in "inputs"`).toMatchObject({ type: 'promptString', password: true });
      } else {
        expect(name, `${file}: the token's variable`).toBe('FLOWTRACE_TOKEN');
      }
      return token;
    });
  }
  expect(out, `${file}: no variable the product would leave unresolved`).not.toMatch(/\$\{/);
  return out;
}

let c: RunningCollector;
let reader: string;
let pathDir: string;
let tokenFile: string;
const clients: Client[] = [];

beforeAll(async () => {
  const boot = join(newTempDir('ft-ide-boot-'), 'admin.token');
  // Listening beyond loopback, so every request needs a token, as on a team's collector.
  c = await startCollector({ args: ['--api', '0.0.0.0:0', '--bootstrap-token-file', boot] });
  c.apiUrl = c.apiUrl.replace('0.0.0.0', '127.0.0.1');
  const admin = readFileSync(boot, 'utf8').trim();
  const res = await fetch(`${c.apiUrl}/api/tokens`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'ide', scopes: ['read'] }) });
  reader = ((await res.json()) as { token: string }).token;
  // `flowtrace` on PATH, as `npm link` (or a global install) puts it there.
  pathDir = newTempDir('ft-ide-bin-');
  symlinkSync(FLOWTRACE_BIN, join(pathDir, 'flowtrace'));
  tokenFile = join(newTempDir('ft-ide-token-'), 'flowtrace-mcp.token');
  writeFileSync(tokenFile, `${reader}\n`, { mode: 0o600 });
});

afterAll(async () => {
  await Promise.all(clients.map((cl) => cl.close().catch(() => undefined)));
  await cleanup();
});

async function toolsThrough(transport: Transport): Promise<string[]> {
  const client = new Client({ name: 'flowtrace-ide-config-test', version: '1.0.0' });
  clients.push(client);
  await client.connect(transport); // initialize
  expect(client.getServerVersion()?.name).toBe('flowtrace');
  return (await client.listTools()).tools.map((t) => t.name);
}

function transportFor(file: string, config: Json, server: ServerEntry, token: string): Transport {
  const fill = (text: string) => expand(file, config, text, token).replaceAll(EXAMPLE_API, c.apiUrl).replaceAll(EXAMPLE_TOKEN_FILE, tokenFile);
  if (server.http) {
    const headers = Object.fromEntries(Object.entries(server.http.headers).map(([k, v]) => [k, fill(v)]));
    return new StreamableHTTPClientTransport(new URL(fill(server.http.url)), { requestInit: { headers } });
  }
  const { command, args, env } = server.stdio!;
  return new StdioClientTransport({
    command: fill(command),
    args: args.map(fill),
    env: { PATH: `${pathDir}${delimiter}${process.env.PATH ?? ''}`, ...Object.fromEntries(Object.entries(env).map(([k, v]) => [k, fill(v)])) },
    stderr: 'pipe',
  });
}

describe('IDE MCP configurations (integrations/mcp)', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();

  it('has a configuration for every product the README documents, and nothing else', () => {
    expect(files).toEqual(Object.keys(FILES).sort());
    const readme = readFileSync(join(DIR, 'README.md'), 'utf8');
    for (const f of files) expect(readme, `README.md shows ${f}`).toContain(`(${f})`);
  });

  it('holds no token: only the variables, input prompts or token files each product reads it from', () => {
    for (const f of files) {
      const text = readFileSync(join(DIR, f), 'utf8');
      expect(text, f).not.toMatch(/ft_[A-Za-z0-9_-]{8,}/);
      expect(text, f).not.toMatch(/Bearer (?!\$\{)/);
      expect(text, f).not.toMatch(/FLOWTRACE_TOKEN"\s*:\s*"(?!\$\{)/);
    }
  });

  for (const file of Object.keys(FILES).sort()) {
    it(`${file}: the shape ${FILES[file]!.product} documents, and its server answers initialize + tools/list`, async () => {
      const config = JSON.parse(readFileSync(join(DIR, file), 'utf8')) as Json;
      const servers = serversOf(file, config);
      expect(servers.map((s) => s.name)).toEqual(['flowtrace']);
      for (const server of servers) {
        const tools = await toolsThrough(transportFor(file, config, server, reader));
        expect(tools).toEqual(expect.arrayContaining(['find_traces', 'trace_outline', 'get_span', 'hotspots']));
      }
    });
  }

  it('a wrong token is refused through the same configurations (HTTP: the collector’s 401 text; stdio: what to set)', async () => {
    const http = JSON.parse(readFileSync(join(DIR, 'claude-code.mcp.json'), 'utf8')) as Json;
    const [remote] = serversOf('claude-code.mcp.json', http);
    await expect(toolsThrough(transportFor('claude-code.mcp.json', http, remote!, `ft_${'x'.repeat(43)}`))).rejects.toThrow(/unknown API token/);
    const stdio = JSON.parse(readFileSync(join(DIR, 'vscode-stdio.mcp.json'), 'utf8')) as Json;
    const [local] = serversOf('vscode-stdio.mcp.json', stdio);
    await expect(toolsThrough(transportFor('vscode-stdio.mcp.json', stdio, local!, `ft_${'x'.repeat(43)}`))).rejects.toThrow(/refused the credentials \(401\)/);
  });
});

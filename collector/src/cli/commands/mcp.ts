import type { Writable } from 'node:stream';
import { apiCredential, apiUrl, CONNECTION_HELP } from '../api-client.js';
import { parseCommandArgs } from '../args.js';
import { UsageError, type Command } from '../command.js';
import { runStdioProxy } from '../../mcp/stdio-proxy.js';

const USAGE = `Usage: flowtrace mcp [options]

Serves FlowTrace's MCP tools (find traces, trace outline, one span, correlation lookup,
service neighbourhood, read-only SQL) over stdio for desktop assistants and IDEs, relaying
each message to a running collector's /mcp endpoint with your token: its scopes and read
rules apply as on the API. Nothing is read from a data directory.

Example client configuration:
  {"command": "flowtrace", "args": ["mcp"], "env": {"FLOWTRACE_API_URL": "http://127.0.0.1:8686", "FLOWTRACE_TOKEN": "ft_..."}}

Options:
${CONNECTION_HELP}
  -h, --help           show this help
`;

export const mcpCommand: Command = {
  path: ['mcp'],
  summary: 'serve the MCP tools over stdio (relayed to a running collector)',
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, {
      api: { type: 'string' },
      'token-file': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) {
      io.stdout.write(USAGE);
      return 0;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    await runStdioProxy({
      apiUrl: apiUrl(values.api, io.env),
      token: apiCredential(values['token-file'], io.env),
      stdin: process.stdin,
      stdout: io.stdout as Writable,
      log: (line) => io.stderr.write(`flowtrace mcp: ${line}\n`),
    });
    return 0;
  },
};

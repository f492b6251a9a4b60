import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { Principal } from '../auth/principal.js';
import { INSTRUCTIONS } from './instructions.js';
import { registerPrompts } from './prompts.js';
import { registerSchemaResource } from './schema-resource.js';
import type { McpDeps, ToolCallAudit, ToolContext } from './tool.js';
import { TOOLS } from './tools/index.js';

export const SERVER_NAME = 'flowtrace';

/**
 * An MCP server for one caller: every tool reads through the caller's read rules (the same
 * filtered views as the REST routes), resolved once per server. The HTTP transport makes one
 * per request (stateless), so a server never outlives the principal it was made for.
 */
export function createMcpServer(deps: McpDeps, principal: Principal, options: { version: string; audit?: (call: ToolCallAudit) => void }): McpServer {
  const { version } = options;
  const server = new McpServer({ name: SERVER_NAME, version }, { instructions: INSTRUCTIONS, capabilities: { tools: {}, resources: {}, prompts: {} } });
  let reads: ReturnType<ToolContext['reads']> | undefined;
  const ctx: ToolContext = {
    principal,
    deps,
    reads: () => (reads ??= deps.readScopes.readsFor(principal.rules, deps.store)),
    audit: options.audit,
  };
  for (const tool of TOOLS) tool.register(server, ctx);
  registerSchemaResource(server, ctx);
  registerPrompts(server);
  return server;
}

import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuditRecord } from '../auth/audit.js';
import '../auth/request-principal.js';
import { authErrors, documentOnly } from '../query/route-schemas.js';
import { createMcpServer } from './server.js';
import type { McpDeps, ToolCallAudit } from './tool.js';

export const MCP_PATH = '/mcp';
/** Reported to clients in `initialize`. */
export const MCP_SERVER_VERSION = '0.1.0';

export interface McpRouteDeps extends McpDeps {
  /** The API's audit log: one record per tool call (the API's own hook audits only /api/ routes). */
  audit?: { record(record: AuditRecord): void };
}

const jsonRpc = (description: string) => ({ type: 'object', additionalProperties: true, required: ['jsonrpc'], properties: { jsonrpc: { type: 'string', const: '2.0' } }, description }) as const;
const message = jsonRpc('a JSON-RPC 2.0 request, notification or response (MCP: initialize, tools/list, tools/call, …)');
const rpcError = {
  type: 'object',
  properties: {
    jsonrpc: { type: 'string', const: '2.0' },
    error: { type: 'object', properties: { code: { type: 'integer' }, message: { type: 'string' } } },
    id: { type: 'null' },
  },
} as const;
const postSchema = {
  summary: 'MCP (Model Context Protocol) over Streamable HTTP, stateless: one JSON-RPC message or batch per POST, answered as JSON',
  description:
    'Send Accept: application/json, text/event-stream. The tools read through your read rules; the sql tool also needs the sql scope. ' +
    'The MCP SDK checks the message (JSON-RPC errors in the answer), so the body schema documents it only.',
  body: { oneOf: [message, { type: 'array', items: message, minItems: 1 }] },
  response: {
    200: { description: 'the JSON-RPC response (or array of them for a batch)', oneOf: [jsonRpc('a JSON-RPC 2.0 response'), { type: 'array', items: jsonRpc('a JSON-RPC 2.0 response') }] },
    202: { description: 'accepted: the body held only notifications or responses', type: 'null' },
    400: { ...rpcError, description: 'not a JSON-RPC message (a JSON-RPC error with id null)' },
    406: { ...rpcError, description: 'the Accept header does not take application/json and text/event-stream' },
    ...authErrors,
  },
} as const;
const notAllowedSchema = (summary: string) => ({ summary, response: { 405: { ...rpcError, description: 'stateless server: POST only' }, ...authErrors } }) as const;

/**
 * MCP over Streamable HTTP at `/mcp` on the query API, stateless: each POST carries one
 * JSON-RPC message (or batch) and gets its answer as JSON, from a server made for the request's
 * principal. So authentication (the API's onRequest hook, route rule `/mcp` = read), read rules
 * and the `sql` scope apply per request exactly as on the REST routes, and nothing is held
 * between requests. There is no server-to-client stream: GET and DELETE answer 405.
 */
export function registerMcpRoutes(app: FastifyInstance, deps: McpRouteDeps): void {
  // The transport answers malformed messages itself (JSON-RPC errors), and writes the response
  // directly (hijack): the schemas document, they neither validate nor serialise.
  app.post(MCP_PATH, { schema: postSchema, validatorCompiler: documentOnly }, async (req, reply) => {
    const server = createMcpServer(deps, req.principal, { version: MCP_SERVER_VERSION, audit: deps.audit && auditCall(deps.audit, req) });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    // The transport writes the response itself.
    reply.hijack();
    reply.raw.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req.raw, reply.raw, req.body);
  });
  const notAllowed = { jsonrpc: '2.0', error: { code: -32000, message: 'method not allowed: this server is stateless; POST JSON-RPC messages to /mcp' }, id: null };
  app.get(MCP_PATH, { schema: notAllowedSchema('No server-to-client stream: answers 405') }, async (_req, reply) => reply.code(405).header('allow', 'POST').send(notAllowed));
  app.delete(MCP_PATH, { schema: notAllowedSchema('No sessions to end: answers 405') }, async (_req, reply) => reply.code(405).header('allow', 'POST').send(notAllowed));
}

function auditCall(audit: { record(record: AuditRecord): void }, req: FastifyRequest): (call: ToolCallAudit) => void {
  return (call) =>
    audit.record({
      time: new Date(),
      principalId: req.principal.id,
      principalName: req.principal.name,
      // The SQL tool is audited as /api/sql is, statement included.
      action: call.tool === 'sql' ? 'sql' : `mcp.${call.tool}`,
      method: req.method,
      route: MCP_PATH,
      url: req.url,
      statement: call.statement,
      clientAddress: req.ip,
      status: call.error ? 400 : 200,
      resultBytes: 0,
      durationMs: call.durationMs,
      error: call.error,
    });
}

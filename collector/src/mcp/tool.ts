import type { ClickHouseClient } from '@clickhouse/client';
import type { McpServer, ToolCallback } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { z } from 'zod';
import type { Principal } from '../auth/principal.js';
import { HotspotsTooBroadError } from '../analysis/hotspots.js';
import { TraceTooLargeError } from '../query/analysis-routes.js';
import { QueryParamError } from '../query/params.js';
import { SearchSyntaxError } from '../query/search/parse.js';
import { SearchCursorError } from '../query/search/search.js';
import { ReadScopeError, type ReadScopes, type ScopedReads } from '../query/read-scope.js';
import { SqlBusyError, SqlRefusedError, UserSqlError, type UserSql } from '../query/sql/user-sql.js';
import type { TraceStore } from '../query/trace-store.js';
import { ToolInputError } from './paging.js';

/** What the MCP tools read with: the same store, side tables and guest SQL path as the REST routes. */
export interface McpDeps {
  store: TraceStore;
  reader: ClickHouseClient;
  database: string;
  userSql: UserSql;
  readScopes: ReadScopes;
}

/** One tool call's view: who is calling, and their reads with their read rules applied. */
export interface ToolContext {
  principal: Principal;
  deps: McpDeps;
  /** The caller's reads (filtered views when its read rules restrict anything), as REST's readsOf. */
  reads(): Promise<ScopedReads>;
  /** Called once per tool call, for the audit log (the HTTP transport writes one audit record per call). */
  audit?(call: ToolCallAudit): void;
}

export interface ToolCallAudit {
  tool: string;
  /** The SQL text, for the sql tool. */
  statement: string;
  /** The refusal or error message; '' on success. */
  error: string;
  durationMs: number;
}

/**
 * A tool: its JSON-schema'd input (zod, turned into JSON Schema by the SDK), its output budget,
 * and `run`, which returns compact text. A tool module exports one of these; the list in
 * tools/index.ts is the one place tools are added (the extension point for red and anomalies).
 */
export interface McpTool<Shape extends z.ZodRawShape> {
  name: string;
  title: string;
  /** What it answers and when to call it: the model reads this to choose. */
  description: string;
  /** Output budget in tokens (characters / 4): no answer is longer. */
  budgetTokens: number;
  input: Shape;
  run(input: z.infer<z.ZodObject<Shape>>, ctx: ToolContext): Promise<string>;
}

/** A tool with its input type erased, ready to register on a server. */
export interface RegisteredTool {
  name: string;
  budgetTokens: number;
  register(server: McpServer, ctx: ToolContext): void;
}

export function defineTool<Shape extends z.ZodRawShape>(tool: McpTool<Shape>): RegisteredTool {
  return {
    name: tool.name,
    budgetTokens: tool.budgetTokens,
    register(server, ctx) {
      server.registerTool(
        tool.name,
        {
          title: tool.title,
          description: `${tool.description}\nOutput: compact text, at most ~${tool.budgetTokens} tokens per call.`,
          inputSchema: tool.input,
          annotations: { readOnlyHint: true, openWorldHint: false },
        },
        // The SDK validated `input` against the schema before this runs. Its callback type for a
        // generic shape does not reduce to z.infer of the same shape, hence the cast.
        (async (input: z.infer<z.ZodObject<Shape>>): Promise<CallToolResult> => {
          const started = performance.now();
          const statement = typeof (input as { query?: unknown }).query === 'string' ? (input as { query: string }).query : '';
          const audit = (error: string) => ctx.audit?.({ tool: tool.name, statement, error, durationMs: Math.round(performance.now() - started) });
          try {
            const text = await tool.run(input, ctx);
            audit('');
            return { content: [{ type: 'text', text: capped(text, tool.budgetTokens) }] };
          } catch (err) {
            const message = userMessage(err);
            audit(message ?? `internal error: ${(err as Error).message}`);
            if (message === undefined) throw err;
            return { isError: true, content: [{ type: 'text', text: `${tool.name}: ${message}` }] };
          }
        }) as unknown as ToolCallback<Shape>,
      );
    },
  };
}

/** Last line of defence for the budget: a tool pages its own output; this only guards against a bug. */
function capped(text: string, budgetTokens: number): string {
  const max = budgetTokens * 4;
  return text.length <= max ? text : `${text.slice(0, max - 60)}\n# cut: output exceeded this tool's budget`;
}

/** The message of an error that is the caller's to fix (bad input, read rules, SQL), or undefined for a fault. */
function userMessage(err: unknown): string | undefined {
  if (err instanceof ToolInputError || err instanceof QueryParamError || err instanceof UserSqlError || err instanceof SqlRefusedError) return err.message;
  if (err instanceof SqlBusyError) return `${err.message}; wait, then call again`;
  if (err instanceof SearchSyntaxError) return `query: ${err.message}`;
  if (err instanceof SearchCursorError) return `${err.message}; pass the cursor of the previous answer unchanged, or omit it`;
  if (err instanceof HotspotsTooBroadError) return err.message;
  if (err instanceof TraceTooLargeError) return `${err.message}; use trace_outline (with rootSpanId or maxDepth) or sql to aggregate it`;
  if (err instanceof ReadScopeError) return `${err.message}: your token's read rules limit it by environment, which this data has no column for; ask for a token without environment rules`;
  return undefined;
}

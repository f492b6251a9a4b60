import type { RegisteredTool } from '../tool.js';
import { alertsTool } from './alerts.js';
import { anomaliesTool } from './anomalies.js';
import { compareTracesTool } from './compare-traces.js';
import { criticalPathTool } from './critical-path.js';
import { findTracesTool } from './find-traces.js';
import { getLogsTool } from './get-logs.js';
import { getSpanTool } from './get-span.js';
import { hotspotsTool } from './hotspots.js';
import { insightsTool } from './insights.js';
import { lookupCorrelationTool } from './lookup-correlation.js';
import { redTool } from './red.js';
import { serviceNeighbourhoodTool } from './service-neighbourhood.js';
import { sqlTool } from './sql.js';
import { traceOutlineTool } from './trace-outline.js';

/**
 * Every MCP tool, in the order a client lists them (the drill-down order: find, outline,
 * analyse, one span, its logs, then the wider views: neighbourhood, RED, anomalies, alerts, SQL). Extension point: a new tool is a
 * module in this folder exporting `defineTool({...})` over collector/src/analysis, added here;
 * the server, both transports, auth and budgets need no change.
 */
export const TOOLS: readonly RegisteredTool[] = [
  findTracesTool,
  lookupCorrelationTool,
  traceOutlineTool,
  criticalPathTool,
  insightsTool,
  hotspotsTool,
  compareTracesTool,
  getSpanTool,
  getLogsTool,
  serviceNeighbourhoodTool,
  redTool,
  anomaliesTool,
  alertsTool,
  sqlTool,
];

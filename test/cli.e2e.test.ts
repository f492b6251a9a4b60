import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, FLOWTRACE_BIN, startCollector, waitFor, type RunningCollector } from './helpers/collector.js';
import { grpcExport } from './helpers/grpc.js';
import { protobufRequest, sdkSpans } from './helpers/spans.js';

const exec = promisify(execFile);

async function flowtrace(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [FLOWTRACE_BIN, ...args], { env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

let collector: RunningCollector;
let traceId: string;

beforeAll(async () => {
  collector = await startCollector();
  const made = await sdkSpans(3, 'cli-service');
  traceId = made.traceId;
  expect((await grpcExport(collector.grpcEndpoint, protobufRequest(made.spans))).error).toBeUndefined();
  await waitFor(async () => ((await fetch(`${collector.apiUrl}/api/traces/${traceId}`)).ok ? true : undefined), 'trace stored');
});
afterAll(cleanup);

describe('flowtrace CLI', () => {
  it('query prints a table, JSON or CSV', async () => {
    const sql = `SELECT SpanName, SpanKind FROM otel_traces WHERE TraceId = '${traceId}' ORDER BY SpanName`;
    const table = await flowtrace(['query', sql, '--api', collector.apiUrl]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^SpanName\s+SpanKind\n─+\s+─+\nchild-1\s+Internal\nchild-2\s+Internal\nroot\s+Server\n\(3 rows, \d+ ms\)\n$/);
    const csv = await flowtrace(['query', '--format', 'csv', sql], { FLOWTRACE_API_URL: collector.apiUrl });
    expect(csv.stdout).toBe('SpanName,SpanKind\nchild-1,Internal\nchild-2,Internal\nroot,Server\n');
    const json = await flowtrace(['query', sql, '--format=json', `--api=${collector.apiUrl}`]);
    expect(JSON.parse(json.stdout)).toEqual([
      { SpanName: 'child-1', SpanKind: 'Internal' },
      { SpanName: 'child-2', SpanKind: 'Internal' },
      { SpanName: 'root', SpanKind: 'Server' },
    ]);
  });

  it('query reports SQL errors and unreachable collectors with exit 1', async () => {
    const bad = await flowtrace(['query', 'DROP TABLE otel_traces', '--api', collector.apiUrl]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/DROP is not allowed/);
    const away = await flowtrace(['query', 'SELECT 1', '--api', 'http://127.0.0.1:9']);
    expect(away.code).toBe(1);
    expect(away.stderr).toContain('cannot reach the collector at http://127.0.0.1:9');
  });

  it('traces get prints the tree', async () => {
    const out = await flowtrace(['traces', 'get', traceId, '--api', collector.apiUrl]);
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(new RegExp(`^trace ${traceId}  3 spans, 1 services, .+\\n└─ root  \\[cli-service · Server\\]`));
    // The two children may start in the same instant, when their order is the span IDs'.
    const children = out.stdout.split('\n').slice(2, 4);
    expect(children.map((l) => l.slice(0, 6))).toEqual(['   ├─ ', '   └─ ']);
    expect(children.map((l) => /(child-\d)  \[cli-service · Internal\]/.exec(l)?.[1]).sort()).toEqual(['child-1', 'child-2']);
    const missing = await flowtrace(['traces', 'get', 'ab'.repeat(16), '--api', collector.apiUrl]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('not found');
  });

  it('exits 2 with a message on usage and configuration errors', async () => {
    const unknownFlag = await flowtrace(['query', '--colour', 'SELECT 1']);
    expect(unknownFlag.code).toBe(2);
    expect(unknownFlag.stderr).toContain("Unknown option '--colour'");
    const unknownCommand = await flowtrace(['frobnicate']);
    expect(unknownCommand.code).toBe(2);
    expect(unknownCommand.stderr).toContain("unknown command 'frobnicate'");
    const badFormat = await flowtrace(['query', '--format', 'xml', 'SELECT 1']);
    expect(badFormat.code).toBe(2);
    const badServe = await flowtrace(['serve', '--retention-days', 'soon']);
    expect(badServe.code).toBe(2);
    expect(badServe.stderr).toBe('flowtrace serve: configuration error: --retention-days: expected a number, got "soon"\n');
    const badEnv = await flowtrace(['serve'], { FLOWTRACE_API: 'localhost' });
    expect(badEnv.code).toBe(2);
    expect(badEnv.stderr).toContain('FLOWTRACE_API: expected HOST:PORT');
    for (const args of [['--help'], ['serve', '--help'], ['query', '--help'], ['traces', 'get', '--help']]) {
      const help = await flowtrace(args);
      expect(help.code, args.join(' ')).toBe(0);
      expect(help.stdout).toContain('Usage: flowtrace');
    }
  });
});

/**
 * The user-SQL sandbox, attacked through the real collector and its embedded engine. Each attack
 * runs against a collector with only the engine layer on and one with only the statement layer
 * on (FLOWTRACE_TEST_SQL_LAYERS), where that layer is meant to stop it alone; the read rules,
 * limits and ingest-under-load run with both layers, as shipped.
 */
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, newTempDir, startCollector, waitFor, type RunningCollector } from '../helpers/collector.js';
import { jsonRequest, sdkSpans } from '../helpers/spans.js';

const CANARY = 'canary-value-7f3a9c';
const SQL_ENV = {
  FLOWTRACE_API_SQL_MAX_EXECUTION_SECONDS: '2',
  FLOWTRACE_API_SQL_MAX_MEMORY_MIB: '200',
  FLOWTRACE_SQL_TEST_CANARY: CANARY,
};

interface SqlAnswer {
  status: number;
  body: { rows?: Array<Record<string, unknown>>; rowCount?: number; truncated?: boolean; error?: string };
  retryAfter: string | null;
}

async function postSql(c: RunningCollector, query: string, token?: string): Promise<SqlAnswer> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${c.apiUrl}/api/sql`, { method: 'POST', headers, body: JSON.stringify({ query }) });
  return { status: res.status, body: (await res.json()) as SqlAnswer['body'], retryAfter: res.headers.get('retry-after') };
}

/** A TCP listener that records every connection: the network attacks must never reach it. */
async function startListener(): Promise<{ server: Server; port: number; connections: () => number }> {
  let count = 0;
  const server = createServer((socket) => {
    count++;
    socket.destroy();
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  return { server, port: (server.address() as { port: number }).port, connections: () => count };
}

async function sendSpans(c: RunningCollector, service: string, count = 3): Promise<string> {
  const { traceId, spans } = await sdkSpans(count, service);
  const res = await fetch(`${c.httpEndpoint}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: jsonRequest(spans) });
  expect(res.status).toBe(200);
  return traceId;
}

async function storedSpans(c: RunningCollector): Promise<number> {
  const r = await postSql(c, 'SELECT count() AS n FROM otel_traces');
  return Number(r.body.rows?.[0]?.n ?? -1);
}

let listener: Awaited<ReturnType<typeof startListener>>;
beforeAll(async () => {
  listener = await startListener();
});
afterAll(async () => {
  listener.server.close();
  await cleanup();
});

const LAYERS = ['engine', 'statement'] as const;

describe.each(LAYERS)('with only the %s layer on', (layer) => {
  let c: RunningCollector;
  let outDir: string;
  beforeAll(async () => {
    c = await startCollector({ env: { ...SQL_ENV, FLOWTRACE_TEST_SQL_LAYERS: layer } });
    outDir = newTempDir('ft-sql-out-');
    await sendSpans(c, 'orders');
  }, 90_000);
  afterAll(async () => {
    await c.stop();
  });

  it('refuses to read files', async () => {
    const queries = ["SELECT * FROM file('/etc/passwd', 'LineAsString')", "SELECT * FROM file('/proc/self/environ', 'LineAsString')"];
    // The scalar file() is not refused by readonly in the embedded engine (local mode has no
    // user_files_path confinement): only the statement layer stops it.
    if (layer === 'statement') queries.push("SELECT file('/etc/passwd')", "SELECT file('/proc/self/environ')");
    for (const query of queries) {
      const r = await postSql(c, query);
      expect(r.status, query).toBe(400);
      expect(JSON.stringify(r.body)).not.toContain('root:');
      expect(JSON.stringify(r.body)).not.toContain(CANARY);
    }
  });

  it('refuses to write files', async () => {
    const target = join(outDir, 'written');
    const queries = [`CREATE TEMPORARY TABLE w (s String) ENGINE = File(LineAsString, '${target}') AS SELECT 'pwned'`];
    // INTO OUTFILE is written by the embedded engine's client side even under readonly = 1:
    // only the statement layer stops it.
    if (layer === 'statement') {
      queries.push(`SELECT 'pwned' INTO OUTFILE '${target}' TRUNCATE`, `SELECT 'pwned' FROM otel_traces INTO OUTFILE '${target}' TRUNCATE FORMAT LineAsString`);
    }
    for (const query of queries) {
      expect((await postSql(c, query)).status, query).toBe(400);
    }
    expect(existsSync(target)).toBe(false);
  });

  it('refuses every request to the network: the listener receives nothing', async () => {
    const at = `127.0.0.1:${listener.port}`;
    for (const query of [
      `SELECT * FROM url('http://${at}/steal', 'LineAsString')`,
      `CREATE TEMPORARY TABLE u (s String) ENGINE = URL('http://${at}/steal', LineAsString)`,
      `SELECT * FROM remote('${at}', system.one)`,
      `SELECT * FROM mysql('${at}', 'db', 't', 'user', 'password')`,
    ]) {
      expect((await postSql(c, query)).status, query).toBe(400);
    }
    expect(listener.connections()).toBe(0);
  });

  it('refuses SET and SETTINGS overrides of the limits', async () => {
    for (const query of ['SET max_execution_time = 100000', 'SELECT 1 SETTINGS readonly = 0', 'SELECT count() FROM otel_traces SETTINGS max_execution_time = 100000, max_memory_usage = 0']) {
      expect((await postSql(c, query)).status, query).toBe(400);
    }
  });

  it('refuses temporary tables', async () => {
    expect((await postSql(c, 'CREATE TEMPORARY TABLE t (x UInt8) ENGINE = Memory')).status).toBe(400);
  });

  it('shares no session state between callers', async () => {
    expect((await postSql(c, 'SET max_result_rows = 1')).status).toBe(400);
    const r = await postSql(c, 'SELECT number FROM numbers(5)');
    expect(r.body.rowCount).toBe(5);
  });

  if (layer === 'statement') {
    it('refuses KILL, system tables, other databases and secret tables', async () => {
      for (const query of [
        'KILL QUERY WHERE 1',
        'SELECT * FROM system.processes',
        "SELECT name FROM system.tables WHERE database = 'default'",
        'SELECT * FROM default.otel_traces',
        'SELECT * FROM flowtrace_api_tokens',
        "SELECT * FROM merge('default', '.*')",
        "SELECT dictGet('d', 'a', 1)",
        "SELECT joinGet('default.flowtrace_api_tokens', 'x', 1)",
      ]) {
        const r = await postSql(c, query);
        expect(r.status, query).toBe(400);
        expect(r.body.error, query).toMatch(/not allowed/);
      }
    });
  }

  if (layer === 'engine') {
    it('stops a memory bomb at max_memory_usage and a long query at max_execution_time, and goes on serving', async () => {
      const bomb = await postSql(c, 'SELECT groupArray(number) FROM numbers(800000000)');
      expect(bomb.status).toBe(400);
      expect(bomb.body.error).toMatch(/memory limit/i);
      const slow = await postSql(c, 'SELECT count() FROM numbers(900000000) WHERE sipHash64(toString(number)) = 1');
      expect(slow.status).toBe(400);
      expect(slow.body.error).toContain('time limit of 2 s');
      expect((await fetch(`${c.apiUrl}/healthz`)).status).toBe(200);
      await waitFor(async () => ((await storedSpans(c)) === 3 ? true : undefined), 'the spans sent before stored');
    });
  }
});

describe('with both layers (as shipped)', () => {
  let c: RunningCollector;
  beforeAll(async () => {
    c = await startCollector({ env: { ...SQL_ENV, FLOWTRACE_API_SQL_MAX_CONCURRENT: '2' } });
  }, 90_000);
  afterAll(async () => {
    await c.stop();
  });

  it('names what is not allowed', async () => {
    const r = await postSql(c, "SELECT * FROM file('/etc/passwd', 'LineAsString')");
    expect(r).toMatchObject({ status: 400, body: { error: 'table function file() is not allowed' } });
  });

  it('answers 429 with Retry-After beyond max_concurrent', async () => {
    const slow = 'SELECT count() FROM numbers(900000000) WHERE sipHash64(toString(number)) = 1';
    const running = [postSql(c, slow), postSql(c, slow)];
    // Bounded: the two slow queries hold both slots until their 2 s limit.
    const busy = await waitFor(async () => {
      const r = await postSql(c, 'SELECT 1');
      return r.status === 429 ? r : undefined;
    }, 'a 429', 10_000);
    expect(busy.retryAfter).toBe('1');
    expect(busy.body.error).toMatch(/too many SQL queries/);
    await Promise.all(running);
  });

  it('applies per-service read rules inside user SQL and the REST routes', async () => {
    const ordersTrace = await sendSpans(c, 'orders');
    const billingTrace = await sendSpans(c, 'billing');
    await waitFor(async () => ((await storedSpans(c)) >= 6 ? true : undefined), 'spans stored');
    const created = await fetch(`${c.apiUrl}/api/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'orders-only', scopes: ['read', 'sql'], services: ['orders'] }),
    });
    expect(created.status).toBe(201);
    const { token } = (await created.json()) as { token: string };

    const visible = async (query: string) => {
      const r = await postSql(c, query, token);
      expect(r.status, `${query}: ${r.body.error}`).toBe(200);
      return r.body.rows!;
    };
    expect(await visible('SELECT DISTINCT ServiceName FROM otel_traces')).toEqual([{ ServiceName: 'orders' }]);
    expect(await visible(`SELECT count() AS n FROM otel_traces WHERE TraceId = '${billingTrace}'`)).toEqual([{ n: '0' }]);
    expect(await visible("SELECT count() AS n FROM (SELECT * FROM otel_traces WHERE ServiceName = 'billing')")).toEqual([{ n: '0' }]);
    expect(await visible("WITH b AS (SELECT * FROM otel_traces WHERE ServiceName = 'billing') SELECT count() AS n FROM b")).toEqual([{ n: '0' }]);
    expect(await visible("SELECT count() AS n FROM otel_traces AS a JOIN otel_traces AS b USING (TraceId) WHERE b.ServiceName = 'billing'")).toEqual([{ n: '0' }]);
    expect(await visible("SELECT ServiceName FROM otel_traces WHERE ServiceName = 'billing' UNION ALL SELECT ServiceName FROM otel_traces WHERE ServiceName = 'billing'")).toEqual([]);
    expect(await visible("SELECT count() AS n FROM otel_traces WHERE TraceId IN otel_traces AND ServiceName != 'orders'")).toEqual([{ n: '0' }]);

    for (const [query, status] of [
      ['SELECT * FROM default.otel_traces', 400],
      ['SELECT * FROM otel_traces_trace_id_ts', 403],
      ["SELECT * FROM merge('default', 'otel')", 400],
      [`SELECT * FROM remote('127.0.0.1', default.otel_traces)`, 400],
      ['SELECT * FROM system.parts', 400],
      ["SELECT * FROM otel_traces WHERE TraceId IN default.otel_traces_trace_id_ts", 400],
    ] as const) {
      const r = await postSql(c, query, token);
      expect(r.status, `${query}: ${r.body.error}`).toBe(status);
      expect(JSON.stringify(r.body)).not.toContain('billing');
    }
    const refused = await postSql(c, 'SELECT count() FROM otel_traces_trace_id_ts', token);
    expect(refused.body.error).toBe('cannot enforce your read rules on table otel_traces_trace_id_ts');

    const auth = { headers: { authorization: `Bearer ${token}` } };
    const services = (await (await fetch(`${c.apiUrl}/api/services`, auth)).json()) as { services: string[] };
    expect(services.services).toEqual(['orders']);
    expect((await fetch(`${c.apiUrl}/api/traces/${billingTrace}`, auth)).status).toBe(404);
    expect((await fetch(`${c.apiUrl}/api/traces/${ordersTrace}`, auth)).status).toBe(200);
    const search = (await (await fetch(`${c.apiUrl}/api/traces?service=billing`, auth)).json()) as { traces: unknown[] };
    expect(search.traces).toEqual([]);
  });

  it('stores every acknowledged span and answers /healthz while user SQL is hammered', async () => {
    const before = await storedSpans(c);
    let stop = false;
    const heavy = 'SELECT ServiceName, uniqExact(sipHash64(toString(number))) FROM otel_traces, numbers(2000000) GROUP BY ServiceName';
    const hammer = Promise.all(
      [0, 1, 2].map(async () => {
        const statuses: number[] = [];
        while (!stop) statuses.push((await postSql(c, heavy)).status);
        return statuses;
      }),
    );
    let acknowledged = 0;
    for (let i = 0; i < 20; i++) {
      await sendSpans(c, 'hammered', 5);
      acknowledged += 5;
      expect((await fetch(`${c.apiUrl}/healthz`)).status).toBe(200);
    }
    stop = true;
    const statuses = (await hammer).flat();
    expect(statuses.every((s) => s === 200 || s === 429 || s === 400)).toBe(true);
    await waitFor(async () => ((await storedSpans(c)) === before + acknowledged ? true : undefined), 'every acknowledged span stored');
  });
});

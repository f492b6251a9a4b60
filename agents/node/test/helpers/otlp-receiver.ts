import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type AttrValue = string | number | boolean | AttrValue[] | { [key: string]: AttrValue } | undefined;

export interface ReceivedSpan {
  service: string;
  scope: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  attributes: Record<string, AttrValue>;
  status: { code?: number; message?: string };
  events: { name: string; attributes: Record<string, AttrValue> }[];
}

export interface ReceivedLog {
  service: string;
  scope: string;
  traceId: string;
  spanId: string;
  severityText: string;
  body: AttrValue;
  attributes: Record<string, AttrValue>;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: OtlpValue[] };
  kvlistValue?: { values?: OtlpKeyValue[] };
}
interface OtlpKeyValue {
  key: string;
  value: OtlpValue;
}
interface OtlpLogsRequest {
  resourceLogs?: {
    resource?: { attributes?: OtlpKeyValue[] };
    scopeLogs?: {
      scope?: { name?: string };
      logRecords?: { traceId?: string; spanId?: string; severityText?: string; body?: OtlpValue; attributes?: OtlpKeyValue[] }[];
    }[];
  }[];
}
interface OtlpRequest {
  resourceSpans?: {
    resource?: { attributes?: OtlpKeyValue[] };
    scopeSpans?: {
      scope?: { name?: string };
      spans?: {
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        kind: number;
        attributes?: OtlpKeyValue[];
        status?: { code?: number; message?: string };
        events?: { name: string; attributes?: OtlpKeyValue[] }[];
      }[];
    }[];
  }[];
}

function value(v: OtlpValue): AttrValue {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.arrayValue !== undefined) return (v.arrayValue.values ?? []).map(value);
  if (v.kvlistValue !== undefined) return attrs(v.kvlistValue.values);
  return undefined;
}

function attrs(list: OtlpKeyValue[] | undefined): Record<string, AttrValue> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, value(kv.value)]));
}

/** An OTLP/HTTP JSON endpoint on 127.0.0.1 that keeps every span and log record it is sent. */
export interface OtlpReceiver {
  /** Base URL for OTEL_EXPORTER_OTLP_ENDPOINT (the exporter appends /v1/traces, /v1/logs). */
  url: string;
  spans: ReceivedSpan[];
  logs: ReceivedLog[];
  close(): Promise<void>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const logs: ReceivedLog[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if ((req.url !== '/v1/traces' && req.url !== '/v1/logs') || !(req.headers['content-type'] ?? '').includes('json')) {
        res.writeHead(415).end();
        return;
      }
      if (req.url === '/v1/logs') {
        keepLogs(JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpLogsRequest, logs);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpRequest;
      for (const rs of body.resourceSpans ?? []) {
        const service = String(attrs(rs.resource?.attributes)['service.name']);
        for (const ss of rs.scopeSpans ?? []) {
          for (const s of ss.spans ?? []) {
            spans.push({
              service,
              scope: ss.scope?.name ?? '',
              traceId: s.traceId,
              spanId: s.spanId,
              parentSpanId: s.parentSpanId ?? '',
              name: s.name,
              kind: s.kind,
              attributes: attrs(s.attributes),
              status: s.status ?? {},
              events: (s.events ?? []).map((e) => ({ name: e.name, attributes: attrs(e.attributes) })),
            });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    logs,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

function keepLogs(body: OtlpLogsRequest, logs: ReceivedLog[]): void {
  for (const rl of body.resourceLogs ?? []) {
    const service = String(attrs(rl.resource?.attributes)['service.name']);
    for (const sl of rl.scopeLogs ?? []) {
      for (const r of sl.logRecords ?? []) {
        logs.push({
          service,
          scope: sl.scope?.name ?? '',
          traceId: r.traceId ?? '',
          spanId: r.spanId ?? '',
          severityText: r.severityText ?? '',
          body: r.body === undefined ? undefined : value(r.body),
          attributes: attrs(r.attributes),
        });
      }
    }
  }
}

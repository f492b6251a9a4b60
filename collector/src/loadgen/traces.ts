/**
 * The traces the load generator sends, shaped like what FlowTrace's agents emit: a request
 * enters one service (SERVER span), runs through method spans (INTERNAL, `Class.method`, with
 * `code.namespace`, `code.function.name`, `flowtrace.args.<i>` and `flowtrace.return`), queries
 * the database (CLIENT spans with `db.query.text`, sometimes the same statement once per item:
 * an N+1 the insights find) and calls the next service (CLIENT span, whose child is that
 * service's SERVER span). Some traces fail in the deepest service (status Error plus an
 * `exception` event, HTTP 500 up the chain). Every span carries `flowtrace.correlation_id`.
 */
import type { AttributeValue } from './protobuf.js';

export const SPAN_KIND = { internal: 1, server: 2, client: 3 } as const;

/** One span of a trace template, its times relative to the trace's start. */
export interface SpanSpec {
  service: string;
  name: string;
  kind: (typeof SPAN_KIND)[keyof typeof SPAN_KIND];
  /** Index of the parent in the trace's span list; -1 for the root. */
  parent: number;
  startNs: bigint;
  durationNs: bigint;
  attributes: Record<string, AttributeValue>;
  error?: { type: string; message: string };
}

const NAMED_SERVICES = ['frontend', 'orders', 'payments', 'inventory', 'users', 'shipping', 'catalog', 'notifications'];

/** `count` service names: the named ones first, then `service-9`, `service-10`… */
export function serviceNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => NAMED_SERVICES[i] ?? `service-${i + 1}`);
}

/** What a service does when called: its route, its classes and its table. */
function roleOf(service: string): { route: string; path: string; entity: string; table: string } {
  const entity = service.replace(/s$/, '').replace(/-(\d+)$/, '$1');
  const table = service.replace(/-/g, '_');
  return { route: `/api/${service}/:id`, path: `/api/${service}/`, entity: entity[0]!.toUpperCase() + entity.slice(1), table };
}

/** A span before layout: its own work and its children, which run one after another. */
interface Node {
  spec: Omit<SpanSpec, 'parent' | 'startNs' | 'durationNs'>;
  selfNs: bigint;
  children: Node[];
}

const GAP_NS = 20_000n; // between siblings: the code between two calls

/** Places the tree: each parent lasts its own work plus its children's, children in sequence. */
function layout(node: Node, parent: number, startNs: bigint, out: SpanSpec[]): bigint {
  const index = out.length;
  const spec: SpanSpec = { ...node.spec, parent, startNs, durationNs: 0n };
  out.push(spec);
  let cursor = startNs + node.selfNs / 2n;
  for (const child of node.children) cursor = layout(child, index, cursor + GAP_NS, out);
  spec.durationNs = cursor - startNs + node.selfNs / 2n;
  return startNs + spec.durationNs;
}

/**
 * One trace template. `shape` varies the entry service, the call depth (1–3 services), the
 * N+1 loop length and whether the trace fails; `correlation` is the text put on every span.
 */
export function traceTemplate(shape: number, services: string[], correlation: string): SpanSpec[] {
  const depth = Math.min(services.length, 1 + (shape % 3));
  const hops = Array.from({ length: depth }, (_, i) => services[(shape + i * 3) % services.length]!);
  const fails = shape % 10 === 7;
  const loop = shape % 4 === 1 ? 6 + (shape % 5) : 1 + (shape % 2); // an N+1 on every 4th trace
  const common = { 'flowtrace.correlation_id': correlation };

  const hop = (i: number): Node => {
    const service = hops[i]!;
    const role = roleOf(service);
    const last = i === hops.length - 1;
    const status = fails ? 500 : 200;
    const itemId = 1000 + ((shape * 37 + i) % 9000);
    const method = (cls: string, fn: string, args: string[], ret: string, selfUs: number, children: Node[], error?: SpanSpec['error']): Node => ({
      spec: {
        service,
        name: `${cls}.${fn}`,
        kind: SPAN_KIND.internal,
        attributes: {
          'code.namespace': `com.example.${role.table}.${cls}`,
          'code.function.name': fn,
          'code.file.path': `/app/src/${role.table}/${cls}.ts`,
          'code.line.number': 20 + ((fn.length * 17 + cls.length * 5) % 300),
          ...Object.fromEntries(args.map((a, k) => [`flowtrace.args.${k}`, a])),
          ...(error ? {} : { 'flowtrace.return': ret }),
          ...common,
        },
        error,
      },
      selfNs: BigInt(selfUs) * 1000n,
      children,
    });
    const query = (statement: string, us: number): Node => ({
      spec: {
        service,
        name: `SELECT ${role.table}`,
        kind: SPAN_KIND.client,
        attributes: { 'db.system.name': 'postgresql', 'db.namespace': 'shop', 'db.operation.name': 'SELECT', 'db.query.text': statement, 'server.address': 'db.internal', 'server.port': 5432, ...common },
      },
      selfNs: BigInt(us) * 1000n,
      children: [],
    });
    const lines = Array.from({ length: loop }, (_, k) =>
      query(`SELECT id, ${role.table}_id, sku, quantity, unit_price, currency, updated_at FROM ${role.table}_lines WHERE ${role.table}_id = $1 ORDER BY id`, 300 + ((shape + k) % 7) * 40),
    );
    const row = `{"id":${itemId},"owner":{"id":${itemId * 7},"name":"Ada Lovelace","tier":"gold"},"status":"open","total":{"amount":"129.90","currency":"EUR"},"lines":${loop}}`;
    const repository = method(`${role.entity}Repository`, 'findLines', [`${itemId}`, '{"limit":100,"offset":0}'], `[${loop} rows]`, 40, [
      query(`SELECT id, owner_id, status, total_amount, total_currency, created_at, updated_at FROM ${role.table} WHERE id = $1`, 500),
      ...lines,
    ]);
    const next = last ? [] : [call(i + 1)];
    const error = fails && last ? { type: 'IllegalStateException', message: `${role.entity} ${itemId} is locked by another transaction` } : undefined;
    const service_ = method(`${role.entity}Service`, 'load', [`${itemId}`, '{"expand":["lines","owner"],"locale":"en-GB","consistency":"strong"}'], row, 150, [repository, ...next], error);
    const controller = method(`${role.entity}Controller`, 'get', [`{"params":{"id":"${itemId}"},"query":{"expand":"lines,owner"}}`], `{"status":${status},"body":${row}}`, 80, [service_]);
    return {
      spec: {
        service,
        name: `GET ${role.route}`,
        kind: SPAN_KIND.server,
        attributes: {
          'http.request.method': 'GET',
          'http.route': role.route,
          'url.path': `${role.path}${itemId}`,
          'url.scheme': 'http',
          'http.response.status_code': status,
          'server.address': `${service}.internal`,
          'server.port': 8080,
          'user_agent.original': 'Mozilla/5.0 (X11; Linux x86_64) flowtrace-bench',
          'network.protocol.version': '1.1',
          'client.address': `10.0.${i}.${10 + (shape % 200)}`,
          ...common,
        },
        error: fails ? { type: '', message: '' } : undefined,
      },
      selfNs: 200_000n,
      children: [controller],
    };

    function call(j: number): Node {
      const target = hops[j]!;
      const targetRole = roleOf(target);
      return {
        spec: {
          service,
          name: 'GET',
          kind: SPAN_KIND.client,
          attributes: {
            'http.request.method': 'GET',
            'url.full': `http://${target}.internal:8080${targetRole.path}${itemId}`,
            'server.address': `${target}.internal`,
            'server.port': 8080,
            'http.response.status_code': status,
            ...common,
          },
          error: fails ? { type: '', message: '' } : undefined,
        },
        selfNs: 600_000n,
        children: [hop(j)],
      };
    }
  };

  const spans: SpanSpec[] = [];
  layout(hop(0), -1, 0n, spans);
  return spans;
}

import type { Attributes, AttributeKinds, Span } from '../../collector/src/model/span.js';
import { SpanKind } from '../../collector/src/model/span.js';

/**
 * How the Datadog Agent names an OpenTelemetry span: operation name, resource and type, as
 * its OTLP ingest does by default (datadog-agent v0.85.4, pkg/trace/transform/otelutil.go:
 * `getOTelOperationNameV2`, `getOTelResourceV2`, `GetOTelSpanTypeWithAccessor`; the "new
 * operation name mappings", default since Agent 7.66 / OTel Collector 0.126, documented at
 * docs.datadoghq.com/opentelemetry/migrate/migrate_operation_names).
 *
 * Attribute lookups follow the agent's semantic registry (pkg/trace/semantics/mappings.json):
 * each concept has keys tried in order, and for each key the span's attributes win over the
 * resource's. Only string-valued attributes count, as in the agent's accessor.
 */

const CONCEPTS = {
  operationName: ['operation.name'],
  resourceName: ['resource.name'],
  spanType: ['span.type'],
  serviceName: ['service.name'],
  serviceVersion: ['service.version'],
  env: ['deployment.environment.name', 'deployment.environment'],
  httpMethod: ['http.request.method', 'http.method'],
  httpRoute: ['http.route'],
  urlTemplate: ['url.template'],
  messagingSystem: ['messaging.system'],
  messagingOperation: ['messaging.operation'],
  messagingDestination: ['messaging.destination', 'messaging.destination.name'],
  rpcSystem: ['rpc.system'],
  rpcService: ['rpc.service'],
  rpcMethod: ['rpc.method'],
  graphqlOperationType: ['graphql.operation.type'],
  graphqlOperationName: ['graphql.operation.name'],
  dbSystem: ['db.system.name', 'db.system'],
  dbStatement: ['db.statement', 'db.query.text'],
  dbNamespace: ['db.namespace'],
  faasInvokedProvider: ['faas.invoked_provider'],
  faasInvokedName: ['faas.invoked_name'],
  faasTrigger: ['faas.trigger'],
  networkProtocolName: ['network.protocol.name'],
} as const;

export type Concept = keyof typeof CONCEPTS;

function stringValue(attributes: Attributes, kinds: AttributeKinds | undefined, key: string): string {
  return kinds?.[key] === undefined ? (attributes[key] ?? '') : '';
}

/** The concept's first non-empty string value, span attributes before resource attributes for each key. */
export function lookup(span: Span, concept: Concept, normalize = false): string {
  for (const key of CONCEPTS[concept]) {
    const v = stringValue(span.attributes, span.attributeKinds, key) || stringValue(span.resource.attributes, span.resource.attributeKinds, key);
    if (v) return normalize ? normalizeTagValue(v) : v;
  }
  return '';
}

/** An integer-valued attribute (an int, or a string holding one), span before resource. */
export function lookupInt(span: Span, keys: readonly string[]): number | undefined {
  for (const key of keys) {
    for (const [attributes, kinds] of [
      [span.attributes, span.attributeKinds],
      [span.resource.attributes, span.resource.attributeKinds],
    ] as const) {
      const v = attributes[key];
      const kind = kinds?.[key];
      if (v !== undefined && (kind === 'int' || kind === undefined) && /^-?\d+$/.test(v)) return Number(v);
    }
  }
  return undefined;
}

const VALID_TAG_VALUE = /^[a-z0-9:./-]*$/;

/** The agent's `normalize.NormalizeTagValue`: lower case, runs of other characters → `_`, at most 200 characters. */
export function normalizeTagValue(v: string): string {
  if (v.length <= 200 && VALID_TAG_VALUE.test(v)) return v;
  return v
    .toLowerCase()
    .replace(/[^\p{L}\p{Nd}:./-]+$/u, '')
    .replace(/[^\p{L}\p{Nd}:./-]+/gu, '_')
    .slice(0, 200);
}

/** A name `normalizeName` leaves as it is: a letter first, no `_` before `.` or `_`, none at the end. */
const VALID_NAME = /^[A-Za-z](?:[A-Za-z0-9.]|_(?=[A-Za-z0-9]))*$/;

/**
 * The agent's `normalize.NormalizeName` (a metric-name-safe operation name): at most 100
 * characters, starting with a letter, ASCII alphanumerics and `.`, other runs → `_`.
 */
export function normalizeName(name: string): string {
  // Most names are already fine (`http.server.request`): skip the character walk for them.
  if (name.length <= 100 && VALID_NAME.test(name)) return name;
  const s = name.slice(0, 100);
  let i = 0;
  while (i < s.length && !/[A-Za-z]/.test(s[i])) i++;
  if (i === s.length) return 'unnamed_operation';
  let out = '';
  for (; i < s.length; i++) {
    const c = s[i];
    const last = out[out.length - 1];
    if (/[A-Za-z0-9]/.test(c)) out += c;
    else if (c === '.') out = last === '_' ? out.slice(0, -1) + '.' : out + '.';
    else if (last !== '.' && last !== '_') out += '_';
  }
  return out.endsWith('_') ? out.slice(0, -1) : out;
}

/** pdata's `SpanKind.String()`, which the agent falls back to for names. */
const KIND_STRINGS = ['Unspecified', 'Internal', 'Server', 'Client', 'Producer', 'Consumer'];

/** The Datadog operation name (`span.name`). */
export function operationName(span: Span): string {
  return normalizeName(rawOperationName(span));
}

function rawOperationName(span: Span): string {
  const explicit = lookup(span, 'operationName', true);
  if (explicit) return explicit;
  const isClient = span.kind === SpanKind.CLIENT;
  const isServer = span.kind === SpanKind.SERVER;

  if (lookup(span, 'httpMethod')) {
    if (isServer) return 'http.server.request';
    if (isClient) return 'http.client.request';
  }
  const db = lookup(span, 'dbSystem', true);
  if (db && isClient) return `${db}.query`;

  const messagingSystem = lookup(span, 'messagingSystem', true);
  const messagingOp = lookup(span, 'messagingOperation', true);
  if (messagingSystem && messagingOp && span.kind >= SpanKind.SERVER && span.kind <= SpanKind.CONSUMER) return `${messagingSystem}.${messagingOp}`;

  const rpc = lookup(span, 'rpcSystem', true);
  if (rpc === 'aws-api' && isClient) {
    const service = lookup(span, 'rpcService', true);
    return service ? `aws.${service}.request` : 'aws.client.request';
  }
  if (rpc && isClient) return `${rpc}.client.request`;
  if (rpc && isServer) return `${rpc}.server.request`;

  const provider = lookup(span, 'faasInvokedProvider', true);
  const invoked = lookup(span, 'faasInvokedName', true);
  if (provider && invoked && isClient) return `${provider}.${invoked}.invoke`;
  const trigger = lookup(span, 'faasTrigger', true);
  if (trigger && isServer) return `${trigger}.invoke`;

  if (lookup(span, 'graphqlOperationType', true)) return 'graphql.server.request';

  const protocol = lookup(span, 'networkProtocolName', true);
  if (isServer) return protocol ? `${protocol}.server.request` : 'server.request';
  if (isClient) return protocol ? `${protocol}.client.request` : 'client.request';
  return span.kind === SpanKind.UNSPECIFIED ? KIND_STRINGS[SpanKind.INTERNAL] : (KIND_STRINGS[span.kind] ?? KIND_STRINGS[SpanKind.INTERNAL]);
}

/** The agent's limit; longer resources are cut. */
const MAX_RESOURCE_LENGTH = 5000;

/** The Datadog resource (`span.resource`): what was done, e.g. `GET /orders/:id` or the SQL statement. */
export function resourceName(span: Span): string {
  return rawResourceName(span).slice(0, MAX_RESOURCE_LENGTH);
}

function rawResourceName(span: Span): string {
  const explicit = lookup(span, 'resourceName');
  if (explicit) return explicit;

  const method = lookup(span, 'httpMethod');
  if (method) {
    // `_OTHER` is semconv's placeholder for a method outside the known set.
    const m = method === '_OTHER' ? 'HTTP' : method;
    const path = span.kind === SpanKind.CLIENT ? lookup(span, 'urlTemplate') : span.kind === SpanKind.SERVER ? lookup(span, 'httpRoute') : '';
    return path ? `${m} ${path}` : m;
  }
  const messagingOp = lookup(span, 'messagingOperation');
  if (messagingOp) return joined(messagingOp, lookup(span, 'messagingDestination'));
  const rpcMethod = lookup(span, 'rpcMethod');
  if (rpcMethod) return joined(rpcMethod, lookup(span, 'rpcService'));
  const graphqlType = lookup(span, 'graphqlOperationType');
  if (graphqlType) return joined(graphqlType, lookup(span, 'graphqlOperationName'));
  if (lookup(span, 'dbSystem')) {
    // The statement, which the agent's obfuscator then normalises.
    const statement = lookup(span, 'dbStatement');
    if (statement) return statement;
  }
  return span.name;
}

function joined(a: string, b: string): string {
  return b ? `${a} ${b}` : a;
}

/** db.system values and their span types (opentelemetry-mapping-go attributes.DBTypes); others are `db`. */
const DB_TYPES = new Map<string, string>([
  ...[
    'other_sql', 'mssql', 'microsoft.sql_server', 'mysql', 'oracle', 'oracle.db', 'db2', 'ibm.db2', 'postgresql', 'redshift',
    'aws.redshift', 'cloudscape', 'hsqldb', 'maxdb', 'sap.maxdb', 'ingres', 'actian.ingres', 'firstsql', 'edb', 'cache',
    'intersystems.cache', 'firebird', 'firebirdsql', 'derby', 'informix', 'ibm.informix', 'mariadb', 'sqlite', 'sybase',
    'teradata', 'vertica', 'h2', 'h2database', 'coldfusion', 'cockroachdb', 'progress', 'hanadb', 'sap.hana', 'adabas',
    'softwareag.adabas', 'filemaker', 'instantdb', 'interbase', 'netezza', 'ibm.netezza', 'pervasive', 'pointbase', 'clickhouse',
  ].map((s) => [s, 'sql']),
  ['cassandra', 'cassandra'],
  ['redis', 'redis'],
  ['memcached', 'memcached'],
  ['mongodb', 'mongodb'],
  ['elasticsearch', 'elasticsearch'],
  ['opensearch', 'opensearch'],
] as Array<[string, string]>);

/** The Datadog span type: `web` for servers, `http` or the database's type for clients, `custom` otherwise. */
export function spanType(span: Span): string {
  const explicit = lookup(span, 'spanType');
  if (explicit) return explicit;
  if (span.kind === SpanKind.SERVER) return 'web';
  if (span.kind === SpanKind.CLIENT) {
    const db = lookup(span, 'dbSystem', true);
    return db ? (DB_TYPES.get(db) ?? 'db') : 'http';
  }
  return 'custom';
}

import type { SpanView } from '../query/span-view.js';
import { attr, isError } from './span-tree.js';

/**
 * What an outgoing call span (database, HTTP, RPC client) calls, normalised so that repeated
 * calls of one statement or route compare equal whatever their literal values. Read from
 * OpenTelemetry's semantic conventions, current names first, then the older ones agents still send.
 */
export interface Call {
  type: 'db' | 'http' | 'rpc' | 'client';
  /** Where the call goes: database system + server + namespace, HTTP host, RPC service. */
  target: string;
  /** What is asked: the normalised statement, `METHOD /route/{id}`, the RPC method, the span name. */
  operation: string;
  /** Nothing in the call changes state, as far as its attributes tell (SELECT, GET, HEAD…). */
  readOnly: boolean;
  /** Status Error, or an HTTP answer of 5xx / 429 (a server-side failure a client may retry). */
  failed: boolean;
}

/** Read operations of non-SQL stores (Redis, MongoDB…), as their `db.operation.name` says. */
const READ_OPERATIONS = new Set(['select', 'get', 'mget', 'hget', 'hgetall', 'hmget', 'exists', 'find', 'findone', 'count', 'scan', 'query']);
const SAFE_HTTP_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The call a span makes, or undefined when it is not an outgoing call. */
export function callOf(span: SpanView): Call | undefined {
  const statement = attr(span, 'db.query.text') || attr(span, 'db.statement');
  const system = attr(span, 'db.system.name') || attr(span, 'db.system');
  if (statement !== '' || system !== '') {
    const operation = statement !== '' ? normaliseStatement(statement) : attr(span, 'db.operation.name') || attr(span, 'db.operation') || span.name;
    const verb = (attr(span, 'db.operation.name') || attr(span, 'db.operation') || firstWord(operation)).toLowerCase();
    return {
      type: 'db',
      target: `${system}://${peer(span)}/${attr(span, 'db.namespace') || attr(span, 'db.name')}`,
      operation,
      readOnly: READ_OPERATIONS.has(verb) || (verb === 'with' && !/\b(INSERT|UPDATE|DELETE|MERGE)\b/i.test(operation)),
      failed: isError(span),
    };
  }
  if (span.kind !== 'Client') return undefined;
  const method = (attr(span, 'http.request.method') || attr(span, 'http.method')).toUpperCase();
  if (method !== '') {
    const status = Number(attr(span, 'http.response.status_code') || attr(span, 'http.status_code'));
    const url = attr(span, 'url.full') || attr(span, 'http.url');
    const route = attr(span, 'url.template') || attr(span, 'http.route') || normalisePath(pathOf(url));
    return {
      type: 'http',
      target: peer(span) || hostOf(url),
      operation: `${method} ${route}`,
      readOnly: SAFE_HTTP_METHODS.has(method),
      failed: isError(span) || status >= 500 || status === 429,
    };
  }
  const rpcSystem = attr(span, 'rpc.system');
  if (rpcSystem !== '') {
    return { type: 'rpc', target: `${rpcSystem}://${peer(span)}/${attr(span, 'rpc.service')}`, operation: attr(span, 'rpc.method') || span.name, readOnly: false, failed: isError(span) };
  }
  return { type: 'client', target: peer(span), operation: span.name, readOnly: false, failed: isError(span) };
}

/** Call key: two spans with the same key make the same call. */
export function callKey(call: Call): string {
  return `${call.type} ${call.target} ${call.operation}`;
}

function peer(span: SpanView): string {
  const host = attr(span, 'peer.service') || attr(span, 'server.address') || attr(span, 'net.peer.name');
  const port = attr(span, 'server.port') || attr(span, 'net.peer.port');
  return host !== '' && port !== '' ? `${host}:${port}` : host;
}

/**
 * A SQL (or other) statement with its literal values replaced: quoted strings, numbers,
 * `IN (…)` lists and bind markers all become `?`, and whitespace is collapsed, so that calls
 * differing only in their values compare equal. Double-quoted text is an identifier in SQL: kept.
 */
export function normaliseStatement(statement: string): string {
  return statement
    .replace(/'(?:[^'\\]|\\.|'')*'/g, '?')
    .replace(/\$\d+|:\w+|@\w+/g, '?')
    .replace(/\b0x[0-9a-f]+\b/gi, '?')
    .replace(/(?<![\w.])-?\d+(?:\.\d+)?(?:e[+-]?\d+)?\b/gi, '?')
    .replace(/\bIN\s*\(\s*\?(?:\s*,\s*\?)*\s*\)/gi, 'IN (?)')
    .replace(/\s+/g, ' ')
    .trim();
}

/** A URL path with its identifiers replaced by `{id}`: numbers, UUIDs, long hex or base64-ish tokens. */
export function normalisePath(path: string): string {
  return path
    .split('/')
    .map((part) =>
      /^\d+$/.test(part) || /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(part) || /^[0-9a-f]{16,}$/i.test(part) || (/\d/.test(part) && /^[\w-]{20,}$/.test(part))
        ? '{id}'
        : part,
    )
    .join('/');
}

function pathOf(url: string): string {
  const match = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*([^?#]*)/i.exec(url);
  return match ? match[1] || '/' : url.split(/[?#]/)[0]!;
}

function hostOf(url: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(url)?.[1] ?? '';
}

function firstWord(text: string): string {
  return /^\s*(\w+)/.exec(text)?.[1] ?? '';
}

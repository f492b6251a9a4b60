/**
 * Failed exports sorted into retryable and permanent, as the OTLP specification says
 * ("Failures", "Retryable Response Codes"): retry what may succeed later, give up on what the
 * backend refused (bad payload, bad credentials), and honour the backend's retry hint.
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import { ExportError, parseRetryAfter } from '../exporter.js';
import { parseRpcStatus } from './response.js';

/** gRPC codes worth retrying. RESOURCE_EXHAUSTED is retried only when the server says when (RetryInfo). */
const RETRYABLE_GRPC_CODES: ReadonlySet<number> = new Set([
  GrpcStatus.CANCELLED,
  GrpcStatus.DEADLINE_EXCEEDED,
  GrpcStatus.ABORTED,
  GrpcStatus.OUT_OF_RANGE,
  GrpcStatus.UNAVAILABLE,
  GrpcStatus.DATA_LOSS,
]);

/** HTTP statuses worth retrying; every other non-2xx status is permanent. */
const RETRYABLE_HTTP_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);

/** Keeps messages from backends to a log-line size. */
const MAX_MESSAGE_CHARS = 512;

export function grpcExportError(code: number, details: string, statusDetails: Buffer | undefined): ExportError {
  const retryDelayMs = statusDetails === undefined ? undefined : parseRpcStatus(statusDetails).retryDelayMs;
  const retryable = code === GrpcStatus.RESOURCE_EXHAUSTED ? retryDelayMs !== undefined : RETRYABLE_GRPC_CODES.has(code);
  const name = GrpcStatus[code] ?? `code ${code}`;
  return new ExportError(`gRPC ${name}: ${truncate(details)}`, retryable, retryable ? retryDelayMs : undefined);
}

export function httpExportError(statusCode: number, statusMessage: string, retryAfter: string | undefined, contentType: string, body: Buffer): ExportError {
  const retryable = RETRYABLE_HTTP_STATUSES.has(statusCode);
  const explanation = bodyMessage(contentType, body);
  const message = `HTTP ${statusCode}${statusMessage ? ` ${statusMessage}` : ''}${explanation ? `: ${explanation}` : ''}`;
  return new ExportError(message, retryable, retryable ? parseRetryAfter(retryAfter) : undefined);
}

/** A connection that failed, reset or timed out: the backend may be back later. */
export function networkExportError(err: Error): ExportError {
  const code = (err as NodeJS.ErrnoException).code;
  return new ExportError(`${code ? `${code}: ` : ''}${err.message}`, true);
}

/** What an OTLP/HTTP error body says: a google.rpc.Status (protobuf or JSON) message, or the text. */
function bodyMessage(contentType: string, body: Buffer): string {
  if (body.length === 0) return '';
  if (contentType.includes('protobuf')) return truncate(parseRpcStatus(body).message);
  const text = body.toString('utf8');
  if (contentType.includes('json')) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed !== null && typeof parsed === 'object' && typeof (parsed as { message?: unknown }).message === 'string') {
        return truncate((parsed as { message: string }).message);
      }
    } catch {
      // not JSON after all: show the text
    }
  }
  return truncate(text.trim());
}

function truncate(s: string): string {
  return s.length <= MAX_MESSAGE_CHARS ? s : s.slice(0, MAX_MESSAGE_CHARS) + '…';
}

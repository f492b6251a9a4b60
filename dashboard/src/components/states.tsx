/** The loading, empty and error states every page shows the same way. */
import type { ReactNode } from 'react';
import { ApiError } from '../api/client';

export function Loading({ what }: { what: string }) {
  return (
    <p className="state state-loading" role="status" aria-live="polite">
      Loading {what}…
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return (
    <div className="state state-empty" role="status">
      {children}
    </div>
  );
}

/** Nothing stored at all yet: how to send the first traces. */
export function NoTracesYet() {
  return (
    <Empty>
      <p>
        <strong>No traces yet: point your OTLP exporter at :4317</strong> (gRPC) or <code>:4318/v1/traces</code> (HTTP).
      </p>
      <p>
        For example <code>OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4317</code> in the service's environment.
      </p>
    </Empty>
  );
}

/** The API's own message, and its status when there was one. */
export function ErrorMessage({ error, title = 'The request failed' }: { error: unknown; title?: string }) {
  const status = error instanceof ApiError && error.status > 0 ? ` (${error.status})` : '';
  const message = error instanceof Error ? error.message : String(error);
  return (
    <div className="state state-error" role="alert">
      <strong>
        {title}
        {status}:
      </strong>{' '}
      <span className="error-message">{message}</span>
    </div>
  );
}

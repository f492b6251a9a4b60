/**
 * One trace's flame graph (`GET /api/traces/:traceId/flame`): self time by service and method,
 * for the trace page's flame view. Loading, not-found and error states are its own.
 *
 *   <TraceFlame traceId={traceId} />            // every node the API answers by default (5,000)
 *   <TraceFlame traceId={traceId} maxNodes={20000} />
 */
import type { FlameAnswerJson } from './tree';
import { ErrorMessage, Loading } from '../components/states';
import { useApi } from '../components/useApi';
import { queryString } from '../api/client';
import { FlameResult } from './FlameResult';

export interface TraceFlameProps {
  /** 32 hex digits (16 are accepted by the API and zero-padded). */
  traceId: string;
  /** Nodes answered at most (2 to 20,000; the API's default 5,000 when absent): the lightest are folded into "(other)". */
  maxNodes?: number;
}

export function TraceFlame({ traceId, maxNodes }: TraceFlameProps) {
  const state = useApi<FlameAnswerJson & { traceId: string }>(`/api/traces/${encodeURIComponent(traceId)}/flame${queryString({ maxNodes })}`);
  if (state.status === 'idle' || state.status === 'loading') return <Loading what="the flame graph" />;
  if (state.status === 'error') return <ErrorMessage error={state.error} title="The trace's flame graph could not be loaded" />;
  return <FlameResult answer={state.data} label={`of trace ${state.data.traceId}`} />;
}

export default TraceFlame;

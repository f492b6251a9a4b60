/** A GET of the API bound to a component: loading, data or error; refetched when the path or the session changes. */
import { useEffect, useState } from 'react';
import { api } from '../api/client';
import { useSession } from '../session/useSession';

export type ApiState<T> = { status: 'idle' } | { status: 'loading' } | { status: 'done'; data: T } | { status: 'error'; error: unknown };

/** `path` undefined: nothing to fetch (the state stays idle). */
export function useApi<T>(path: string | undefined): ApiState<T> {
  const { epoch } = useSession();
  const [state, setState] = useState<ApiState<T>>({ status: path === undefined ? 'idle' : 'loading' });
  useEffect(() => {
    if (path === undefined) {
      setState({ status: 'idle' });
      return;
    }
    const controller = new AbortController();
    setState({ status: 'loading' });
    api<T>(path, { signal: controller.signal }).then(
      (data) => setState({ status: 'done', data }),
      (error: unknown) => {
        if (!controller.signal.aborted) setState({ status: 'error', error });
      },
    );
    return () => controller.abort();
  }, [path, epoch]);
  return state;
}

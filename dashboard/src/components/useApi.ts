/** A GET of the API bound to a component: loading, data or error; refetched when the path or the session changes. */
import { useEffect, useState } from 'react';
import { api } from '../api/client';
import { useSession } from '../session/useSession';

export type ApiState<T> = { status: 'idle' } | { status: 'loading' } | { status: 'done'; data: T } | { status: 'error'; error: unknown };

/** `path` undefined: nothing to fetch (the state stays idle). */
export function useApi<T>(path: string | undefined): ApiState<T> {
  const { epoch } = useSession();
  const key = `${epoch} ${path ?? ''}`;
  // The answer is kept with the request it answers: in the render where the path (or session)
  // has just changed, before the effect below runs, the previous answer is not shown as this one's.
  const [held, setHeld] = useState<{ key: string; state: ApiState<T> }>({ key, state: { status: path === undefined ? 'idle' : 'loading' } });
  useEffect(() => {
    if (path === undefined) {
      setHeld({ key, state: { status: 'idle' } });
      return;
    }
    const controller = new AbortController();
    setHeld({ key, state: { status: 'loading' } });
    api<T>(path, { signal: controller.signal }).then(
      (data) => setHeld({ key, state: { status: 'done', data } }),
      (error: unknown) => {
        if (!controller.signal.aborted) setHeld({ key, state: { status: 'error', error } });
      },
    );
    return () => controller.abort();
  }, [key, path]);
  if (held.key !== key) return { status: path === undefined ? 'idle' : 'loading' };
  return held.state;
}

import { useRouteError } from 'react-router';
import { ErrorMessage } from '../components/states';

/** A page that threw while rendering (or whose code failed to load): say so instead of a blank screen. */
export function RouteError() {
  const error = useRouteError();
  return (
    <main>
      <ErrorMessage error={error} title="This page failed" />
      <p>
        <a href="/">Back to search</a>
      </p>
    </main>
  );
}

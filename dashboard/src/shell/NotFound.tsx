import { Link, useLocation } from 'react-router';

/** A path the dashboard has no page for (a mistyped or outdated link). */
export function NotFound() {
  const { pathname } = useLocation();
  return (
    <section className="state state-error" role="alert">
      <h1>No page at {pathname}</h1>
      <p>
        <Link to="/search">Search traces</Link>
      </p>
    </section>
  );
}

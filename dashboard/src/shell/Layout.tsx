/** The app shell: navigation, theme toggle, who is signed in; the page, or the login screen when the API asks for it. */
import { Suspense, useState } from 'react';
import { NavLink, Outlet, useLocation } from 'react-router';
import { ErrorMessage, Loading } from '../components/states';
import { LoginScreen } from '../session/LoginScreen';
import { logout } from '../session/session';
import { useSession } from '../session/useSession';
import { NAV } from './nav';
import { chooseTheme, osTheme, storedTheme, type Theme } from './theme';

export function Layout() {
  const session = useSession();
  const { pathname } = useLocation();
  return (
    <div className="app">
      <header className="topbar">
        <a className="brand" href="/">
          FlowTrace
        </a>
        <nav aria-label="Pages">
          <ul>
            {NAV.map((entry) => (
              <li key={entry.to}>
                {/* `/` is the search page too. */}
                <NavLink to={entry.to} className={({ isActive }) => (isActive || (pathname === '/' && entry.to === '/search') ? 'active' : undefined)}>
                  {entry.label}
                </NavLink>
              </li>
            ))}
          </ul>
        </nav>
        <div className="topbar-end">
          <ThemeToggle />
          {session.status === 'signed-in' && session.user && <SignOut name={session.user.name} />}
        </div>
      </header>
      <main>
        {session.status === 'login-required' ? (
          <LoginScreen />
        ) : (
          <Suspense fallback={<Loading what="the page" />}>
            <Outlet />
          </Suspense>
        )}
      </main>
    </div>
  );
}

function ThemeToggle() {
  const [theme, setTheme] = useState<Theme>(() => storedTheme() ?? osTheme());
  const next: Theme = theme === 'dark' ? 'light' : 'dark';
  return (
    <button
      type="button"
      className="theme-toggle"
      aria-label={`Switch to the ${next} theme`}
      title={`Switch to the ${next} theme`}
      onClick={() => {
        chooseTheme(next);
        setTheme(next);
      }}
    >
      {theme === 'dark' ? '☀' : '☾'}
    </button>
  );
}

function SignOut({ name }: { name: string }) {
  const [error, setError] = useState<unknown>();
  return (
    <span className="signed-in">
      <span title="signed in as">{name}</span>
      <button type="button" onClick={() => logout().catch(setError)}>
        Sign out
      </button>
      {error !== undefined && <ErrorMessage error={error} title="Sign-out failed" />}
    </span>
  );
}

/** Shown when the API asks for credentials: paste a token (sent once to POST /api/session), or SSO. */
import { useState, type FormEvent } from 'react';
import { ErrorMessage } from '../components/states';
import { login } from './session';
import { useSession } from './useSession';

export function LoginScreen() {
  const { oidcLogin } = useSession();
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await login(token.trim());
      setToken(''); // kept nowhere once the cookie is set
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="login" aria-labelledby="login-title">
      <h1 id="login-title">Sign in to FlowTrace</h1>
      <p>This collector needs credentials. Paste an API token (<code>flowtrace tokens create --scope read</code>) or a JWT.</p>
      <form onSubmit={submit} className="login-form">
        <label>
          Token
          <input
            name="token"
            type="password"
            autoComplete="off"
            spellCheck={false}
            value={token}
            onChange={(e) => setToken(e.target.value)}
            required
            autoFocus
          />
        </label>
        <button type="submit" disabled={busy || token.trim() === ''}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      {oidcLogin && (
        <p>
          <a className="sso-link" href="/auth/oidc/login">
            Sign in with SSO
          </a>
        </p>
      )}
      {error !== undefined && <ErrorMessage error={error} title="Sign-in refused" />}
    </section>
  );
}

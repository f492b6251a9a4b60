/**
 * Who the browser is signed in as, kept by the collector's session cookie (HttpOnly: this code
 * never sees it). Only the CSRF token lives here, in memory; nothing goes to storage.
 *
 * - `checking`: the first GET /api/session is under way;
 * - `anonymous`: no session; the API may still answer (npm start's loopback API needs no credentials);
 * - `signed-in`: a session is open;
 * - `login-required`: a data call got 401: the login screen shows until a login succeeds.
 */
import { api, ApiError, setCsrfToken, setUnauthorizedListener } from '../api/client';
import type { SessionAnswer, SessionUser } from '../api/types';

export type SessionStatus = 'checking' | 'anonymous' | 'signed-in' | 'login-required';

export interface SessionState {
  status: SessionStatus;
  user?: SessionUser;
  /** The collector offers "Sign in with SSO" (auth.oidc.client_id is set). */
  oidcLogin: boolean;
  /** Bumped at every login and logout, so that pages fetch their data again. */
  epoch: number;
}

let state: SessionState = { status: 'checking', oidcLogin: false, epoch: 0 };
const listeners = new Set<() => void>();

function update(next: Partial<SessionState>): void {
  state = { ...state, ...next };
  for (const listener of listeners) listener();
}

export function sessionState(): SessionState {
  return state;
}

export function subscribeSession(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Asks the collector whether this browser has a session; wires the 401 listener. */
export async function startSession(): Promise<void> {
  setUnauthorizedListener(() => {
    setCsrfToken(undefined);
    update({ status: 'login-required', user: undefined });
  });
  try {
    const answer = await api<SessionAnswer>('/api/session', { quietUnauthorized: true });
    setCsrfToken(answer.csrfToken);
    update({ status: 'signed-in', user: answer.user });
  } catch (err) {
    // 401 says whether SSO is offered; 404: this collector has no browser sessions at all.
    const oidcLogin = err instanceof ApiError && err.body.oidcLogin === true;
    if (state.status === 'checking') update({ status: 'anonymous', oidcLogin });
    else update({ oidcLogin });
  }
}

/** POST /api/session with a pasted API token or JWT; the token is sent once and kept nowhere. */
export async function login(token: string): Promise<void> {
  const answer = await api<SessionAnswer>('/api/session', { method: 'POST', body: { token }, quietUnauthorized: true });
  setCsrfToken(answer.csrfToken);
  update({ status: 'signed-in', user: answer.user, epoch: state.epoch + 1 });
}

/** DELETE /api/session (with the CSRF token); then the pages ask again, anonymously. */
export async function logout(): Promise<void> {
  await api<void>('/api/session', { method: 'DELETE', quietUnauthorized: true });
  setCsrfToken(undefined);
  update({ status: 'anonymous', user: undefined, epoch: state.epoch + 1 });
}

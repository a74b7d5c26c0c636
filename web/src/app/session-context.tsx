import { createContext, useContext, useEffect, useMemo, useSyncExternalStore, type ReactNode } from 'react';
import { Provider as UrqlProvider } from 'urql';
import { createGraphQLClient } from '../lib/client';
import { session, type SessionState } from '../lib/session';

const SessionContext = createContext<SessionState>({ status: 'unknown' });

export function useSession(): SessionState {
  return useContext(SessionContext);
}

/** Holds the session and a GraphQL client per signed-in identity (sign-out drops the cache with it). */
export function SessionProvider({ children }: { children: ReactNode }) {
  const state = useSyncExternalStore(
    (listener) => session.subscribe(listener),
    () => session.current,
  );
  // A reload keeps you signed in: the refresh cookie buys a new access token.
  useEffect(() => {
    if (session.current.status === 'unknown') void session.refresh();
  }, []);
  const identity = state.status === 'signed-in' ? claimsOf(state.accessToken)?.sub : state.status;
  const client = useMemo(() => createGraphQLClient(), [identity]);
  return (
    <SessionContext.Provider value={state}>
      <UrqlProvider value={client}>{children}</UrqlProvider>
    </SessionContext.Provider>
  );
}

export interface Claims {
  sub: string;
  role: string;
}

/** The access token's claims, for display and navigation only (the server verifies the token). */
export function claimsOf(token: string): Claims | null {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const payload = JSON.parse(atob(part));
    return { sub: String(payload.sub), role: String(payload.role ?? 'student') };
  } catch {
    return null;
  }
}

export function useClaims(): Claims | null {
  const state = useSession();
  return useMemo(() => (state.status === 'signed-in' ? claimsOf(state.accessToken) : null), [state]);
}

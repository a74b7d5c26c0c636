import { useEffect, useRef } from 'react';
import { Link, Navigate, NavLink, Outlet, ScrollRestoration, useLocation, useNavigate } from 'react-router';
import { Skeleton } from '../components/ui';
import { StaffNav } from '../pages/staff/StaffNav';
import { session } from '../lib/session';
import { useClaims, useSession } from './session-context';

/** Moves focus to the page's heading after each navigation, so screen readers announce the new page. */
function useFocusOnNavigate() {
  const location = useLocation();
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    const heading = document.querySelector<HTMLElement>('main h1');
    if (heading) {
      heading.tabIndex = -1;
      heading.focus({ preventScroll: true });
    }
  }, [location.pathname]);
}

export function RootLayout() {
  useFocusOnNavigate();
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <Outlet />
      <ScrollRestoration />
    </>
  );
}

function signInPath(location: { pathname: string; search: string }, ended: boolean): string {
  const next = location.pathname + location.search;
  const params = new URLSearchParams();
  if (next !== '/') params.set('next', next);
  if (ended) params.set('ended', '1');
  const query = params.toString();
  return `/sign-in${query ? `?${query}` : ''}`;
}

/** Only a same-origin path may be a `next` target (no open redirect). */
export function safeNext(next: string | null): string {
  return next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\') ? next : '/';
}

export function PublicLayout({ anonymousOnly = false }: { anonymousOnly?: boolean }) {
  const state = useSession();
  const location = useLocation();
  if (anonymousOnly && state.status === 'signed-in') {
    return <Navigate to={safeNext(new URLSearchParams(location.search).get('next'))} replace />;
  }
  return (
    <div className="public">
      <header className="public__header">
        <Link to="/" className="brand">
          CourseGraph
        </Link>
      </header>
      <main id="main" className="public__main">
        {state.status === 'unknown' ? <Skeleton lines={4} /> : <Outlet />}
      </main>
    </div>
  );
}

export function AppLayout() {
  const state = useSession();
  const location = useLocation();
  if (state.status === 'unknown') {
    return (
      <main id="main" className="page">
        <Skeleton lines={6} label="Signing you in" />
      </main>
    );
  }
  if (state.status === 'anonymous') return <Navigate to={signInPath(location, state.ended)} replace />;
  return (
    <div className="app">
      <AppHeader />
      <main id="main" className="page">
        <Outlet />
      </main>
    </div>
  );
}

function AppHeader() {
  const navigate = useNavigate();
  const claims = useClaims();
  const signOut = async () => {
    await session.signOut();
    navigate('/sign-in', { replace: true });
  };
  return (
    <header className="app__header">
      <Link to="/" className="brand">
        CourseGraph
      </Link>
      <nav aria-label="Main" className="nav">
        <NavLink to="/" end>
          Dashboard
        </NavLink>
        <NavLink to="/catalog">Catalog</NavLink>
        <NavLink to="/labs">Labs</NavLink>
        <StaffNav />
        <NavLink to="/account">Account</NavLink>
      </nav>
      <div className="app__user">
        {claims && <span className="role-badge">{claims.role.replace('_', ' ')}</span>}
        <button type="button" className="button button--ghost" onClick={signOut}>
          Sign out
        </button>
      </div>
    </header>
  );
}

// The browser session (OWASP): the access token lives in this module's memory only; the refresh token is
// an HttpOnly cookie (Path=/auth) that the server sets and rotates and no script can read.
// Refreshes are serialized across tabs (Web Locks): two tabs presenting the same refresh token at once
// would look like token reuse to the server, which then revokes the whole family.

export type SessionState =
  | { status: 'unknown' } // the first silent refresh has not answered yet
  | { status: 'anonymous'; ended: boolean } // ended: a session existed and was revoked or expired
  | { status: 'signed-in'; accessToken: string; expiresAt: number };

export interface ApiError {
  __typename: string;
  code: string;
  message: string;
  retryAfterSeconds?: number;
  fieldErrors?: { field: string; message: string }[];
}

export class SessionError extends Error {
  constructor(readonly error: ApiError) {
    super(error.message);
  }
}

const CSRF_HEADER = { 'X-CourseGraph-CSRF': '1' };
/** Refresh this long before the access token expires (the server's tokens live 15 minutes). */
export const REFRESH_MARGIN_MS = 60_000;

type Listener = (state: SessionState) => void;

export interface TokenAnswer {
  accessToken: string;
  expiresAt?: string;
  expiresIn?: number;
}

export function expiryOf(answer: TokenAnswer, now: number): number {
  if (answer.expiresAt) return Date.parse(answer.expiresAt);
  return now + (answer.expiresIn ?? 900) * 1000;
}

/** When to refresh: a margin before expiry, or halfway for tokens shorter than two margins; never past. */
export function refreshDelay(expiresAt: number, now: number): number {
  const lifetime = expiresAt - now;
  return Math.max(0, lifetime > 2 * REFRESH_MARGIN_MS ? lifetime - REFRESH_MARGIN_MS : lifetime / 2);
}

export class Session {
  private state: SessionState = { status: 'unknown' };
  private listeners = new Set<Listener>();
  private inflight: Promise<string | null> | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly fetchImpl: typeof fetch = (...args) => fetch(...args),
    private readonly now: () => number = Date.now,
    private readonly withLock: <T>(run: () => Promise<T>) => Promise<T> = acrossTabs,
  ) {}

  get current(): SessionState {
    return this.state;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A token valid for a while yet, refreshing first when it is about to expire; null when signed out. */
  async token(): Promise<string | null> {
    const s = this.state;
    if (s.status === 'signed-in' && s.expiresAt - this.now() > 10_000) return s.accessToken;
    if (s.status === 'anonymous') return null;
    return this.refresh();
  }

  /** Trade the refresh cookie for a new access token (one request at a time, across tabs). */
  refresh(): Promise<string | null> {
    this.inflight ??= this.withLock(() => this.refreshNow()).finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  async signIn(email: string, password: string): Promise<void> {
    const answer = await this.post('/auth/login', { email, password });
    if (!answer.ok) throw new SessionError(answer.error);
    this.accept(answer.body);
  }

  async signOut(allSessions = false): Promise<void> {
    try {
      await this.post('/auth/logout', { allSessions });
    } finally {
      this.set({ status: 'anonymous', ended: false });
    }
  }

  /** The API said our token is no longer valid (revoked session): try one refresh, else end it. */
  async recover(): Promise<string | null> {
    return this.refresh();
  }

  private async refreshNow(): Promise<string | null> {
    const hadSession = this.state.status === 'signed-in';
    let answer: Awaited<ReturnType<Session['post']>>;
    try {
      answer = await this.post('/auth/refresh');
    } catch {
      // Network trouble is not a sign-out: keep what we have and let the caller's request fail.
      return this.state.status === 'signed-in' ? this.state.accessToken : null;
    }
    if (!answer.ok) {
      this.set({ status: 'anonymous', ended: hadSession });
      return null;
    }
    this.accept(answer.body);
    return answer.body.accessToken;
  }

  private accept(body: TokenAnswer): void {
    const expiresAt = expiryOf(body, this.now());
    this.set({ status: 'signed-in', accessToken: body.accessToken, expiresAt });
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.refresh(), refreshDelay(expiresAt, this.now()));
  }

  private set(state: SessionState): void {
    if (state.status !== 'signed-in') clearTimeout(this.timer);
    this.state = state;
    for (const listener of this.listeners) listener(state);
  }

  private async post(
    path: string,
    body?: unknown,
  ): Promise<{ ok: true; body: TokenAnswer } | { ok: false; error: ApiError }> {
    const response = await this.fetchImpl(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { ...CSRF_HEADER, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 204) return { ok: true, body: { accessToken: '' } };
    const json = await response.json().catch(() => null);
    if (response.ok && json?.accessToken) return { ok: true, body: json };
    const error: ApiError = json?.error ?? {
      __typename: 'UnexpectedError',
      code: `HTTP_${response.status}`,
      message: 'The server could not be reached. Try again in a moment.',
    };
    const requestId = response.headers.get('x-request-id');
    if (error.__typename === 'UnexpectedError' && requestId) error.message += ` (request id ${requestId})`;
    return { ok: false, error };
  }
}

async function acrossTabs<T>(run: () => Promise<T>): Promise<T> {
  const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
  return locks ? locks.request('coursegraph-refresh', run) : run();
}

export const session = new Session();

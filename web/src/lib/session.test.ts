import { describe, expect, it, vi } from 'vitest';
import { refreshDelay, REFRESH_MARGIN_MS, Session, SessionError } from './session';

function jsonResponse(status: number, body: unknown): Response {
  return new Response(body === null ? null : JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json', 'x-request-id': 'req-1' },
  });
}

const noLock = <T,>(run: () => Promise<T>) => run();

describe('Session', () => {
  it('signs in, keeps the access token in memory and sends the CSRF header', async () => {
    const fetchImpl = vi.fn(async () => jsonResponse(200, { accessToken: 'a1', expiresIn: 900 }));
    const session = new Session(fetchImpl, () => 1_000, noLock);
    await session.signIn('ada@example.com', 'correct horse battery staple');
    expect(session.current).toEqual({ status: 'signed-in', accessToken: 'a1', expiresAt: 901_000 });
    const [path, init] = fetchImpl.mock.calls[0] as unknown as [string, RequestInit];
    expect(path).toBe('/auth/login');
    expect((init.headers as Record<string, string>)['X-CourseGraph-CSRF']).toBe('1');
    expect(init.credentials).toBe('same-origin');
  });

  it('surfaces the typed error of a refused sign-in', async () => {
    const error = { __typename: 'RateLimitedError', code: 'RATE_LIMITED', message: 'Slow down.', retryAfterSeconds: 30 };
    const session = new Session(async () => jsonResponse(429, { error }), Date.now, noLock);
    await expect(session.signIn('a@b.c', 'x')).rejects.toEqual(new SessionError(error));
    await expect(session.signIn('a@b.c', 'x')).rejects.toMatchObject({ error: { retryAfterSeconds: 30 } });
  });

  it('refreshes once for concurrent callers', async () => {
    let resolve!: (r: Response) => void;
    const fetchImpl = vi.fn(() => new Promise<Response>((r) => (resolve = r)));
    const session = new Session(fetchImpl, Date.now, noLock);
    const both = Promise.all([session.refresh(), session.token(), session.refresh()]);
    await Promise.resolve();
    resolve(jsonResponse(200, { accessToken: 'fresh', expiresAt: new Date(Date.now() + 900_000).toISOString() }));
    expect(await both).toEqual(['fresh', 'fresh', 'fresh']);
    expect(fetchImpl).toHaveBeenCalledTimes(1);
  });

  it('ends a session whose refresh is refused, and says it ended', async () => {
    const answers = [jsonResponse(200, { accessToken: 'a1', expiresIn: 900 }), jsonResponse(401, { error: { __typename: 'InvalidTokenError', code: 'INVALID_TOKEN', message: 'no' } })];
    const session = new Session(async () => answers.shift()!, Date.now, noLock);
    await session.signIn('a@b.c', 'pw');
    expect(await session.recover()).toBeNull();
    expect(session.current).toEqual({ status: 'anonymous', ended: true });
  });

  it('a first visit without a cookie is anonymous, not an ended session', async () => {
    const session = new Session(async () => jsonResponse(401, { error: { __typename: 'InvalidTokenError', code: 'INVALID_TOKEN', message: 'no' } }), Date.now, noLock);
    expect(await session.token()).toBeNull();
    expect(session.current).toEqual({ status: 'anonymous', ended: false });
  });

  it('keeps the session through a network failure during refresh', async () => {
    const answers: (() => Promise<Response>)[] = [
      async () => jsonResponse(200, { accessToken: 'a1', expiresIn: 900 }),
      async () => {
        throw new TypeError('offline');
      },
    ];
    const session = new Session(() => answers.shift()!(), Date.now, noLock);
    await session.signIn('a@b.c', 'pw');
    expect(await session.refresh()).toBe('a1');
    expect(session.current.status).toBe('signed-in');
  });

  it('signs out server-side and forgets the token even when the server is unreachable', async () => {
    const calls: string[] = [];
    const session = new Session(
      async (path) => {
        calls.push(String(path));
        if (calls.length === 1) return jsonResponse(200, { accessToken: 'a1', expiresIn: 900 });
        throw new TypeError('offline');
      },
      Date.now,
      noLock,
    );
    await session.signIn('a@b.c', 'pw');
    await expect(session.signOut()).rejects.toThrow('offline');
    expect(calls).toEqual(['/auth/login', '/auth/logout']);
    expect(session.current).toEqual({ status: 'anonymous', ended: false });
  });

  it('refreshes silently before the token expires', async () => {
    vi.useFakeTimers();
    try {
      const fetchImpl = vi.fn(async () => jsonResponse(200, { accessToken: `t${fetchImpl.mock.calls.length}`, expiresIn: 900 }));
      const session = new Session(fetchImpl, Date.now, noLock);
      await session.signIn('a@b.c', 'pw');
      await vi.advanceTimersByTimeAsync(900_000 - REFRESH_MARGIN_MS - 1);
      expect(fetchImpl).toHaveBeenCalledTimes(1);
      await vi.advanceTimersByTimeAsync(2);
      expect(fetchImpl).toHaveBeenCalledTimes(2);
      expect((fetchImpl.mock.calls[1] as unknown as [string])[0]).toBe('/auth/refresh');
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('refreshDelay', () => {
  it('is a minute before expiry for a 15-minute token', () => {
    expect(refreshDelay(900_000, 0)).toBe(900_000 - REFRESH_MARGIN_MS);
  });
  it('is half the lifetime for short tokens, and never negative', () => {
    expect(refreshDelay(60_000, 0)).toBe(30_000);
    expect(refreshDelay(100_000, 0)).toBe(50_000);
    expect(refreshDelay(0, 5_000)).toBe(0);
  });
});

// The GraphQL client: urql with a normalized cache (graphcache), the access token from the session,
// one silent refresh and retry when the API answers INVALID_TOKEN.
import { authExchange } from '@urql/exchange-auth';
import { cacheExchange, type Cache } from '@urql/exchange-graphcache';
import { Client, fetchExchange, type CombinedError } from 'urql';
import schema from '../gql/introspection';
import { session } from './session';

const GRAPHQL_PATH = '/graphql';

export function isAuthError(error: CombinedError): boolean {
  return (
    (error.response as Response | undefined)?.status === 401 ||
    error.graphQLErrors.some((e) => e.extensions?.code === 'INVALID_TOKEN')
  );
}

export function createGraphQLClient(): Client {
  return new Client({
    url: GRAPHQL_PATH,
    // A custom header marks every request as non-simple: the router's CSRF prevention wants it.
    fetchOptions: { headers: { 'X-GraphQL-CSRF': '1' }, credentials: 'same-origin' },
    preferGetMethod: false,
    requestPolicy: 'cache-and-network',
    exchanges: [
      cacheExchange({
        schema,
        // Types without an id (connections, page info, stats) live inside their parent entity.
        keys: new Proxy({}, { get: () => (data: { id?: string | null }) => data.id ?? null }),
        updates: {
          Mutation: {
            // Lists a mutation changes are refetched rather than patched by hand.
            enroll: (_r, _a, cache) => invalidateMine(cache, ['enrollments']),
            dropEnrollment: (_r, _a, cache) => invalidateMine(cache, ['enrollments']),
            startLab: (_r, _a, cache) => invalidateMine(cache, ['labSessions']),
            startQuizAttempt: (_r, args, cache) => invalidateQuizAttempts(cache, args),
            submitQuizAttempt: (_r, _a, cache) => invalidateMine(cache, ['quizAttempts']),
          },
        },
      }),
      authExchange(async (utils) => ({
        addAuthToOperation(operation) {
          const state = session.current;
          if (state.status !== 'signed-in') return operation;
          return utils.appendHeaders(operation, { Authorization: `Bearer ${state.accessToken}` });
        },
        willAuthError() {
          const state = session.current;
          return state.status === 'signed-in' && state.expiresAt - Date.now() < 10_000;
        },
        didAuthError: isAuthError,
        async refreshAuth() {
          await session.recover();
        },
      })),
      fetchExchange,
    ],
  });
}

function invalidateMine(cache: Cache, fields: string[]): void {
  const me = cache.resolve('Query', 'me') as string | null;
  if (!me) return;
  for (const info of cache.inspectFields(me)) {
    if (fields.includes(info.fieldName)) cache.invalidate(me, info.fieldName, info.arguments ?? undefined);
  }
}

function invalidateQuizAttempts(cache: Cache, args: Record<string, unknown>): void {
  const quizId = (args.input as { quizId?: string } | undefined)?.quizId;
  if (quizId) cache.invalidate({ __typename: 'Quiz', id: quizId }, 'myAttempts');
  invalidateMine(cache, ['quizAttempts']);
}

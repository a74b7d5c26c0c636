// How errors from the graph reach the UI. Mutations answer a union: the success type or a typed error
// (every error type has `code` and `message`; ValidationError adds `fieldErrors`, RateLimitedError adds
// `retryAfterSeconds`). Everything else arrives as GraphQL errors with `extensions.code`.
import type { CombinedError } from 'urql';

export interface TypedError {
  __typename: string;
  code: string;
  message: string;
  fieldErrors?: { field: string; message: string }[];
  retryAfterSeconds?: number;
}

/** The typed error of a mutation's union result, or null when it succeeded. */
export function typedError(result: { __typename?: string } | null | undefined): TypedError | null {
  if (!result || !('code' in result) || !('message' in result)) return null;
  return result as unknown as TypedError;
}

/**
 * Field errors keyed by the input field's path without the leading `input.`: `input.title` -> `title`,
 * `input.question.points` -> `question.points`. Errors not about a field go under `''`.
 */
export function fieldErrorMap(error: TypedError | null): Record<string, string> {
  const map: Record<string, string> = {};
  for (const { field, message } of error?.fieldErrors ?? []) {
    const key = field.replace(/^input\./, '').replace(/^input$/, '');
    map[key] ??= message;
  }
  return map;
}

export type ProblemKind = 'forbidden' | 'not-found' | 'unauthenticated' | 'rate-limited' | 'network' | 'unexpected' | 'invalid';

export interface Problem {
  kind: ProblemKind;
  message: string;
  requestId?: string;
  retryAfterSeconds?: number;
}

/** What a failed query or a top-level GraphQL error means for the person looking at the page. */
export function problemOf(error: CombinedError | undefined): Problem | null {
  if (!error) return null;
  if (error.networkError && error.graphQLErrors.length === 0) {
    return { kind: 'network', message: 'The server could not be reached. Check your connection and try again.' };
  }
  const first = error.graphQLErrors[0];
  const ext = (first?.extensions ?? {}) as Record<string, unknown>;
  const code = String(ext.code ?? '');
  const requestId = typeof ext.requestId === 'string' ? ext.requestId : requestIdOf(error);
  switch (code) {
    case 'FORBIDDEN':
    case 'UNAUTHORIZED_FIELD_OR_TYPE':
      return { kind: 'forbidden', message: first.message || 'You do not have access to this.' };
    case 'NOT_FOUND':
      return { kind: 'not-found', message: first.message };
    case 'UNAUTHENTICATED':
    case 'INVALID_TOKEN':
      return { kind: 'unauthenticated', message: 'Your session ended. Sign in again.' };
    case 'RATE_LIMITED':
      return {
        kind: 'rate-limited',
        message: first.message,
        retryAfterSeconds: typeof ext.retryAfterSeconds === 'number' ? ext.retryAfterSeconds : undefined,
      };
    case 'BAD_USER_INPUT':
    case 'GRAPHQL_VALIDATION_FAILED':
      return { kind: 'invalid', message: first.message, requestId };
    default:
      return { kind: 'unexpected', message: 'Something went wrong on our side.', requestId };
  }
}

function requestIdOf(error: CombinedError): string | undefined {
  const response = error.response as Response | undefined;
  return response?.headers?.get?.('x-request-id') ?? undefined;
}

/** "Try again in 2 minutes" for a rate limit. */
export function retryText(seconds: number | undefined): string {
  if (!seconds || seconds <= 0) return 'Try again in a moment.';
  if (seconds < 60) return `Try again in ${seconds} second${seconds === 1 ? '' : 's'}.`;
  const minutes = Math.ceil(seconds / 60);
  return `Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`;
}

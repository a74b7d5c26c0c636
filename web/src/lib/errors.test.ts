import { CombinedError } from 'urql';
import { describe, expect, it } from 'vitest';
import { fieldErrorMap, problemOf, retryText, typedError } from './errors';

describe('typed errors of mutation results', () => {
  it('tells a success from an error', () => {
    expect(typedError({ __typename: 'MessageSuccess' })).toBeNull();
    expect(typedError({ __typename: 'ForbiddenError', code: 'FORBIDDEN', message: 'No.' } as never)).toMatchObject({ code: 'FORBIDDEN' });
    expect(typedError(undefined)).toBeNull();
  });

  it('maps a ValidationError to form fields by their input path', () => {
    const error = {
      __typename: 'ValidationError',
      code: 'VALIDATION',
      message: 'Invalid input.',
      fieldErrors: [
        { field: 'input.email', message: 'Not an email address.' },
        { field: 'input.question.points', message: 'Must be positive.' },
        { field: 'input.email', message: 'A second message is dropped.' },
        { field: 'input', message: 'Whole input.' },
      ],
    };
    expect(fieldErrorMap(error)).toEqual({ email: 'Not an email address.', 'question.points': 'Must be positive.', '': 'Whole input.' });
  });
});

describe('problems of failed requests', () => {
  it('shows the request id of an unexpected error', () => {
    const error = new CombinedError({ graphQLErrors: [{ message: 'Unexpected error.', extensions: { code: 'INTERNAL', requestId: 'r-42' } }] });
    expect(problemOf(error)).toEqual({ kind: 'unexpected', message: 'Something went wrong on our side.', requestId: 'r-42' });
  });

  it('turns FORBIDDEN into a clear no-access problem', () => {
    const error = new CombinedError({ graphQLErrors: [{ message: 'Not allowed here.', extensions: { code: 'FORBIDDEN' } }] });
    expect(problemOf(error)).toMatchObject({ kind: 'forbidden', message: 'Not allowed here.' });
  });

  it('tells a network failure apart', () => {
    expect(problemOf(new CombinedError({ networkError: new TypeError('Failed to fetch') }))?.kind).toBe('network');
  });

  it('reads the retry time of a rate limit', () => {
    const error = new CombinedError({ graphQLErrors: [{ message: 'Slow down.', extensions: { code: 'RATE_LIMITED', retryAfterSeconds: 90 } }] });
    expect(problemOf(error)).toMatchObject({ kind: 'rate-limited', retryAfterSeconds: 90 });
    expect(retryText(90)).toBe('Try again in 2 minutes.');
    expect(retryText(1)).toBe('Try again in 1 second.');
  });
});

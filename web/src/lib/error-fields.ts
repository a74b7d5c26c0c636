import { graphql } from '../gql';

/**
 * What every mutation asks of its typed errors: spread `...ErrorFields` in a result union and
 * `typedError()` (errors.ts) reads the error, its field errors and its retry time.
 */
export const ErrorFields = graphql(`
  fragment ErrorFields on Error {
    __typename
    code
    message
    ... on ValidationError { fieldErrors { field message } }
    ... on RateLimitedError { retryAfterSeconds }
  }
`);

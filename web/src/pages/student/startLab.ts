import { useMutation } from 'urql';
import { graphql } from '../../gql';
import type { TypedError } from '../../lib/errors';
import { retryText, typedError } from '../../lib/errors';

export const StartLabMutation = graphql(`
  mutation StartLab($input: StartLabInput!) {
    startLab(input: $input) {
      __typename
      ... on LabSessionSuccess { session { id status } }
      ...ErrorFields
      ... on LabCapacityExceededError { retryAfterSeconds }
      ... on LabLimitReachedError { limit scope }
    }
  }
`);

/** What to tell a student whose lab could not start. */
export function startLabMessage(error: TypedError & { limit?: number; scope?: string }): string {
  switch (error.__typename) {
    case 'NotEnrolledError':
      return 'Enroll in the course to start its labs.';
    case 'LabLimitReachedError':
      return error.scope === 'USER'
        ? `You already have ${error.limit} labs running. Stop one, then try again.`
        : 'Your organization has reached its limit of running labs. Try again later.';
    case 'LabCapacityExceededError':
    case 'RateLimitedError':
      return `${error.message} ${retryText(error.retryAfterSeconds)}`;
    default:
      return error.message;
  }
}

export function useStartLab() {
  const [result, start] = useMutation(StartLabMutation);
  const answer = result.data?.startLab;
  return {
    fetching: result.fetching,
    error: typedError(answer),
    start: async (exerciseId: string) => {
      const done = await start({ input: { exerciseId } });
      const session = done.data?.startLab;
      return session?.__typename === 'LabSessionSuccess' ? session.session.id : null;
    },
  };
}

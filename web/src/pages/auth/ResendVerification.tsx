import { useMutation } from 'urql';
import { graphql } from '../../gql';
import { useTitle } from '../../lib/useTitle';
import { EmailRequest } from './EmailRequest';

const RequestVerification = graphql(`
  mutation RequestEmailVerification($input: RequestEmailVerificationInput!) {
    requestEmailVerification(input: $input) {
      __typename
      ... on MessageSuccess { message }
      ...ErrorFields
    }
  }
`);

export default function ResendVerification() {
  useTitle('Resend the confirmation email');
  const [result, request] = useMutation(RequestVerification);
  return (
    <EmailRequest
      title="Confirm your email"
      intro="Enter your address and we send a new confirmation link (an earlier link stops working)."
      sentText="If that address has an unconfirmed account, a new confirmation link is on its way."
      submitLabel="Send the link again"
      send={(email) => void request({ input: { email } })}
      result={{ ...result, data: result.data?.requestEmailVerification }}
    />
  );
}

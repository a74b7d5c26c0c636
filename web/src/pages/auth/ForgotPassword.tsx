import { useMutation } from 'urql';
import { graphql } from '../../gql';
import { useTitle } from '../../lib/useTitle';
import { EmailRequest } from './EmailRequest';

const RequestReset = graphql(`
  mutation RequestPasswordReset($input: RequestPasswordResetInput!) {
    requestPasswordReset(input: $input) {
      __typename
      ... on MessageSuccess { message }
      ...ErrorFields
    }
  }
`);

export default function ForgotPassword() {
  useTitle('Forgot your password');
  const [result, request] = useMutation(RequestReset);
  return (
    <EmailRequest
      title="Forgot your password?"
      intro="Enter the address you sign in with. If it has an account, we mail it a link to choose a new password."
      sentText="If that address has an account, a reset link is on its way. It works once and expires soon."
      submitLabel="Send me a reset link"
      send={(email) => void request({ input: { email } })}
      result={{ ...result, data: result.data?.requestPasswordReset }}
    />
  );
}

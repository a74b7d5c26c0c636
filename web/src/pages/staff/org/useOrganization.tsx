// An organization's page starts from its slug in the URL.
import type { ReactNode } from 'react';
import { useQuery } from 'urql';
import { ProblemView, Skeleton } from '../../../components/ui';
import { graphql } from '../../../gql';
import { problemOf } from '../../../lib/errors';

const OrganizationBySlug = graphql(`
  query OrganizationBySlug($slug: String!) {
    organization(slug: $slug) { id name slug viewerRole }
  }
`);

export function useOrganization(slug: string): { data: { id: string; name: string; slug: string } | null; fallback: ReactNode } {
  const [{ data, fetching, error }, refetch] = useQuery({ query: OrganizationBySlug, variables: { slug } });
  const organization = data?.organization ?? null;
  if (organization) return { data: organization, fallback: null };
  const problem = problemOf(error) ?? (data ? { kind: 'not-found' as const, message: '' } : null);
  const fallback =
    problem && !fetching ? (
      <ProblemView problem={problem} retry={() => refetch({ requestPolicy: 'network-only' })} />
    ) : (
      <Skeleton lines={8} label="Loading the organization" />
    );
  return { data: null, fallback };
}

// Who may use which staff section: the platform role from the token's claim and the person's role in each
// organization (`myOrganizations { viewerRole }`). For navigation and a clear page only: the server checks
// every request itself.
import type { ReactNode } from 'react';
import { useQuery } from 'urql';
import { useClaims } from '../../app/session-context';
import { ProblemView, Skeleton } from '../../components/ui';
import { graphql } from '../../gql';

export const MyOrganizationsQuery = graphql(`
  query MyOrganizations {
    myOrganizations { id name slug viewerRole }
  }
`);

export interface StaffAccess {
  ready: boolean;
  /** Instructors, organization admins and site admins, or anyone teaching in an organization. */
  teaches: boolean;
  /** Organizations the person administers (slug, name). */
  administers: { id: string; slug: string; name: string }[];
  siteAdmin: boolean;
}

export function useStaffAccess(): StaffAccess {
  const claims = useClaims();
  const [{ data, error }] = useQuery({ query: MyOrganizationsQuery, pause: !claims });
  const role = claims?.role ?? 'student';
  const organizations = data?.myOrganizations ?? [];
  return {
    ready: Boolean(data || error),
    teaches: role !== 'student' || organizations.some((o) => o.viewerRole === 'INSTRUCTOR' || o.viewerRole === 'ORGANIZATION_ADMIN'),
    administers: organizations.filter((o) => o.viewerRole === 'ORGANIZATION_ADMIN' || role === 'site_admin'),
    siteAdmin: role === 'site_admin',
  };
}

const FORBIDDEN = { kind: 'forbidden' as const, message: 'This page is for staff who have this role.' };

/** The ForbiddenError page instead of a page the person cannot use. */
export function RequireAccess({ allowed, children }: { allowed: (access: StaffAccess) => boolean; children: ReactNode }) {
  const access = useStaffAccess();
  if (!access.ready) return <Skeleton lines={6} />;
  if (!allowed(access)) return <ProblemView problem={FORBIDDEN} />;
  return <>{children}</>;
}

import { useParams } from 'react-router';
import { useTitle } from '../../../lib/useTitle';
import { RequireAccess } from '../access';
import { AuditLog } from '../AuditLog';
import { organizationLinks, SectionNav } from '../StaffNav';
import { useOrganization } from './useOrganization';

export default function OrganizationAuditPage() {
  const { slug = '' } = useParams();
  useTitle('Audit log');
  return (
    <RequireAccess allowed={(a) => a.siteAdmin || a.administers.some((o) => o.slug === slug)}>
      <OrganizationAudit slug={slug} />
    </RequireAccess>
  );
}

function OrganizationAudit({ slug }: { slug: string }) {
  const organization = useOrganization(slug);
  if (!organization.data) return organization.fallback;
  return (
    <div className="stack-lg">
      <h1>Audit log of {organization.data.name}</h1>
      <SectionNav label="Organization" links={organizationLinks(slug)} />
      <AuditLog organizationId={organization.data.id} />
    </div>
  );
}

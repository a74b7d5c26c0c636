import { useTitle } from '../../../lib/useTitle';
import { RequireAccess } from '../access';
import { AuditLog } from '../AuditLog';
import { adminLinks, SectionNav } from '../StaffNav';

export default function PlatformAuditPage() {
  useTitle('Platform audit log');
  return (
    <RequireAccess allowed={(a) => a.siteAdmin}>
      <div className="stack-lg">
        <h1>Platform audit log</h1>
        <SectionNav label="Site administration" links={adminLinks} />
        <AuditLog organizationId={null} />
      </div>
    </RequireAccess>
  );
}

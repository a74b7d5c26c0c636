// The header's staff sections: shown to the people who may use them (see access.tsx).
import { NavLink } from 'react-router';
import { useStaffAccess } from './access';

export function StaffNav() {
  const access = useStaffAccess();
  return (
    <>
      {access.teaches && <NavLink to="/teach">Teach</NavLink>}
      {access.administers.map((org) => (
        <NavLink key={org.id} to={`/organizations/${org.slug}/members`} aria-label={`Organization: ${org.name}`}>
          {access.administers.length === 1 ? 'Organization' : org.name}
        </NavLink>
      ))}
      {access.siteAdmin && <NavLink to="/admin/users">Admin</NavLink>}
    </>
  );
}

/** The pages of one staff section, under the page's heading. */
export function SectionNav({ label, links }: { label: string; links: { to: string; text: string }[] }) {
  return (
    <nav aria-label={label} className="org-tabs">
      {links.map((link) => (
        <NavLink key={link.to} to={link.to} end>
          {link.text}
        </NavLink>
      ))}
    </nav>
  );
}

export const organizationLinks = (slug: string) => [
  { to: `/organizations/${slug}/members`, text: 'Members' },
  { to: `/organizations/${slug}/tracks`, text: 'Tracks' },
  { to: `/organizations/${slug}/report`, text: 'Report' },
  { to: `/organizations/${slug}/settings`, text: 'Settings' },
  { to: `/organizations/${slug}/audit-log`, text: 'Audit log' },
  { to: `/organizations/${slug}/api-clients`, text: 'API clients' },
];

/** The instructor's pages of one course. */
export const courseLinks = (courseId: string) => [
  { to: `/teach/courses/${courseId}`, text: 'Editor' },
  { to: `/teach/courses/${courseId}/generate`, text: 'AI generation' },
  { to: `/teach/courses/${courseId}/attempts`, text: 'Quiz attempts' },
  { to: `/teach/courses/${courseId}/analytics`, text: 'Analytics' },
  { to: `/teach/courses/${courseId}/labs`, text: 'Labs' },
  { to: `/teach/courses/${courseId}/exports`, text: 'Exports' },
];

export const adminLinks = [
  { to: '/admin/users', text: 'Users' },
  { to: '/admin/organizations', text: 'Organizations' },
  { to: '/admin/audit-log', text: 'Platform audit log' },
];

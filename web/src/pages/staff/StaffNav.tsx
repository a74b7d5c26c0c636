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

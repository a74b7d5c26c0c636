"""What each organization operation needs inside the organization, and the roles a membership holds."""

from __future__ import annotations

from enum import StrEnum

from subgraphs.core.rbac import Permission, Role

# What each operation needs inside the organization (core.rbac.ROLE_PERMISSIONS by membership role).
VIEW_ORGANIZATION = Permission.VIEW_COURSES  # every membership role holds it
VIEW_MEMBERS = Permission.VIEW_USERS  # organization admins
MANAGE_MEMBERS = Permission.MANAGE_ORGANIZATION
MANAGE_ORGANIZATION = Permission.MANAGE_ORGANIZATION
VIEW_TRACKS = Permission.VIEW_COURSES
MANAGE_TRACKS = Permission.UPDATE_COURSES  # instructors and admins
VIEW_AUDIT_LOG = Permission.VIEW_AUDIT_LOGS


class MembershipRole(StrEnum):
    """A role inside one organization; the values are core.rbac.Role values (their permission sets)."""

    STUDENT = Role.STUDENT.value
    INSTRUCTOR = Role.INSTRUCTOR.value
    ORGANIZATION_ADMIN = Role.ORGANIZATION_ADMIN.value

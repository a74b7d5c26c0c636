"""Platform roles and the permission map of the original design.

Token scopes are these permission values; user tokens carry their role's permissions, API clients the
scopes an admin granted. Per-organization membership roles come on top (the organizations domain).
"""

from __future__ import annotations

from enum import StrEnum

SCHEMA_READ = "schema:read"  # GraphiQL / introspection in production


class Role(StrEnum):
    STUDENT = "student"
    INSTRUCTOR = "instructor"
    ORGANIZATION_ADMIN = "organization_admin"
    SITE_ADMIN = "site_admin"


class Permission(StrEnum):
    VIEW_USERS = "view_users"
    CREATE_USERS = "create_users"
    UPDATE_USERS = "update_users"
    DELETE_USERS = "delete_users"
    VIEW_COURSES = "view_courses"
    CREATE_COURSES = "create_courses"
    UPDATE_COURSES = "update_courses"
    PUBLISH_COURSES = "publish_courses"
    CREATE_LABS = "create_labs"
    VIEW_ALL_LABS = "view_all_labs"
    MANAGE_LABS = "manage_labs"
    VIEW_ANALYTICS = "view_analytics"
    VIEW_ALL_ANALYTICS = "view_all_analytics"
    MANAGE_ORGANIZATION = "manage_organization"
    VIEW_AUDIT_LOGS = "view_audit_logs"


_STUDENT = {Permission.VIEW_COURSES, Permission.VIEW_ANALYTICS}
_INSTRUCTOR = _STUDENT | {
    Permission.CREATE_COURSES,
    Permission.UPDATE_COURSES,
    Permission.PUBLISH_COURSES,
    Permission.CREATE_LABS,
    Permission.VIEW_ALL_ANALYTICS,
}
_ORG_ADMIN = _INSTRUCTOR | {
    Permission.VIEW_USERS,
    Permission.CREATE_USERS,
    Permission.UPDATE_USERS,
    Permission.MANAGE_ORGANIZATION,
    Permission.VIEW_AUDIT_LOGS,
    Permission.VIEW_ALL_LABS,
    Permission.MANAGE_LABS,
}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.STUDENT: frozenset(_STUDENT),
    Role.INSTRUCTOR: frozenset(_INSTRUCTOR),
    Role.ORGANIZATION_ADMIN: frozenset(_ORG_ADMIN),
    Role.SITE_ADMIN: frozenset(Permission),
}

# Every scope an API client may be granted.
GRANTABLE_SCOPES: frozenset[str] = frozenset({*(p.value for p in Permission), SCHEMA_READ})


def scopes_for_role(role: Role) -> list[str]:
    scopes = sorted(p.value for p in ROLE_PERMISSIONS[role])
    if role is not Role.STUDENT:
        scopes.append(SCHEMA_READ)
    return scopes

"""Role permission for the API. Kept apart from flexoraa.api, which imports DRF's routers:
DRF reads DEFAULT_PERMISSION_CLASSES while those load."""

from rest_framework import exceptions, permissions

from flexoraa.models import Role
from flexoraa.tenancy import INTEGRATION_ROLE, request_role

ALL_ROLES = frozenset({*Role.values, INTEGRATION_ROLE})
MANAGING = frozenset({Role.OWNER, Role.MANAGER, INTEGRATION_ROLE})


class HasTenantRole(permissions.BasePermission):
    """The caller belongs to an organization and holds one of the view's ``allowed_roles``."""

    message = "Your role does not allow this."

    def has_permission(self, request, view):
        if getattr(request, "organization", None) is None:
            if request.user and request.user.is_authenticated:
                raise exceptions.PermissionDenied("You are not a member of any organization.")
            return False
        allowed = getattr(view, "allowed_roles", ALL_ROLES)
        return request_role(request) in allowed

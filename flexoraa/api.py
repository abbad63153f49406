"""API base: the tenant-scoped viewset, role permission and the one error shape.

Every viewset of every app derives from ``TenantViewSet``; a test walks the router and
fails when one does not.
"""

from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions, serializers, viewsets
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter
from rest_framework.views import exception_handler as drf_exception_handler

from flexoraa.actors import Actor
from flexoraa.errors import FlexoraaError
from flexoraa.filters import TenantFilterBackend
from flexoraa.models import Role
from flexoraa.permissions import ALL_ROLES, MANAGING, HasTenantRole
from flexoraa.responses import error_body
from flexoraa.tenancy import request_role

__all__ = ["ALL_ROLES", "MANAGING", "HasTenantRole", "TenantViewSet", "router"]

# One router for the whole API; each app's api.py registers its viewsets on it.
router = DefaultRouter(trailing_slash=True)
router.include_root_view = False

_DRF_CODES = {
    exceptions.ParseError: ("malformed_json", None),
    exceptions.UnsupportedMediaType: ("unsupported_media_type", None),
    exceptions.NotAuthenticated: ("not_authenticated", None),
    exceptions.AuthenticationFailed: ("authentication_failed", None),
    exceptions.PermissionDenied: ("permission_denied", None),
    exceptions.NotFound: ("not_found", "Not found."),
    exceptions.MethodNotAllowed: ("method_not_allowed", None),
    exceptions.NotAcceptable: ("not_acceptable", None),
    exceptions.Throttled: ("throttled", None),
}


def exception_handler(exc, context):
    if isinstance(exc, FlexoraaError):
        return Response(
            error_body(code=exc.code, message=exc.message, fields=exc.fields, **exc.extra),
            status=exc.status_code,
        )
    if isinstance(exc, RequestDataTooBig):
        return Response(
            error_body(code="body_too_large", message="The request body is too large."),
            status=413,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        first = next(iter(detail.items()), None)
        message = "Some fields are not valid."
        if first is not None:
            field, problems = first
            text = problems[0] if isinstance(problems, list) and problems else problems
            message = f"{field}: {text}" if field != "non_field_errors" else str(text)
        response.data = error_body(code="validation_failed", message=message, fields=detail)
        return response
    code, message = "error", None
    for exc_type, (known_code, known_message) in _DRF_CODES.items():
        if isinstance(exc, exc_type):
            code, message = known_code, known_message
            break
    response.data = error_body(code=code, message=message or str(exc.detail))
    return response


def _refuse_unknown_fields(serializer, data: dict) -> None:
    """A field the caller may not write is an error, not silently dropped: a typo or a
    read-only field would otherwise look like a success."""
    writable = {name for name, field in serializer.fields.items() if not field.read_only}
    unknown = sorted(set(data) - writable)
    if unknown:
        raise exceptions.ValidationError(
            {name: [f"Unknown or read-only; writable fields are {', '.join(sorted(writable))}."]
             for name in unknown}
        )


class TenantViewSet(viewsets.GenericViewSet):
    """Scopes every queryset to ``request.organization`` and fails closed.

    Subclasses set ``queryset`` (a ``TenantQuerySet``), may narrow it in ``scope_queryset``,
    and override ``filter_for_sdr`` to say what an SDR may see (nothing by default).
    """

    allowed_roles = ALL_ROLES
    # Foreign-key filters choose only among the caller's tenant's rows (flexoraa.filters).
    filter_backends = [TenantFilterBackend]

    def get_queryset(self):
        organization = getattr(self.request, "organization", None)
        queryset = self.queryset.all().for_org(organization)
        queryset = self.scope_queryset(queryset)
        if request_role(self.request) == Role.SDR:
            queryset = self.filter_for_sdr(queryset, self.request.membership)
        return queryset

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.method in ("POST", "PUT", "PATCH"):
            # Read the body before any action runs, so a body the API does not take (too deep,
            # not JSON, text the database cannot store) is the same 400 on every route, also
            # on an action that needs no body and would otherwise act as if it were fine.
            request.data  # noqa: B018 (parsing is the point)

    def scope_queryset(self, queryset):
        """Narrow or prefetch; never widen."""
        return queryset

    def filter_for_sdr(self, queryset, membership):
        return queryset.none()

    def get_serializer(self, *args, **kwargs):
        serializer = super().get_serializer(*args, **kwargs)
        data = kwargs.get("data")
        if isinstance(data, dict):
            _refuse_unknown_fields(serializer, data)
        return serializer

    @property
    def organization(self):
        return self.request.organization

    @property
    def actor(self) -> Actor:
        """Who acts, for every service the view calls: the API key or the member, built once
        per request where the organization is resolved (``flexoraa.tenancy``)."""
        actor = getattr(self.request, "actor", None)
        if actor is None:
            # Permissions refuse a request without an organization before any action runs.
            raise exceptions.PermissionDenied("You are not a member of an organization.")
        return actor


class TenantScopedPrimaryKeyField(serializers.PrimaryKeyRelatedField):
    """A foreign key in a request body that resolves only inside the caller's organization:
    another tenant's id reads as "does not exist"."""

    def get_queryset(self):
        request = self.context["request"]
        return super().get_queryset().for_org(getattr(request, "organization", None))


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "flexoraa.auth.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "A Flexoraa API key."}

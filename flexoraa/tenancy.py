"""Where ``request.organization`` comes from: resolved here and nowhere else.

People with a session work in one organization at a time (chosen in the session); an
integration's API key names its organization. ``request.membership`` is the person's
membership, or None for an API key. ``request.actor`` is who acts, built here once per
request for every service the request calls: the member, or the API key; None when the
request has no organization.
"""

from dataclasses import dataclass

from flexoraa import selectors
from flexoraa.actors import Actor
from flexoraa.models import MANAGING_ROLES, Membership

SESSION_ORGANIZATION_KEY = "flexoraa_organization_id"
# An API key acts for its whole tenant, with a manager's reach.
INTEGRATION_ROLE = "integration"


@dataclass(frozen=True)
class ApiKeyPrincipal:
    """``request.user`` for a request authenticated by an API key."""

    api_key_id: int
    prefix: str
    is_authenticated: bool = True
    is_anonymous: bool = False
    is_active: bool = True
    is_staff: bool = False
    is_superuser: bool = False
    pk: None = None

    def get_username(self):
        return f"api-key:{self.prefix}"


def attach_session_tenant(request) -> None:
    request.api_key = None
    request.membership = None
    request.organization = None
    request.actor = None
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return
    membership = selectors.membership_for_session(
        user, request.session.get(SESSION_ORGANIZATION_KEY)
    )
    if membership is not None:
        request.membership = membership
        request.organization = membership.organization
        request.actor = Actor.for_member(membership)


def attach_api_key_tenant(request, api_key) -> None:
    """Called by the API key authenticator; replaces any session tenant."""
    request.api_key = api_key
    request.membership = None
    request.organization = api_key.organization
    request.actor = Actor.for_api_key(api_key)


def request_role(request) -> str | None:
    if getattr(request, "api_key", None) is not None:
        return INTEGRATION_ROLE
    membership: Membership | None = getattr(request, "membership", None)
    return membership.role if membership is not None else None


def role_is_managing(role: str | None) -> bool:
    return role == INTEGRATION_ROLE or role in MANAGING_ROLES

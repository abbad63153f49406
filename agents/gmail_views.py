"""Connecting a Gmail mailbox: a manager is sent to Google's consent screen and comes back to
the callback, which trades the code for tokens and connects (or reconnects) the mailbox.

The ``state`` parameter is signed and names the organization, the user and a one-time nonce
kept in the session, so a callback is honoured only for the person and tenant that started it
(an attacker's code cannot be planted into a manager's session, RFC 6749 §10.12).
"""

import logging
import secrets
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django.views import View

from agents.providers import gmail as provider
from agents.services import gmail as services
from flexoraa.errors import FlexoraaError
from flexoraa.views import TenantPageMixin

logger = logging.getLogger(__name__)

STATE_SALT = "agents.gmail.connect"
STATE_MAX_AGE_SECONDS = 15 * 60
SESSION_NONCE_KEY = "agents_gmail_connect_nonce"
CHANNEL_LIST = "admin:agents_channel_changelist"


def redirect_uri(request) -> str:
    """The callback's absolute URL; Google requires the same value in both steps."""
    return request.build_absolute_uri(reverse("inbox-gmail-callback"))


def state_make(*, organization_id: int, user_id: int, nonce: str) -> str:
    return signing.dumps({"org": organization_id, "user": user_id, "nonce": nonce},
                         salt=STATE_SALT, compress=True)


class GmailConnectView(TenantPageMixin, View):
    """Send the manager to Google's consent screen for offline Gmail access."""

    manager_only = True

    def get(self, request):
        nonce = secrets.token_urlsafe(16)
        request.session[SESSION_NONCE_KEY] = nonce
        params = {
            "client_id": settings.GOOGLE_CLIENT_ID, "redirect_uri": redirect_uri(request),
            "response_type": "code", "scope": provider.SCOPE,
            # A refresh token comes only with offline access, and again only with consent.
            "access_type": "offline", "prompt": "consent",
            "state": state_make(organization_id=self.organization.pk,
                                user_id=request.user.pk, nonce=nonce),
        }
        return redirect(f"{settings.GOOGLE_OAUTH_AUTH_URL}?{urlencode(params)}")


class GmailCallbackView(TenantPageMixin, View):
    """Where Google sends the manager back with ``code`` and ``state`` (or ``error``)."""

    manager_only = True

    def get(self, request):
        problem = self._state_problem(request)
        if problem:
            logger.warning("gmail connect refused", extra={
                "organization_id": self.organization.pk, "reason": problem})
            return render(request, "agents/gmail/connect_refused.html",
                          {"problem": problem}, status=400)
        if request.GET.get("error"):
            messages.error(request, "Google did not grant access to the mailbox "
                                    f"({request.GET['error'][:60]}); nothing was connected.")
            return redirect(CHANNEL_LIST)
        code = request.GET.get("code", "")
        if not code:
            messages.error(request, "Google sent no authorization code; try connecting again.")
            return redirect(CHANNEL_LIST)
        try:
            grant = provider.authorization_code_exchange(code=code,
                                                         redirect_uri=redirect_uri(request))
            profile = provider.profile_get(access_token=grant.access_token)
            channel, created = services.mailbox_connect(
                org=self.organization, address=profile.email, grant=grant, actor=self.actor)
        except provider.AccessTokenRejected:
            messages.error(request, "Google rejected the new access token; try again.")
            return redirect(CHANNEL_LIST)
        except FlexoraaError as error:
            messages.error(request, error.message)
            return redirect(CHANNEL_LIST)
        if created:
            messages.success(request, f"Gmail mailbox {channel.external_id} is connected; its "
                                      "recent inbox is fetched within 15 minutes.")
        else:
            messages.success(request, f"Gmail mailbox {channel.external_id} is connected "
                                      "again.")
        return redirect(CHANNEL_LIST)

    def _state_problem(self, request) -> str:
        expected_nonce = request.session.pop(SESSION_NONCE_KEY, "")
        try:
            state = signing.loads(request.GET.get("state", ""), salt=STATE_SALT,
                                  max_age=STATE_MAX_AGE_SECONDS)
        except signing.SignatureExpired:
            return "This connection attempt took too long. Start again from Connect Gmail."
        except signing.BadSignature:
            return "This answer from Google does not belong to a connection started here."
        if not isinstance(state, dict):
            return "This answer from Google does not belong to a connection started here."
        if state.get("org") != self.organization.pk or state.get("user") != request.user.pk:
            return ("This connection was started for another organization or person. Switch "
                    "to that organization, or start again from Connect Gmail.")
        if not expected_nonce or not constant_time_compare(str(state.get("nonce", "")),
                                                           expected_nonce):
            return "This connection attempt was already used. Start again from Connect Gmail."
        return ""

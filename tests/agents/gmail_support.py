"""Helpers for the Gmail tests: the Google sandbox on a free port with the settings pointed
at it, and a connected mailbox holding tokens the sandbox issued."""

from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from agents.models import ChannelKind
from sandbox.google import GoogleSandbox
from sandbox.server import SandboxServer
from tests.agents.factories import make_channel

MAILBOX = "sales@example.test"


@contextmanager
def running_google(settings_fixture):
    """``(sandbox, server)`` with GMAIL_API_URL and the OAuth URLs pointing at it."""
    sandbox = GoogleSandbox(settings.GOOGLE_CLIENT_ID, settings.GOOGLE_CLIENT_SECRET,
                            consent_address=MAILBOX)
    with SandboxServer(google=sandbox) as server:
        settings_fixture.GMAIL_API_URL = server.google_url
        settings_fixture.GOOGLE_OAUTH_TOKEN_URL = server.google_url + "/token"
        settings_fixture.GOOGLE_OAUTH_AUTH_URL = server.google_url + "/auth"
        settings_fixture.PROVIDER_TIMEOUT_SECONDS = 5
        yield sandbox, server


def connected_mailbox(org, sandbox: GoogleSandbox, address: str = MAILBOX, *,
                      history_id: str = ""):
    """A Gmail channel with live sandbox tokens, as a finished consent leaves it."""
    access, refresh = sandbox.tokens_issue(address)
    channel = make_channel(org, kind=ChannelKind.GMAIL, external_id=address,
                           access_token=access, refresh_token=refresh)
    channel.access_token_expires_at = timezone.now() + timedelta(minutes=55)
    channel.history_id = history_id
    channel.save(update_fields=["access_token_expires_at", "history_id"])
    return channel

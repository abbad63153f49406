"""The combined provider sandbox built from the app's settings: Razorpay, Meta's Graph API
and Gmail with Google's OAuth, behind one SandboxServer. The ``provider_sandbox`` command
runs it; tests start it on a free port."""

from django.conf import settings

from sandbox.google import GoogleSandbox
from sandbox.meta import MetaSandbox
from sandbox.razorpay import RazorpaySandbox
from sandbox.server import SandboxServer

META_WEBHOOK_PATHS = {"whatsapp": "/webhooks/whatsapp/", "instagram": "/webhooks/instagram/",
                      "messenger": "/webhooks/messenger/"}
RAZORPAY_WEBHOOK_PATH = "/webhooks/razorpay/"


def sandbox_server_build(*, webhook_base: str | None = None, host: str = "127.0.0.1",
                         port: int = 0, quiet: bool = True) -> SandboxServer:
    """A (not yet started) server holding the secrets the app is configured with. With
    ``webhook_base`` (the app's http://host:port), the sandboxes POST their signed webhooks
    to the app's endpoints; without it they keep them for tests."""
    base = webhook_base.rstrip("/") if webhook_base else None
    razorpay = RazorpaySandbox(
        key_id=settings.RAZORPAY_KEY_ID, key_secret=settings.RAZORPAY_KEY_SECRET,
        webhook_secret=settings.RAZORPAY_WEBHOOK_SECRET,
        webhook_url=f"{base}{RAZORPAY_WEBHOOK_PATH}" if base else None,
    )
    meta = MetaSandbox(settings.META_APP_SECRET, {
        kind: f"{base}{path}" for kind, path in META_WEBHOOK_PATHS.items()
    } if base else None)
    google = GoogleSandbox(client_id=settings.GOOGLE_CLIENT_ID,
                           client_secret=settings.GOOGLE_CLIENT_SECRET)
    return SandboxServer(razorpay, meta=meta, google=google, host=host, port=port,
                         quiet=quiet)


def point_settings_at(settings_fixture, server: SandboxServer) -> None:
    """Point every provider base URL of (pytest-django's) ``settings`` at ``server``."""
    settings_fixture.META_GRAPH_URL = server.graph_url
    settings_fixture.GMAIL_API_URL = server.google_url
    settings_fixture.GOOGLE_OAUTH_TOKEN_URL = f"{server.google_url}/token"
    settings_fixture.GOOGLE_OAUTH_AUTH_URL = f"{server.google_url}/auth"
    settings_fixture.RAZORPAY_BASE_URL = server.api_url
    settings_fixture.RAZORPAY_CHECKOUT_JS = server.checkout_js_url
    settings_fixture.PROVIDER_SANDBOX_URL = server.url

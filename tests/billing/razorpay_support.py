"""Helpers for tests that buy tokens against the Razorpay sandbox (the billing tests and the
browser test share them; the fixtures live in tests/billing/conftest.py)."""

from contextlib import contextmanager

from django.conf import settings

from billing.models import TokenPackage
from sandbox.razorpay import RazorpaySandbox, SignedEvent
from sandbox.server import SandboxServer

WEBHOOK_URL = "/webhooks/razorpay/"
SKIP = object()


def sandbox_for_settings(**options) -> RazorpaySandbox:
    """A sandbox holding the credentials the app is configured with."""
    return RazorpaySandbox(
        key_id=settings.RAZORPAY_KEY_ID, key_secret=settings.RAZORPAY_KEY_SECRET,
        webhook_secret=settings.RAZORPAY_WEBHOOK_SECRET, **options,
    )


@contextmanager
def running_sandbox(**options):
    with SandboxServer(sandbox_for_settings(**options)) as server:
        yield server


def point_settings_at(settings_fixture, server: SandboxServer) -> None:
    settings_fixture.RAZORPAY_BASE_URL = server.api_url
    settings_fixture.RAZORPAY_CHECKOUT_JS = server.checkout_js_url


def make_package(*, name="Test pack", tokens=10_000, price_paise=99_900, currency="INR",
                 is_active=True, sort_order=0) -> TokenPackage:
    return TokenPackage.objects.create(name=name, tokens=tokens, price_paise=price_paise,
                                       currency=currency, is_active=is_active,
                                       sort_order=sort_order)


def webhook_post(client, event: SignedEvent, *, body=None, signature=None, event_id=None):
    """POST one webhook as Razorpay does. ``signature`` / ``event_id``: SKIP leaves the
    header out; None sends the event's own."""
    headers = {}
    signature = event.signature if signature is None else signature
    event_id = event.event_id if event_id is None else event_id
    if signature is not SKIP:
        headers["X-Razorpay-Signature"] = signature
    if event_id is not SKIP:
        headers["X-Razorpay-Event-Id"] = event_id
    return client.post(WEBHOOK_URL, data=event.body if body is None else body,
                       content_type="application/json", headers=headers)


def resigned(sandbox: RazorpaySandbox, event: SignedEvent, *, payload: dict | None = None,
             event_id: str | None = None) -> SignedEvent:
    """The event with another body (validly signed) or another event id."""
    import json

    body = event.body if payload is None else json.dumps(payload).encode()
    return SignedEvent(event_id=event_id or event.event_id, event_type=event.event_type,
                       body=body, signature=sandbox.webhook_signature(body))

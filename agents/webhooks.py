"""/webhooks/whatsapp/, /webhooks/instagram/, /webhooks/messenger/: Meta's adapters to the one
webhook inbox (``flexoraa.webhooks``).

Per POST: the signature over the raw body, one query for the channels the body names (with a
short per-process memory), then the core stores one row per event and answers. The tenant
comes only from the channel the body names (``metadata.phone_number_id`` on WhatsApp, the
entry's page / account id on Messenger and Instagram); an id no tenant has connected is
acknowledged with 200 and stores nothing, so Meta stops retrying it.
"""

import hmac
import json
import logging
import time

from django.conf import settings
from django.http import HttpResponse

from agents.meta_events import messaging_events, whatsapp_events
from agents.meta_payloads import (
    INSTAGRAM_OBJECT,
    MESSENGER_OBJECT,
    SIGNATURE_HEADER,
    WHATSAPP_OBJECT,
    meta_signature_valid,
)
from agents.models import Channel, ChannelKind
from agents.services import inbound
from flexoraa.responses import error_response
from flexoraa.webhooks.adapters import WebhookAdapter, WebhookEvent, WebhookRefused
from flexoraa.webhooks.endpoint import webhook_view

logger = logging.getLogger(__name__)

OBJECT_OF = {
    ChannelKind.WHATSAPP: WHATSAPP_OBJECT,
    ChannelKind.INSTAGRAM: INSTAGRAM_OBJECT,
    ChannelKind.MESSENGER: MESSENGER_OBJECT,
}


# --- the channel lookup, with a short per-process memory -------------------------------------

# (kind, external id) -> (organization id, expires at). Only channels that exist
# are remembered, so a newly connected channel is seen at once; a channel moved to another
# tenant is re-read within the TTL, and processing resolves the channel again from the
# database before it writes anything, so a stale entry can never put a message in the wrong
# tenant.
CHANNEL_CACHE_SECONDS = 30.0
_channel_cache: dict[tuple[str, str], tuple[int, float]] = {}


def channel_cache_clear() -> None:
    """Forget the remembered channels (tests, and after a channel is moved or removed)."""
    _channel_cache.clear()


def _channels(kind: str, external_ids: set[str]) -> dict[str, int]:
    """External id -> organization id for the connected channels among ``external_ids``."""
    now = time.monotonic()
    found: dict[str, int] = {}
    missing = []
    for external_id in external_ids:
        cached = _channel_cache.get((kind, external_id))
        if cached is not None and cached[1] > now:
            found[external_id] = cached[0]
        else:
            missing.append(external_id)
    if missing:
        rows = Channel.objects.filter(kind=kind, external_id__in=missing).values_list(
            "external_id", "organization_id")
        expires = now + CHANNEL_CACHE_SECONDS
        for external_id, org_id in rows:
            found[external_id] = org_id
            if CHANNEL_CACHE_SECONDS > 0:
                _channel_cache[(kind, external_id)] = (org_id, expires)
    return found


# --- splitting a body into events ------------------------------------------------------------

EVENTS_OF = {
    ChannelKind.WHATSAPP: whatsapp_events,
    ChannelKind.INSTAGRAM: messaging_events,
    ChannelKind.MESSENGER: messaging_events,
}


# --- the adapter -----------------------------------------------------------------------------

class MetaAdapter(WebhookAdapter):
    """One of Meta's three channels; the provider name is the channel kind."""

    def __init__(self, kind: str):
        self.kind = kind
        self.provider = str(kind)

    def handle_get(self, request):
        """Meta's subscription check: echo ``hub.challenge`` when the verify token matches."""
        mode = request.GET.get("hub.mode", "")
        token = request.GET.get("hub.verify_token", "")
        challenge = request.GET.get("hub.challenge", "")
        expected = settings.META_VERIFY_TOKEN.encode()
        if mode == "subscribe" and challenge and hmac.compare_digest(
            token.encode("utf-8", "replace"), expected
        ):
            return HttpResponse(challenge, content_type="text/plain; charset=utf-8")
        logger.warning("meta webhook verification refused", extra={"provider": self.kind})
        return error_response(status=403, code="verification_refused",
                              message="hub.mode must be 'subscribe' and hub.verify_token must "
                                      "match this app's verify token.")

    def verify(self, request, raw_body: bytes) -> None:
        header = request.headers.get(SIGNATURE_HEADER)
        if not header:
            raise WebhookRefused(status=401, code="signature_missing",
                                 message=f"The {SIGNATURE_HEADER} header is missing.")
        if not meta_signature_valid(raw_body, header, settings.META_APP_SECRET):
            logger.warning("meta webhook signature refused", extra={"provider": self.kind})
            raise WebhookRefused(status=401, code="signature_invalid",
                                 message=f"{SIGNATURE_HEADER} does not match the body.")

    def events(self, request, body: dict) -> list[WebhookEvent]:
        expected = OBJECT_OF[self.kind]
        if body.get("object") != expected:
            raise WebhookRefused(
                status=400, code="wrong_object",
                message=f"This endpoint takes '{expected}' webhooks; the body's object is "
                        f"{json.dumps(body.get('object'))[:80]}.",
                fields={"object": [f"Expected '{expected}'."]},
            )
        split = EVENTS_OF[self.kind](body)
        named = {channel_id for channel_id, *_rest in split if channel_id}
        orgs = _channels(self.kind, named) if named else {}
        for channel_id in sorted(named - set(orgs)):
            # The id is Meta's name for a number / page / account, not a person's data.
            logger.warning("meta webhook for an unknown channel",
                           extra={"provider": self.kind, "channel_external_id": channel_id})
        return [WebhookEvent(event_id=event_id, event_type=event_type, payload=payload,
                             organization_id=orgs.get(channel_id),
                             acknowledge_only=channel_id not in orgs)
                for channel_id, event_id, event_type, payload in split]

    def apply(self, delivery) -> str:
        return inbound.delivery_apply(delivery)


ADAPTERS = {kind: MetaAdapter(kind) for kind in OBJECT_OF}

whatsapp_webhook = webhook_view(ADAPTERS[ChannelKind.WHATSAPP])
instagram_webhook = webhook_view(ADAPTERS[ChannelKind.INSTAGRAM])
messenger_webhook = webhook_view(ADAPTERS[ChannelKind.MESSENGER])

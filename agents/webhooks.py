"""/webhooks/whatsapp/, /webhooks/instagram/, /webhooks/messenger/: Meta's events, verified,
stored once each, processed later.

This is the hot path (benchmarked against a plain one-INSERT view), so it stays plain: no
DRF, no serializers, no per-event queries. Per POST: the signature over the raw body, one
query for the channels the body names, one multi-row ``INSERT … ON CONFLICT DO NOTHING
RETURNING id`` (one row per event; the unique (provider, event_id) decides duplicates, even
between simultaneous deliveries), and one task queued after commit with the new rows' ids.

The tenant comes only from the channel the body names (``metadata.phone_number_id`` on
WhatsApp, the entry's page / account id on Messenger and Instagram); an id no tenant has
connected is acknowledged with 200 and stores nothing, so Meta stops retrying it.
"""

import hmac
import json
import logging
import time

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from agents.meta_events import messaging_events, whatsapp_events
from agents.meta_payloads import (
    INSTAGRAM_OBJECT,
    MESSENGER_OBJECT,
    SIGNATURE_HEADER,
    WHATSAPP_OBJECT,
    meta_signature_valid,
)
from agents.models import Channel, ChannelKind
from agents.services.inbound import deliveries_store
from flexoraa.responses import error_response
from flexoraa.webhooks import EVENT_ID_MAX

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


# --- the views -------------------------------------------------------------------------------

def _verify(request, kind: str):
    mode = request.GET.get("hub.mode", "")
    token = request.GET.get("hub.verify_token", "")
    challenge = request.GET.get("hub.challenge", "")
    expected = settings.META_VERIFY_TOKEN.encode()
    if mode == "subscribe" and challenge and hmac.compare_digest(
        token.encode("utf-8", "replace"), expected
    ):
        return HttpResponse(challenge, content_type="text/plain; charset=utf-8")
    logger.warning("meta webhook verification refused", extra={"provider": kind})
    return error_response(status=403, code="verification_refused",
                          message="hub.mode must be 'subscribe' and hub.verify_token must "
                                  "match this app's verify token.")


def _receive(request, kind: str):
    raw_body = request.body
    header = request.headers.get(SIGNATURE_HEADER)
    if not header:
        return error_response(status=401, code="signature_missing",
                              message=f"The {SIGNATURE_HEADER} header is missing.")
    if not meta_signature_valid(raw_body, header, settings.META_APP_SECRET):
        logger.warning("meta webhook signature refused", extra={"provider": kind})
        return error_response(status=401, code="signature_invalid",
                              message=f"{SIGNATURE_HEADER} does not match the body.")
    try:
        body = json.loads(raw_body)
    except ValueError:
        return error_response(status=400, code="malformed_json", message="The body is not JSON.")
    if not isinstance(body, dict):
        return error_response(status=400, code="malformed_json",
                              message="The body is not a JSON object.")
    expected = OBJECT_OF[kind]
    if body.get("object") != expected:
        return error_response(
            status=400, code="wrong_object",
            message=f"This endpoint takes '{expected}' webhooks; the body's object is "
                    f"{json.dumps(body.get('object'))[:80]}.",
            fields={"object": [f"Expected '{expected}'."]},
        )
    events = EVENTS_OF[kind](body)
    usable, seen = [], set()
    for channel_id, event_id, event_type, payload in events:
        if not channel_id or not event_id or len(event_id) > EVENT_ID_MAX:
            logger.warning("meta webhook event without a usable id",
                           extra={"provider": kind, "event_type": event_type})
            continue
        if event_id not in seen:  # the same event twice in one body is one event
            seen.add(event_id)
            usable.append((channel_id, event_id, event_type, payload))
    orgs = _channels(kind, {channel_id for channel_id, *_rest in usable}) if usable else {}
    rows = [(event_id, orgs[channel_id], event_type, payload)
            for channel_id, event_id, event_type, payload in usable if channel_id in orgs]
    for channel_id in sorted({channel_id for channel_id, *_rest in usable} - set(orgs)):
        # The id is Meta's name for a number / page / account, not a person's data.
        logger.warning("meta webhook for an unknown channel",
                       extra={"provider": kind, "channel_external_id": channel_id})
    new_ids = deliveries_store(provider=kind, events=rows) if rows else []
    return JsonResponse({"received": len(events), "new": len(new_ids)})


def _endpoint(kind: str):
    @csrf_exempt  # Meta signs its requests; it has no CSRF token to send
    def view(request):
        if request.method == "POST":
            return _receive(request, kind)
        if request.method == "GET":
            return _verify(request, kind)
        response = error_response(status=405, code="method_not_allowed",
                                  message="Meta verifies this address with GET and posts "
                                          "events to it with POST.")
        response["Allow"] = "GET, POST"
        return response

    view.__name__ = f"{kind}_webhook"
    return view


whatsapp_webhook = _endpoint(ChannelKind.WHATSAPP)
instagram_webhook = _endpoint(ChannelKind.INSTAGRAM)
messenger_webhook = _endpoint(ChannelKind.MESSENGER)

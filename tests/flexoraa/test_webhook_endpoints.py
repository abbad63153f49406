"""Every provider's webhook address against every kind of request a provider or an attacker
sends: valid, tampered, unsigned, replayed, oversized, malformed, the wrong content type,
characters the database cannot store, nesting no payload has, and a good event beside a bad
one. Each case says the status and the rows written.

Neither Meta nor Razorpay signs a timestamp, so a "stale" body cannot be told from a late
retry by its signature; an old body sent again is recognised by its event ids instead (the
"replayed" case). Calendly, which signs one, adds its stale case when it joins the inbox.
"""

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.conf import settings

from agents.meta_payloads import (
    instagram_message_payload,
    messenger_message_payload,
    meta_batch,
    meta_signature,
    whatsapp_message_payload,
)
from agents.models import ChannelKind, Message
from flexoraa.jsonsafe import MAX_JSON_DEPTH, REPLACEMENT
from flexoraa.models import DeliveryState, WebhookDelivery
from tests.agents.conftest import nlu_model  # noqa: F401  (the fixture, for Meta's messages)
from tests.agents.factories import make_channel
from tests.support import assert_error_shape

pytestmark = pytest.mark.django_db

TS = 1749416383
HOSTILE_TEXT = "price?\u0000 and \ud800 half a pair"


@dataclass(frozen=True)
class Provider:
    name: str
    url: str
    refusal_status: int  # for a missing or wrong signature
    sign: Callable[[bytes], dict]  # the headers that sign these exact bytes
    # A JSON-able body of events, each (event id, text); the text lands in the stored payload.
    body: Callable[[object, list[tuple[str, str]]], dict]
    events_per_body: int  # how many events one body can carry


def _meta_sign(body: bytes) -> dict:
    return {"X-Hub-Signature-256": meta_signature(body, settings.META_APP_SECRET)}


def _razorpay_sign(body: bytes) -> dict:
    digest = hmac.new(settings.RAZORPAY_WEBHOOK_SECRET.encode(), body, hashlib.sha256)
    # The event id travels in a header of its own: the test's id, kept in the payment's id.
    try:
        event_id = json.loads(body)["payload"]["payment"]["entity"]["id"].removeprefix("pay_")
    except (ValueError, KeyError, TypeError, RecursionError):
        event_id = "evt_" + hashlib.sha256(body).hexdigest()[:14]
    return {"X-Razorpay-Signature": digest.hexdigest(), "X-Razorpay-Event-Id": event_id}


def _whatsapp(channel, events):
    return meta_batch(*(whatsapp_message_payload(channel.external_id, "919812345678", text,
                                                 event_id, TS, "Asha")
                        for event_id, text in events))


def _messenger(channel, events):
    return meta_batch(*(messenger_message_payload(channel.external_id, "24000000000001", text,
                                                  event_id, TS * 1000)
                        for event_id, text in events))


def _instagram(channel, events):
    return meta_batch(*(instagram_message_payload(channel.external_id, "6352287854798321",
                                                  text, event_id, TS * 1000)
                        for event_id, text in events))


def _razorpay(_channel, events):
    ((event_id, text),) = events
    return {"entity": "event", "account_id": "acc_Test0000000001", "event": "payment.captured",
            "contains": ["payment"], "created_at": TS,
            "payload": {"payment": {"entity": {
                "id": f"pay_{event_id}", "order_id": "order_NotOurs00001", "amount": 49900,
                "currency": "INR", "status": "captured", "method": "upi",
                "notes": {"note": text}}}}}


PROVIDERS = {
    "whatsapp": Provider("whatsapp", "/webhooks/whatsapp/", 401, _meta_sign, _whatsapp, 3),
    "messenger": Provider("messenger", "/webhooks/messenger/", 401, _meta_sign, _messenger, 3),
    "instagram": Provider("instagram", "/webhooks/instagram/", 401, _meta_sign, _instagram, 3),
    "razorpay": Provider("razorpay", "/webhooks/razorpay/", 400, _razorpay_sign, _razorpay, 1),
}


@pytest.fixture(params=sorted(PROVIDERS))
def provider(request):
    return PROVIDERS[request.param]


@pytest.fixture
def channel(org, provider):
    if provider.name == "razorpay":
        return None
    return make_channel(org, kind=ChannelKind(provider.name))


@pytest.fixture
def post(client, provider, celery_eager, django_capture_on_commit_callbacks, nlu_model):  # noqa: F811
    """POST raw bytes to the provider's address and run what it queued, as a worker would."""
    def send(body: bytes, *, headers: dict | None = None, content_type="application/json"):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(provider.url, data=body, content_type=content_type,
                               headers=provider.sign(body) if headers is None else headers)
    return send


def encoded(body: dict) -> bytes:
    return json.dumps(body).encode()


def good_events(provider, prefix="good"):
    return [(f"{prefix}.{n}", f"hello {n}") for n in range(provider.events_per_body)]


def deliveries():
    return list(WebhookDelivery.objects.order_by("event_id"))


# --- the table -------------------------------------------------------------------------------

def test_a_valid_body_stores_each_event_once_and_processes_it(provider, channel, post):
    response = post(encoded(provider.body(channel, good_events(provider))))
    assert response.status_code == 200
    rows = deliveries()
    assert len(rows) == provider.events_per_body
    assert {row.state for row in rows} == {DeliveryState.PROCESSED}
    assert not any(row.sanitized for row in rows)


def test_a_replayed_body_is_answered_200_and_writes_nothing(provider, channel, post):
    body = encoded(provider.body(channel, good_events(provider)))
    post(body)
    before = [(row.pk, row.processed_at) for row in deliveries()]
    response = post(body)
    assert response.status_code == 200
    assert [(row.pk, row.processed_at) for row in deliveries()] == before


def test_a_tampered_body_is_refused_and_writes_nothing(provider, channel, post):
    body = encoded(provider.body(channel, good_events(provider)))
    headers = provider.sign(body)
    response = post(body.replace(b"hello", b"HELLO"), headers=headers)
    assert_error_shape(response, provider.refusal_status, "signature_invalid")
    assert WebhookDelivery.objects.count() == 0


def test_an_unsigned_body_is_refused_and_writes_nothing(provider, channel, post):
    body = encoded(provider.body(channel, good_events(provider)))
    headers = {key: value for key, value in provider.sign(body).items()
               if "Signature" not in key}
    response = post(body, headers=headers)
    assert_error_shape(response, provider.refusal_status, "signature_missing")
    assert WebhookDelivery.objects.count() == 0


def test_an_oversized_body_is_413_and_writes_nothing(provider, channel, post):
    events = [("big.0", "x" * (settings.REQUEST_BODY_LIMIT_BYTES + 1))]
    body = encoded(provider.body(channel, events))
    response = post(body)
    assert_error_shape(response, 413, "body_too_large")
    assert WebhookDelivery.objects.count() == 0


def test_a_signed_body_that_is_not_json_is_400_and_writes_nothing(provider, channel, post):
    response = post(b'{"object": "whatsapp_business_account", "entry": [')
    assert_error_shape(response, 400, "malformed_json")
    assert WebhookDelivery.objects.count() == 0


def test_a_signed_body_that_is_not_utf8_is_400_and_writes_nothing(provider, channel, post):
    response = post(b'{"object": "\xff\xfe"}')
    assert response.status_code == 400
    assert WebhookDelivery.objects.count() == 0


def test_the_wrong_content_type_is_415_and_writes_nothing(provider, channel, post):
    body = encoded(provider.body(channel, good_events(provider)))
    response = post(body, content_type="text/plain")
    assert_error_shape(response, 415, "unsupported_media_type")
    assert WebhookDelivery.objects.count() == 0


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 100_000])
def test_nesting_deeper_than_any_payload_is_400_naming_why(provider, channel, post, depth):
    body = provider.body(channel, good_events(provider))
    deep = "[" * depth + "]" * depth
    raw = encoded(body)[:-1] + b', "deep": ' + deep.encode() + b"}"
    response = post(raw)
    assert_error_shape(response, 400, "too_deep")
    assert "nests" in response.json()["error"]["message"]
    assert WebhookDelivery.objects.count() == 0


def test_characters_the_database_cannot_store_are_replaced_and_every_event_kept(
    provider, channel, post
):
    events = good_events(provider)
    events[0] = ("hostile.0", HOSTILE_TEXT)
    response = post(encoded(provider.body(channel, events)))
    assert response.status_code == 200
    rows = {row.event_id: row for row in deliveries()}
    assert len(rows) == provider.events_per_body
    assert {row.state for row in rows.values()} == {DeliveryState.PROCESSED}
    assert [event_id for event_id, row in rows.items() if row.sanitized] == ["hostile.0"]
    stored = json.dumps(rows["hostile.0"].payload, ensure_ascii=False)
    assert "\u0000" not in stored and REPLACEMENT in stored
    if provider.name != "razorpay":
        message = Message.objects.get(provider_message_id="hostile.0")
        assert message.body == f"price?{REPLACEMENT} and {REPLACEMENT} half a pair"


def test_nan_and_infinity_in_a_signed_body_are_stored_as_null_and_the_event_kept(
    provider, channel, post
):
    events = good_events(provider)
    raw = encoded(provider.body(channel, events))
    raw = raw[:-1] + b', "odd": [NaN, Infinity, -Infinity, 1e999]}'
    response = post(raw)
    assert response.status_code == 200
    rows = deliveries()
    assert len(rows) == provider.events_per_body
    assert {row.state for row in rows} == {DeliveryState.PROCESSED}
    if provider.name == "razorpay":  # the body is the event
        assert rows[0].payload["odd"] == [None, None, None, None] and rows[0].sanitized


def test_a_good_event_beside_an_unreadable_one_is_processed_and_the_other_kept_failed(
    provider, channel, post
):
    if provider.events_per_body == 1:
        # One event per body: the unreadable one is a body of its own, beside a good body.
        post(encoded(provider.body(channel, [("good.0", "fine")])))
        bad = provider.body(channel, [("bad.0", "no payment")])
        del bad["payload"]["payment"]["entity"]["amount"]
        response = post(encoded(bad))
    else:
        body = provider.body(channel, [("good.0", "fine"), ("bad.0", "no sender")])
        for entry in body["entry"]:
            for change in entry.get("changes", []):  # WhatsApp: no sender, no contact
                change["value"]["contacts"] = []
                for message in change["value"]["messages"]:
                    if message["id"] == "bad.0":
                        del message["from"]
            for item in entry.get("messaging", []):  # Messenger, Instagram: no sender
                if item["message"]["mid"] == "bad.0":
                    del item["sender"]
        response = post(encoded(body))
    assert response.status_code == 200
    rows = {row.event_id: row for row in deliveries()}
    assert rows["good.0"].state == DeliveryState.PROCESSED
    assert (rows["bad.0"].state, rows["bad.0"].outcome) == (DeliveryState.FAILED, "malformed")
    assert rows["bad.0"].last_error.startswith("malformed")


# --- the sender ids Meta documents, and the ones it does not ------------------------------

@pytest.mark.parametrize("provider", [PROVIDERS["whatsapp"]], ids=["whatsapp"])
@pytest.mark.parametrize("wa_id", ["not-a-number", "9" * 300, "+91 98123 45678"])
def test_a_whatsapp_sender_id_off_the_documented_shape_still_stores_a_visible_message(
    org, provider, post, wa_id
):
    channel = make_channel(org, kind=ChannelKind.WHATSAPP)
    body = whatsapp_message_payload(channel.external_id, wa_id, "hello there", "wamid.ODD", TS,
                                    "Asha")
    response = post(encoded(body))
    assert response.status_code == 200
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == DeliveryState.PROCESSED, delivery.last_error
    message = Message.objects.for_org(org).select_related("conversation").get()
    assert message.body == "hello there"
    assert message.conversation.lead_id is not None
    assert len(message.conversation.contact_id) <= 254


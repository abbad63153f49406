"""/webhooks/whatsapp/, /webhooks/instagram/, /webhooks/messenger/: the verification
handshake, the signature over the raw body before anything is stored, one stored delivery
per event (whatever the batching), the tenant only from the channel the body names."""

import json

import pytest
from django.conf import settings
from django.urls import reverse

from agents.meta_payloads import (
    instagram_message_payload,
    messenger_message_payload,
    meta_batch,
    meta_signature,
    meta_signature_valid,
    whatsapp_message_payload,
    whatsapp_status_payload,
)
from agents.models import ChannelKind, Message
from flexoraa.models import WebhookDelivery
from tests.agents.factories import make_channel
from tests.support import assert_error_shape

pytestmark = pytest.mark.django_db

URLS = {ChannelKind.WHATSAPP: "/webhooks/whatsapp/",
        ChannelKind.INSTAGRAM: "/webhooks/instagram/",
        ChannelKind.MESSENGER: "/webhooks/messenger/"}

# The providers' own examples (PROVIDER_CONTRACTS.md 2a, 2b), as raw bodies: Meta signs the
# bytes it sends, so these are posted exactly as written.
WHATSAPP_DOC_EXAMPLE = b"""{"object":"whatsapp_business_account",
 "entry":[{"id":"102290129340398",
   "changes":[{"field":"messages",
     "value":{"messaging_product":"whatsapp",
       "metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},
       "contacts":[{"profile":{"name":"Sheena Nelson"},"wa_id":"16505551234"}],
       "messages":[{"from":"16505551234","id":"wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQTdBMTQ0","timestamp":"1749416383",
                    "type":"text","text":{"body":"Does it come in another color?"}}]}}]}]}"""
WHATSAPP_DOC_STATUS = (
    b'{"object":"whatsapp_business_account","entry":[{"id":"102290129340398",'
    b'"changes":[{"field":"messages","value":{"messaging_product":"whatsapp",'
    b'"metadata":{"display_phone_number":"15550783881",'
    b'"phone_number_id":"106540352242922"},'
    b'"statuses":[{"id":"wamid.HBgNNTUxNjk5MjMxODIyMhUCABEYEjQ0","status":"delivered",'
    b'"timestamp":"1750857384","recipient_id":"5516992318222",'
    b'"conversation":{"id":"4a5e8c5b1d2f","expiration_timestamp":"1750943820",'
    b'"origin":{"type":"service"}},"pricing":{"billable":true,"pricing_model":"CBP",'
    b'"category":"service"}}]}}]}]}'
)
MESSENGER_DOC_EXAMPLE = (
    b'{"object":"page","entry":[{"id":"1234567890123","time":1457764198246,'
    b'"messaging":[{"sender":{"id":"1254459154682919"},"recipient":{"id":"1234567890123"},'
    b'"timestamp":1458692752478,"message":{"mid":"mid.1457764197618:41d102a3e1ae206a38",'
    b'"text":"hello, world!","quick_reply":{"payload":"DEVELOPER_DEFINED_PAYLOAD"}}}]}]}'
)
INSTAGRAM_DOC_EXAMPLE = (
    b'{"object":"instagram","entry":[{"id":"17841400000000001","time":1569262486134,'
    b'"messaging":[{"sender":{"id":"6352287854798321"},'
    b'"recipient":{"id":"17841400000000001"},"timestamp":1569262485349,'
    b'"message":{"mid":"aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAwMDAwMDAwMDAxOjM0MDI4MjM2Njg0MTcxMDMwMTI0NDI1OTk3MTMzNjk1MDI3MjY5Mw",'
    b'"text":"Is the blue one in stock?"}}]}]}'
)
DOC_CHANNEL_IDS = {ChannelKind.WHATSAPP: "106540352242922",
                   ChannelKind.MESSENGER: "1234567890123",
                   ChannelKind.INSTAGRAM: "17841400000000001"}
DOC_BODIES = {ChannelKind.WHATSAPP: WHATSAPP_DOC_EXAMPLE,
              ChannelKind.MESSENGER: MESSENGER_DOC_EXAMPLE,
              ChannelKind.INSTAGRAM: INSTAGRAM_DOC_EXAMPLE}
DOC_EVENT_IDS = {ChannelKind.WHATSAPP: "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQTdBMTQ0",
                 ChannelKind.MESSENGER: "mid.1457764197618:41d102a3e1ae206a38",
                 ChannelKind.INSTAGRAM: (
                     "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAwMDAwMDAwMDAxOjM0MDI4Mj"
                     "M2Njg0MTcxMDMwMTI0NDI1OTk3MTMzNjk1MDI3MjY5Mw")}
TS = 1749416383


def body_bytes(payload) -> bytes:
    return payload if isinstance(payload, bytes) else json.dumps(payload).encode()


def post_signed(client, kind, payload, *, secret=None, signature=None):
    """POST a body as Meta does: signed over the exact bytes with the app secret."""
    body = body_bytes(payload)
    signature = signature or meta_signature(body, secret or settings.META_APP_SECRET)
    return client.post(URLS[kind], data=body, content_type="application/json",
                       headers={"X-Hub-Signature-256": signature})


def wa_message(channel, *, wa_id="919812345678", text="Hi, what does it cost?", mid=None,
               ts=TS, name="Asha Rao", **options):
    return whatsapp_message_payload(channel.external_id, wa_id, text,
                                    mid or f"wamid.{wa_id}.{ts}.{text[:8]}", ts, name,
                                    **options)


@pytest.fixture
def doc_channels(org):
    return {kind: make_channel(org, kind=kind, external_id=external_id)
            for kind, external_id in DOC_CHANNEL_IDS.items()}


@pytest.fixture
def wa_channel(org):
    return make_channel(org, kind=ChannelKind.WHATSAPP)


# --- the signature helpers --------------------------------------------------------------------

def test_the_signature_is_sha256_equals_lowercase_hex_hmac_of_the_raw_bytes():
    import hashlib
    import hmac

    body = WHATSAPP_DOC_EXAMPLE
    expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert meta_signature(body, "s3cret") == expected
    assert meta_signature_valid(body, expected, "s3cret")
    assert not meta_signature_valid(body + b" ", expected, "s3cret")
    assert not meta_signature_valid(body, expected, "other")
    assert not meta_signature_valid(body, expected.removeprefix("sha256="), "s3cret")
    assert not meta_signature_valid(body, "sha256=" + "é" * 64, "s3cret")
    assert not meta_signature_valid(body, "", "s3cret")
    assert not meta_signature_valid(body, None, "s3cret")


def test_a_reserialised_body_does_not_verify_because_meta_signs_the_bytes_it_sent():
    signature = meta_signature(WHATSAPP_DOC_EXAMPLE, "k")
    reserialised = json.dumps(json.loads(WHATSAPP_DOC_EXAMPLE)).encode()
    assert not meta_signature_valid(reserialised, signature, "k")


# --- GET verification -------------------------------------------------------------------------

@pytest.mark.parametrize("kind", list(URLS))
def test_verification_with_the_right_token_echoes_the_challenge_as_plain_text(client, kind):
    response = client.get(URLS[kind], {"hub.mode": "subscribe", "hub.challenge": "1158201444",
                                       "hub.verify_token": settings.META_VERIFY_TOKEN})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert response.content == b"1158201444"


@pytest.mark.parametrize("kind", list(URLS))
@pytest.mark.parametrize("query", [
    {"hub.mode": "subscribe", "hub.challenge": "42", "hub.verify_token": "wrong"},
    {"hub.mode": "unsubscribe", "hub.challenge": "42", "hub.verify_token": "<right>"},
    {"hub.challenge": "42", "hub.verify_token": "<right>"},
    {"hub.mode": "subscribe", "hub.challenge": "42"},
], ids=["wrong-token", "wrong-mode", "no-mode", "no-token"])
def test_verification_without_the_right_mode_and_token_is_forbidden(client, kind, query):
    query = {key: settings.META_VERIFY_TOKEN if value == "<right>" else value
             for key, value in query.items()}
    response = client.get(URLS[kind], query)
    assert_error_shape(response, 403, "verification_refused")
    assert b"42" not in response.content


def test_the_url_names_point_at_the_three_endpoints():
    assert reverse("whatsapp-webhook") == "/webhooks/whatsapp/"
    assert reverse("instagram-webhook") == "/webhooks/instagram/"
    assert reverse("messenger-webhook") == "/webhooks/messenger/"


def test_other_methods_are_not_allowed(client):
    response = client.put(URLS[ChannelKind.WHATSAPP], data=b"{}")
    assert_error_shape(response, 405, "method_not_allowed")
    assert response["Allow"] == "GET, POST"


# --- refusals: nothing stored -----------------------------------------------------------------

@pytest.mark.parametrize("kind", list(URLS))
@pytest.mark.parametrize("tamper", ["body", "wrong_secret", "missing", "garbage", "non_ascii",
                                    "bare_hex"])
def test_an_unsigned_or_badly_signed_post_is_refused_with_401_and_nothing_is_stored(
    client, doc_channels, kind, tamper, django_capture_on_commit_callbacks
):
    body = DOC_BODIES[kind]
    headers = {"X-Hub-Signature-256": meta_signature(body, settings.META_APP_SECRET)}
    if tamper == "body":
        event_id = DOC_EVENT_IDS[kind].encode()
        body = body.replace(event_id, event_id[:-1] + b"X")
    elif tamper == "wrong_secret":
        headers["X-Hub-Signature-256"] = meta_signature(body, "not-the-app-secret")
    elif tamper == "missing":
        headers = {}
    elif tamper == "garbage":
        headers["X-Hub-Signature-256"] = "sha256=nonsense"
    elif tamper == "non_ascii":
        headers["X-Hub-Signature-256"] = "sha256=" + "é" * 64
    elif tamper == "bare_hex":
        headers["X-Hub-Signature-256"] = headers["X-Hub-Signature-256"].removeprefix("sha256=")
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(URLS[kind], data=body, content_type="application/json",
                               headers=headers)
    code = "signature_missing" if tamper == "missing" else "signature_invalid"
    assert_error_shape(response, 401, code)
    assert WebhookDelivery.objects.count() == 0
    assert Message.objects.count() == 0
    assert callbacks == []


def test_a_signed_body_that_is_not_json_is_a_400(client, wa_channel):
    response = post_signed(client, ChannelKind.WHATSAPP, b'{"object": "whatsapp_business_')
    assert_error_shape(response, 400, "malformed_json")
    response = post_signed(client, ChannelKind.WHATSAPP, b'["a", "list"]')
    assert_error_shape(response, 400, "malformed_json")
    assert WebhookDelivery.objects.count() == 0


@pytest.mark.parametrize(("kind", "body"), [
    (ChannelKind.MESSENGER, WHATSAPP_DOC_EXAMPLE),
    (ChannelKind.WHATSAPP, INSTAGRAM_DOC_EXAMPLE),
    (ChannelKind.INSTAGRAM, MESSENGER_DOC_EXAMPLE),
])
def test_a_signed_body_for_another_endpoint_is_a_400_naming_the_object(
    client, doc_channels, kind, body
):
    response = post_signed(client, kind, body)
    error = assert_error_shape(response, 400, "wrong_object")
    assert json.loads(body)["object"] in error["message"]
    assert WebhookDelivery.objects.count() == 0


# --- storing ----------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", list(URLS))
def test_the_providers_own_example_is_stored_once_for_the_channels_tenant_and_queued(
    client, org, doc_channels, kind, django_capture_on_commit_callbacks, monkeypatch
):
    from flexoraa import tasks as core_tasks

    queued = []
    monkeypatch.setattr(core_tasks.process_webhook_deliveries, "delay", queued.append)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post_signed(client, kind, DOC_BODIES[kind])
    assert response.status_code == 200
    assert response.json() == {"received": 1, "new": 1}
    delivery = WebhookDelivery.objects.get()
    assert (delivery.provider, delivery.event_id, delivery.event_type) == (
        kind, DOC_EVENT_IDS[kind], "message")
    assert delivery.organization_id == org.pk
    assert delivery.processed_at is None
    assert delivery.payload["channel_id"] == DOC_CHANNEL_IDS[kind]
    if kind == ChannelKind.WHATSAPP:
        assert delivery.payload["wa_id"] == "16505551234"
        assert delivery.payload["profile_name"] == "Sheena Nelson"
        assert delivery.payload["message"]["text"]["body"] == "Does it come in another color?"
    else:
        assert delivery.payload["messaging"]["message"]["mid"] == DOC_EVENT_IDS[kind]
    assert len(callbacks) == 1
    assert queued == [[delivery.pk]]


def test_a_status_callback_is_stored_under_its_id_and_status(client, doc_channels):
    response = post_signed(client, ChannelKind.WHATSAPP, WHATSAPP_DOC_STATUS)
    assert response.json() == {"received": 1, "new": 1}
    delivery = WebhookDelivery.objects.get()
    assert delivery.event_id == "wamid.HBgNNTUxNjk5MjMxODIyMhUCABEYEjQ0:delivered"
    assert delivery.event_type == "status"
    assert delivery.payload["status"]["status"] == "delivered"


def test_a_redelivered_event_is_acknowledged_and_stores_nothing_more(
    client, wa_channel, django_capture_on_commit_callbacks
):
    payload = wa_message(wa_channel)
    assert post_signed(client, ChannelKind.WHATSAPP, payload).json() == {"received": 1,
                                                                         "new": 1}
    with django_capture_on_commit_callbacks() as callbacks:
        again = post_signed(client, ChannelKind.WHATSAPP, payload)
    assert again.status_code == 200
    assert again.json() == {"received": 1, "new": 0}
    assert callbacks == []  # nothing new, nothing queued
    assert WebhookDelivery.objects.count() == 1


def test_each_status_of_one_message_is_its_own_event(client, wa_channel):
    for status in ("sent", "delivered", "read", "delivered"):
        post_signed(client, ChannelKind.WHATSAPP, whatsapp_status_payload(
            wa_channel.external_id, "wamid.OURS", status, TS, "919812345678"))
    assert sorted(WebhookDelivery.objects.values_list("event_id", flat=True)) == [
        "wamid.OURS:delivered", "wamid.OURS:read", "wamid.OURS:sent"]


def test_several_entries_changes_and_messages_in_one_post_are_one_row_each_in_two_queries(
    client, org, django_assert_num_queries, django_capture_on_commit_callbacks, monkeypatch
):
    from flexoraa import tasks as core_tasks

    first = make_channel(org, kind=ChannelKind.WHATSAPP)
    second = make_channel(org, kind=ChannelKind.WHATSAPP)
    # Entry 1 (WABA A): the first number's change with two messages and a status, and the
    # second number's change with one message. Entry 2 (WABA B): two messages of the first
    # number in one change.
    entry_one = meta_batch(
        wa_message(first, wa_id="919800000001", text="one", waba_id="A"),
        wa_message(first, wa_id="919800000002", text="two", waba_id="A"),
        whatsapp_status_payload(first.external_id, "wamid.X", "sent", TS, "919800000009",
                                waba_id="A"),
        wa_message(second, wa_id="919800000003", text="three", waba_id="A"),
        group=True,
    )
    entry_two = meta_batch(
        wa_message(first, wa_id="919800000004", text="four", waba_id="B"),
        wa_message(first, wa_id="919800000004", text="five", waba_id="B"),
        group=True,
    )
    body = meta_batch(entry_one, entry_two)
    assert len(body["entry"]) == 2
    assert len(body["entry"][0]["changes"]) == 2
    assert len(body["entry"][0]["changes"][0]["value"]["messages"]) == 2
    assert len(body["entry"][1]["changes"][0]["value"]["messages"]) == 2
    queued = []
    monkeypatch.setattr(core_tasks.process_webhook_deliveries, "delay", queued.append)
    # The channels, and one INSERT for every event.
    with django_capture_on_commit_callbacks(execute=True), django_assert_num_queries(2):
        response = post_signed(client, ChannelKind.WHATSAPP, body)
    assert response.json() == {"received": 6, "new": 6}
    rows = WebhookDelivery.objects.order_by("pk")
    assert [row.event_type for row in rows].count("message") == 5
    assert {row.organization_id for row in rows} == {org.pk}
    assert {row.payload["channel_id"] for row in rows} == {first.external_id,
                                                           second.external_id}
    four = rows.get(payload__message__text__body="four")
    assert four.payload["wa_id"] == "919800000004"
    assert len(queued) == 1 and sorted(queued[0]) == sorted(row.pk for row in rows)
    # The channels are remembered for a while: the next POST is one query.
    with django_assert_num_queries(1):
        post_signed(client, ChannelKind.WHATSAPP, wa_message(first, text="six"))


def test_an_unknown_channel_id_is_acknowledged_logged_and_stores_nothing(
    client, org, caplog, django_capture_on_commit_callbacks
):
    payload = whatsapp_message_payload("999000111222333", "919812345678", "hello",
                                       "wamid.UNKNOWN", TS, "Asha Rao")
    with django_capture_on_commit_callbacks() as callbacks:
        response = post_signed(client, ChannelKind.WHATSAPP, payload)
    assert response.status_code == 200
    assert response.json() == {"received": 1, "new": 0}
    assert WebhookDelivery.objects.count() == 0
    assert callbacks == []
    record = next(r for r in caplog.records if r.message == "meta webhook for an unknown channel")
    assert record.channel_external_id == "999000111222333"
    assert "Asha" not in caplog.text and "919812345678" not in caplog.text


def test_an_unknown_channel_beside_a_known_one_stores_only_the_known_ones_events(
    client, wa_channel
):
    body = meta_batch(
        wa_message(wa_channel, text="known"),
        whatsapp_message_payload("999000111222333", "919812345678", "stray", "wamid.S", TS,
                                 "X"),
    )
    assert post_signed(client, ChannelKind.WHATSAPP, body).json() == {"received": 2, "new": 1}
    assert WebhookDelivery.objects.get().payload["message"]["text"]["body"] == "known"


def test_another_tenants_channel_id_lands_in_that_tenant_only(client, org, other_org):
    make_channel(org, kind=ChannelKind.WHATSAPP, external_id="111111111111111")
    theirs = make_channel(other_org, kind=ChannelKind.WHATSAPP, external_id="222222222222222")
    response = post_signed(client, ChannelKind.WHATSAPP, wa_message(theirs))
    assert response.json() == {"received": 1, "new": 1}
    assert WebhookDelivery.objects.get().organization_id == other_org.pk
    assert not WebhookDelivery.objects.filter(organization=org).exists()


def test_a_channel_id_of_another_kind_does_not_find_the_channel(client, org):
    # A Messenger page id posted as a WhatsApp phone_number_id is not that page.
    page = make_channel(org, kind=ChannelKind.MESSENGER, external_id="1234567890123")
    payload = whatsapp_message_payload(page.external_id, "919812345678", "hi", "wamid.K", TS,
                                       "A")
    assert post_signed(client, ChannelKind.WHATSAPP, payload).json() == {"received": 1,
                                                                         "new": 0}
    assert WebhookDelivery.objects.count() == 0


@pytest.mark.parametrize("kind", [ChannelKind.MESSENGER, ChannelKind.INSTAGRAM])
def test_echoes_of_our_own_sends_and_postbacks_are_dropped_and_read_receipts_kept(
    client, org, kind
):
    channel = make_channel(org, kind=kind)
    build = (messenger_message_payload if kind == ChannelKind.MESSENGER
             else instagram_message_payload)
    echo = build(channel.external_id, "5550001", "our reply", "mid.echo", TS * 1000,
                 is_echo=True)
    assert echo["entry"][0]["messaging"][0]["message"]["is_echo"] is True
    person = build(channel.external_id, "5550001", "their message", "mid.person", TS * 1000)
    body = meta_batch(echo, person)
    body["entry"][0]["messaging"].append({
        "sender": {"id": "5550001"}, "recipient": {"id": channel.external_id},
        "timestamp": TS * 1000, "read": {"watermark": TS * 1000}})
    body["entry"][0]["messaging"].append({
        "sender": {"id": "5550001"}, "recipient": {"id": channel.external_id},
        "timestamp": TS * 1000, "postback": {"title": "Start", "payload": "START"}})
    response = post_signed(client, kind, body)
    assert response.status_code == 200
    assert response.json() == {"received": 2, "new": 2}
    assert sorted(WebhookDelivery.objects.values_list("event_type", "event_id")) == [
        ("message", "mid.person"), ("read_watermark", f"read:5550001:{TS * 1000}")]


def test_the_same_event_twice_in_one_body_is_stored_once(client, wa_channel):
    payload = wa_message(wa_channel)
    response = post_signed(client, ChannelKind.WHATSAPP, meta_batch(payload, payload))
    assert response.json()["new"] == 1
    assert WebhookDelivery.objects.count() == 1


def test_an_event_without_an_id_is_skipped_and_the_rest_stored(client, wa_channel):
    good = wa_message(wa_channel, text="fine")
    bad = wa_message(wa_channel, text="no id")
    del bad["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    response = post_signed(client, ChannelKind.WHATSAPP, meta_batch(good, bad))
    assert response.json() == {"received": 2, "new": 1}


def test_a_signed_body_of_odd_shapes_is_acknowledged_without_an_error(client, wa_channel):
    for odd in ({"object": "whatsapp_business_account"},
                {"object": "whatsapp_business_account", "entry": "nope"},
                {"object": "whatsapp_business_account", "entry": [{"changes": [None, 3]}]},
                {"object": "whatsapp_business_account",
                 "entry": [{"changes": [{"value": {"messages": ["x", {"id": 5}]}}]}]}):
        response = post_signed(client, ChannelKind.WHATSAPP, odd)
        assert response.status_code == 200, odd
    assert WebhookDelivery.objects.count() == 0

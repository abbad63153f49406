"""Processing stored Meta deliveries: the lead, the conversation and the message from an
inbound event; statuses that only move forward; once per delivery however often queued."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone

from agents.meta_payloads import (
    instagram_message_payload,
    instagram_seen_payload,
    messenger_delivery_payload,
    messenger_message_payload,
    messenger_read_payload,
    whatsapp_error,
    whatsapp_status_payload,
)
from agents.models import (
    ChannelKind,
    Conversation,
    Direction,
    Message,
    MessageKind,
    MessageStatus,
)
from agents.services import inbound
from flexoraa import tasks as core_tasks
from flexoraa.models import DeliveryState, WebhookDelivery
from flexoraa.webhooks.adapters import WebhookEvent
from flexoraa.webhooks.services import deliveries_process, deliveries_redrive, deliveries_store
from leads.models import Lead
from tests.agents.factories import make_channel, make_conversation, make_message
from tests.agents.inbox_support import unread_of
from tests.agents.test_meta_webhooks import (
    DOC_BODIES,
    DOC_CHANNEL_IDS,
    DOC_EVENT_IDS,
    TS,
    post_signed,
    wa_message,
)
from tests.leads.factories import make_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def deliver(client, celery_eager, django_capture_on_commit_callbacks, nlu_model):
    """POST signed bodies and run the queued processing, as a worker would."""
    def post(kind, payload):
        with django_capture_on_commit_callbacks(execute=True):
            response = post_signed(client, kind, payload)
        assert response.status_code == 200, response.content
        return response
    return post


@pytest.fixture
def wa_channel(org):
    return make_channel(org, kind=ChannelKind.WHATSAPP)


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


# --- inbound messages -------------------------------------------------------------------------

def test_the_whatsapp_example_makes_a_lead_a_conversation_and_a_message(deliver, org):
    channel = make_channel(org, kind=ChannelKind.WHATSAPP,
                           external_id=DOC_CHANNEL_IDS[ChannelKind.WHATSAPP])
    deliver(ChannelKind.WHATSAPP, DOC_BODIES[ChannelKind.WHATSAPP])

    lead = Lead.objects.for_org(org).get()
    assert (lead.phone, lead.name, lead.source) == ("+16505551234", "Sheena Nelson", "whatsapp")
    assert lead.last_inbound_at == at(1749416383)
    assert lead.inbound_count == 1
    conversation = Conversation.objects.for_org(org).get()
    assert (conversation.channel_id, conversation.lead_id) == (channel.pk, lead.pk)
    assert (conversation.contact_id, conversation.contact_name) == ("16505551234",
                                                                    "Sheena Nelson")
    assert conversation.assignee_id == lead.owner_id
    assert unread_of(conversation) == 1
    assert conversation.last_inbound_at == conversation.last_message_at == at(1749416383)
    message = Message.objects.for_org(org).get()
    assert (message.direction, message.sender, message.status, message.kind) == (
        Direction.INBOUND, "lead", MessageStatus.RECEIVED, MessageKind.TEXT)
    assert message.body == "Does it come in another color?"
    assert message.provider_message_id == DOC_EVENT_IDS[ChannelKind.WHATSAPP]
    assert message.created_at == at(1749416383)  # unix seconds
    assert message.predicted_intent in ("high", "medium", "low")
    assert 0 <= message.intent_confidence <= 1 and message.intent_model_version
    lead.refresh_from_db()
    assert lead.intent == message.predicted_intent
    delivery = WebhookDelivery.objects.get()
    assert delivery.processed_at is not None and delivery.attempts == 1
    assert delivery.last_error == ""


@pytest.mark.parametrize("kind", [ChannelKind.MESSENGER, ChannelKind.INSTAGRAM])
def test_the_messenger_and_instagram_examples_make_a_lead_without_a_phone(deliver, org, kind):
    make_channel(org, kind=kind, external_id=DOC_CHANNEL_IDS[kind])
    deliver(kind, DOC_BODIES[kind])
    lead = Lead.objects.for_org(org).get()
    assert (lead.phone, lead.email, lead.source) == ("", "", kind)
    conversation = Conversation.objects.for_org(org).get()
    expected_sender = {"messenger": "1254459154682919", "instagram": "6352287854798321"}[kind]
    assert conversation.contact_id == expected_sender
    message = Message.objects.for_org(org).get()
    assert message.provider_message_id == DOC_EVENT_IDS[kind]
    # Milliseconds, not seconds.
    expected = {"messenger": 1458692752478, "instagram": 1569262485349}[kind]
    assert message.created_at == datetime.fromtimestamp(expected / 1000, tz=UTC)
    assert message.created_at.year in (2016, 2019)


def test_a_lead_already_known_by_phone_is_reused(deliver, org, wa_channel):
    known = make_lead(org, phone="+919812345678", name="Asha Rao")
    deliver(ChannelKind.WHATSAPP, wa_message(wa_channel, wa_id="919812345678"))
    assert Lead.objects.for_org(org).count() == 1
    assert Conversation.objects.for_org(org).get().lead_id == known.pk


def test_the_next_message_of_a_person_joins_their_conversation(deliver, org, wa_channel):
    deliver(ChannelKind.WHATSAPP, wa_message(wa_channel, text="first", ts=TS))
    deliver(ChannelKind.WHATSAPP, wa_message(wa_channel, text="second", ts=TS + 60))
    conversation = Conversation.objects.for_org(org).get()
    assert unread_of(conversation) == 2
    assert list(conversation.messages.values_list("body", flat=True)) == ["first", "second"]
    assert Lead.objects.for_org(org).get().inbound_count == 2


def test_a_late_older_message_does_not_move_the_conversation_back(deliver, org, wa_channel):
    deliver(ChannelKind.WHATSAPP, wa_message(wa_channel, text="newer", ts=TS + 600))
    deliver(ChannelKind.WHATSAPP, wa_message(wa_channel, text="older", ts=TS))
    conversation = Conversation.objects.for_org(org).get()
    assert conversation.last_inbound_at == conversation.last_message_at == at(TS + 600)
    assert unread_of(conversation) == 2
    assert Lead.objects.for_org(org).get().last_inbound_at == at(TS + 600)
    assert list(conversation.messages.values_list("body", flat=True)) == ["older", "newer"]


def test_duplicate_deliveries_make_one_message(deliver, org, wa_channel):
    payload = wa_message(wa_channel)
    for _ in range(3):
        deliver(ChannelKind.WHATSAPP, payload)
    assert Message.objects.for_org(org).count() == 1
    assert unread_of(Conversation.objects.for_org(org).get()) == 1


def test_processing_a_delivery_twice_acts_once(deliver, org, wa_channel):
    deliver(ChannelKind.WHATSAPP, wa_message(wa_channel))
    delivery = WebhookDelivery.objects.get()
    assert deliveries_process(delivery_ids=[delivery.pk, delivery.pk]) == {
        "already_processed": 1}
    assert Message.objects.for_org(org).count() == 1
    assert Lead.objects.for_org(org).get().inbound_count == 1


def test_one_post_with_several_people_makes_one_conversation_each(deliver, org, wa_channel):
    from agents.meta_payloads import meta_batch

    body = meta_batch(*(wa_message(wa_channel, wa_id=f"9198000000{n:02d}", text=f"m{n}")
                        for n in range(4)), group=True)
    deliver(ChannelKind.WHATSAPP, body)
    assert Conversation.objects.for_org(org).count() == 4
    assert Message.objects.for_org(org).count() == 4
    assert Lead.objects.for_org(org).count() == 4


def test_an_image_keeps_its_type_id_and_caption_and_a_reaction_is_other(deliver, org,
                                                                         wa_channel):
    deliver(ChannelKind.WHATSAPP, wa_message(wa_channel, mid="wamid.IMG", content={
        "type": "image", "image": {"caption": "this one", "mime_type": "image/jpeg",
                                   "sha256": "abc", "id": "1234567890"}}))
    deliver(ChannelKind.WHATSAPP, wa_message(wa_channel, mid="wamid.REACT", ts=TS + 5, content={
        "type": "reaction", "reaction": {"message_id": "wamid.IMG", "emoji": "👍"}}))
    image = Message.objects.get(provider_message_id="wamid.IMG")
    assert image.kind == MessageKind.ATTACHMENT and image.body == "this one"
    assert image.attachments == [{"type": "image", "id": "1234567890", "url": "",
                                  "mime_type": "image/jpeg", "caption": "this one"}]
    assert image.predicted_intent == ""  # the NLU reads text messages only
    reaction = Message.objects.get(provider_message_id="wamid.REACT")
    assert (reaction.kind, reaction.body) == (MessageKind.OTHER, "👍")


def test_a_messenger_attachment_keeps_its_url(deliver, org):
    channel = make_channel(org, kind=ChannelKind.MESSENGER)
    deliver(ChannelKind.MESSENGER, messenger_message_payload(
        channel.external_id, "5550001", "", "mid.att", TS * 1000,
        attachments=[{"type": "image", "payload": {"url": "https://cdn.example/x.jpg"}}]))
    message = Message.objects.for_org(org).get()
    assert message.kind == MessageKind.ATTACHMENT
    assert message.attachments == [{"type": "image", "url": "https://cdn.example/x.jpg",
                                    "caption": ""}]


def test_an_instagram_echo_never_becomes_an_inbound_message(deliver, org):
    channel = make_channel(org, kind=ChannelKind.INSTAGRAM)
    deliver(ChannelKind.INSTAGRAM, instagram_message_payload(
        channel.external_id, "6352287854798321", "our reply", "mid.echo", TS * 1000,
        is_echo=True))
    assert Message.objects.count() == 0 and Lead.objects.count() == 0


def test_the_nlu_reading_and_budget_reach_the_lead(deliver, org, wa_channel):
    deliver(ChannelKind.WHATSAPP, wa_message(
        wa_channel, text="I want to buy today, my budget is 2 lakh. Send the payment link"))
    message = Message.objects.for_org(org).get()
    assert message.predicted_intent == "high"
    lead = Lead.objects.for_org(org).get()
    assert lead.intent == "high"
    assert (lead.budget_amount, lead.budget_currency) == (200000, "INR")


def test_another_tenants_channel_makes_their_lead_never_ours(deliver, org, other_org):
    make_channel(org, kind=ChannelKind.WHATSAPP, external_id="111111111111111")
    theirs = make_channel(other_org, kind=ChannelKind.WHATSAPP, external_id="222222222222222")
    deliver(ChannelKind.WHATSAPP, wa_message(theirs, wa_id="919812345678"))
    assert Lead.objects.for_org(org).count() == 0
    assert Message.objects.for_org(org).count() == 0
    assert Message.objects.for_org(other_org).count() == 1
    assert Conversation.objects.for_org(other_org).get().channel_id == theirs.pk


def test_the_database_decides_the_tenant_even_when_the_stored_row_says_otherwise(
    org, other_org, nlu_model
):
    theirs = make_channel(other_org, kind=ChannelKind.WHATSAPP)
    payload = {"channel_id": theirs.external_id, "wa_id": "919812345678",
               "profile_name": "A", "message": {"from": "919812345678", "id": "wamid.M",
                                                "timestamp": str(TS), "type": "text",
                                                "text": {"body": "hi"}}}
    (delivery_id,) = deliveries_store(provider="whatsapp", events=[(WebhookEvent(
        event_id="wamid.M", event_type="message", payload=payload, organization_id=org.pk),
        False)]).values()
    deliveries_process(delivery_ids=[delivery_id])
    assert Message.objects.for_org(org).count() == 0
    assert Message.objects.for_org(other_org).count() == 1
    assert WebhookDelivery.objects.get().organization_id == other_org.pk


def test_a_channel_removed_before_processing_marks_the_delivery_done(deliver, org, wa_channel,
                                                                    monkeypatch):
    monkeypatch.setattr(core_tasks.process_webhook_deliveries, "delay", lambda ids: None)
    deliver(ChannelKind.WHATSAPP, wa_message(wa_channel))
    wa_channel.delete()
    delivery = WebhookDelivery.objects.get()
    assert deliveries_process(delivery_ids=[delivery.pk]) == {"unknown_channel": 1}
    delivery.refresh_from_db()
    assert delivery.processed_at is not None
    assert Message.objects.count() == 0


# --- statuses ---------------------------------------------------------------------------------

@pytest.fixture
def sent(org, wa_channel):
    conversation = make_conversation(org, channel=wa_channel)
    return make_message(org, conversation, direction=Direction.OUTBOUND,
                        status=MessageStatus.QUEUED, provider_message_id="wamid.OURS")


def status(channel, state, ts, errors=None):
    return whatsapp_status_payload(channel.external_id, "wamid.OURS", state, ts,
                                   "919812345678", errors)


def test_statuses_move_the_message_forward_with_their_times(deliver, wa_channel, sent):
    deliver(ChannelKind.WHATSAPP, status(wa_channel, "sent", TS))
    sent.refresh_from_db()
    assert (sent.status, sent.sent_at) == (MessageStatus.SENT, at(TS))
    deliver(ChannelKind.WHATSAPP, status(wa_channel, "delivered", TS + 5))
    deliver(ChannelKind.WHATSAPP, status(wa_channel, "read", TS + 50))
    sent.refresh_from_db()
    assert (sent.status, sent.delivered_at, sent.read_at) == (MessageStatus.READ, at(TS + 5),
                                                              at(TS + 50))


def test_a_late_delivered_never_moves_read_back(deliver, wa_channel, sent):
    deliver(ChannelKind.WHATSAPP, status(wa_channel, "read", TS + 50))
    deliver(ChannelKind.WHATSAPP, status(wa_channel, "delivered", TS + 5))
    deliver(ChannelKind.WHATSAPP, status(wa_channel, "sent", TS))
    sent.refresh_from_db()
    assert sent.status == MessageStatus.READ and sent.status_rank == 3
    assert sent.read_at == at(TS + 50)
    # Read implies it was sent and delivered; the times are filled from the read.
    assert sent.delivered_at == sent.sent_at == at(TS + 50)
    assert WebhookDelivery.objects.filter(processed_at__isnull=True).count() == 0


def test_a_failed_status_with_131047_says_the_window_closed(deliver, wa_channel, sent):
    deliver(ChannelKind.WHATSAPP, status(wa_channel, "failed", TS, errors=[
        whatsapp_error(131047, "Re-engagement message",
                       "Message failed to send because more than 24 hours have passed")]))
    sent.refresh_from_db()
    assert sent.status == MessageStatus.FAILED
    assert sent.error_code == "131047"
    assert sent.error_message == "The 24-hour window was closed: send a template."


def test_a_failed_status_stores_the_providers_code_and_title(deliver, wa_channel, sent):
    deliver(ChannelKind.WHATSAPP, status(wa_channel, "failed", TS, errors=[
        whatsapp_error(131026, "Message Undeliverable")]))
    sent.refresh_from_db()
    assert (sent.error_code, sent.error_message) == ("131026", "Message Undeliverable")


def test_a_status_on_another_channel_with_the_same_id_changes_nothing(deliver, org, sent):
    other = make_channel(org, kind=ChannelKind.WHATSAPP)
    deliver(ChannelKind.WHATSAPP, status(other, "read", TS))
    sent.refresh_from_db()
    assert sent.status == MessageStatus.QUEUED


def test_a_status_before_our_send_stored_the_id_waits_for_the_redrive(
    deliver, org, wa_channel, celery_eager
):
    deliver(ChannelKind.WHATSAPP, status(wa_channel, "delivered", TS))
    delivery = WebhookDelivery.objects.get()
    assert (delivery.state, delivery.processed_at) == (DeliveryState.PENDING, None)
    assert delivery.attempts == 1 and delivery.last_error.startswith("waiting")
    assert delivery.next_attempt_at > timezone.now()

    # Too fresh for the redrive; then the send stores the wamid and the redrive applies it.
    assert deliveries_redrive()["queued"] == 0
    conversation = make_conversation(org, channel=wa_channel)
    ours = make_message(org, conversation, direction=Direction.OUTBOUND,
                        status=MessageStatus.SENDING, provider_message_id="wamid.OURS")
    result = deliveries_redrive(now=timezone.now() + timedelta(minutes=3))
    assert result == {"queued": 1, "failed": 0}
    ours.refresh_from_db()
    assert ours.status == MessageStatus.DELIVERED
    delivery.refresh_from_db()
    assert delivery.processed_at is not None and delivery.last_error == ""


def test_a_status_before_our_send_stored_the_id_finds_it_by_our_own_id(
    deliver, org, wa_channel
):
    conversation = make_conversation(org, channel=wa_channel)
    ours = make_message(org, conversation, direction=Direction.OUTBOUND,
                        status=MessageStatus.SENDING, provider_message_id="")
    deliver(ChannelKind.WHATSAPP, whatsapp_status_payload(
        wa_channel.external_id, "wamid.EARLY", "delivered", TS, "919812345678",
        biz_opaque_callback_data=ours.client_id))
    ours.refresh_from_db()
    assert (ours.provider_message_id, ours.status) == ("wamid.EARLY", MessageStatus.DELIVERED)
    assert WebhookDelivery.objects.get().processed_at is not None


# --- Messenger and Instagram receipts --------------------------------------------------------

@pytest.fixture
def page_chat(org):
    channel = make_channel(org, kind=ChannelKind.MESSENGER)
    return make_conversation(org, channel=channel, contact_id="24000000000001")


def our_send(org, conversation, mid, sent_seconds):
    message = make_message(org, conversation, direction=Direction.OUTBOUND,
                           status=MessageStatus.SENT, provider_message_id=mid)
    Message.objects.filter(pk=message.pk).update(sent_at=at(sent_seconds), status_rank=1)
    return message


def test_a_messenger_delivery_receipt_marks_the_named_messages_delivered(
    deliver, org, page_chat
):
    first, second = our_send(org, page_chat, "m_ONE", TS), our_send(org, page_chat, "m_TWO", TS)
    deliver(ChannelKind.MESSENGER, messenger_delivery_payload(
        page_chat.channel.external_id, page_chat.contact_id, ["m_ONE", "m_TWO"],
        (TS + 5) * 1000))
    for message in (first, second):
        message.refresh_from_db()
        assert (message.status, message.delivered_at) == (MessageStatus.DELIVERED, at(TS + 5))


def test_a_messenger_read_receipt_reads_what_we_sent_up_to_its_watermark_only(
    deliver, org, page_chat
):
    before, after = our_send(org, page_chat, "m_OLD", TS), our_send(org, page_chat, "m_NEW",
                                                                     TS + 100)
    deliver(ChannelKind.MESSENGER, messenger_read_payload(
        page_chat.channel.external_id, page_chat.contact_id, (TS + 50) * 1000))
    before.refresh_from_db()
    after.refresh_from_db()
    assert (before.status, before.read_at, before.delivered_at) == (
        MessageStatus.READ, at(TS + 50), at(TS + 50))
    assert after.status == MessageStatus.SENT
    # A late delivery receipt never moves a read message back.
    deliver(ChannelKind.MESSENGER, messenger_delivery_payload(
        page_chat.channel.external_id, page_chat.contact_id, ["m_OLD"], (TS + 10) * 1000))
    before.refresh_from_db()
    assert before.status == MessageStatus.READ


def test_an_instagram_seen_receipt_marks_that_message_read(deliver, org):
    channel = make_channel(org, kind=ChannelKind.INSTAGRAM)
    chat = make_conversation(org, channel=channel, contact_id="17841400000000001")
    ours = our_send(org, chat, "aWdfSEEN", TS)
    deliver(ChannelKind.INSTAGRAM, instagram_seen_payload(channel.external_id, chat.contact_id,
                                                          "aWdfSEEN", (TS + 7) * 1000))
    ours.refresh_from_db()
    assert (ours.status, ours.read_at) == (MessageStatus.READ, at(TS + 7))


def test_another_persons_read_receipt_reads_nothing_of_ours(deliver, org, page_chat):
    ours = our_send(org, page_chat, "m_MINE", TS)
    deliver(ChannelKind.MESSENGER, messenger_read_payload(
        page_chat.channel.external_id, "24999999999999", (TS + 50) * 1000))
    ours.refresh_from_db()
    assert ours.status == MessageStatus.SENT


def test_a_delivery_that_keeps_waiting_is_failed_after_eight_attempts_and_left_for_a_person(
    deliver, wa_channel, caplog, monkeypatch
):
    deliver(ChannelKind.WHATSAPP, status(wa_channel, "delivered", TS))
    WebhookDelivery.objects.update(attempts=7)
    assert deliveries_process(delivery_ids=[WebhookDelivery.objects.get().pk]) == {
        "waiting": 1}
    delivery = WebhookDelivery.objects.get()
    assert (delivery.state, delivery.outcome, delivery.attempts) == (
        DeliveryState.FAILED, "gave_up", 8)
    assert delivery.last_error.startswith("waiting")
    assert delivery.next_attempt_at is None

    queued = []
    monkeypatch.setattr(core_tasks.process_webhook_deliveries, "delay", queued.append)
    result = deliveries_redrive(now=timezone.now() + timedelta(hours=3))
    assert result == {"queued": 0, "failed": 1}
    assert queued == []
    record = next(r for r in caplog.records
                  if r.message == "webhook deliveries failed and wait for a person")
    assert record.count == 1


# --- failures ---------------------------------------------------------------------------------

@pytest.fixture
def stored(org, wa_channel, client, monkeypatch):
    """One stored, unprocessed delivery (nothing queued)."""
    monkeypatch.setattr(core_tasks.process_webhook_deliveries, "delay", lambda ids: None)
    post_signed(client, ChannelKind.WHATSAPP, wa_message(wa_channel))
    return WebhookDelivery.objects.get()


def test_a_transient_database_error_is_counted_and_tried_again_after_a_wait(
    stored, monkeypatch
):
    def broken(delivery):
        raise OperationalError("could not serialize access")

    monkeypatch.setattr(inbound, "_delivery_apply", broken)
    assert deliveries_process(delivery_ids=[stored.pk]) == {"failed": 1}
    stored.refresh_from_db()
    assert (stored.state, stored.processed_at, stored.attempts) == (
        DeliveryState.PENDING, None, 1)
    assert stored.last_error.startswith("OperationalError")
    assert stored.next_attempt_at > timezone.now()


def test_another_error_is_counted_rolled_back_and_not_raised(stored, monkeypatch, nlu_model):
    def broken(**kwargs):
        raise ValueError("scoring exploded")

    # A first message makes its lead: intake scores it, and here scoring explodes.
    monkeypatch.setattr(inbound.lead_services, "lead_intake", broken)
    assert deliveries_process(delivery_ids=[stored.pk]) == {"failed": 1}
    stored.refresh_from_db()
    assert stored.processed_at is None and stored.attempts == 1
    assert stored.last_error == "ValueError: scoring exploded"
    assert Message.objects.count() == 0 and Conversation.objects.count() == 0
    assert Lead.objects.count() == 0


def test_a_missing_delivery_is_reported_not_raised(db):
    assert deliveries_process(delivery_ids=[987654]) == {"missing": 1}

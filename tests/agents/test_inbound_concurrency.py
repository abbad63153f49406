"""Meta events racing on PostgreSQL, with real threads and separate connections: the same
event delivered at once is stored and processed once; first messages of a new person make
one lead; statuses racing still end at the highest rank."""

import pytest
from django.test import Client

from agents.meta_payloads import messenger_message_payload, whatsapp_status_payload
from agents.models import ChannelKind, Conversation, Direction, Message, MessageStatus
from flexoraa.models import WebhookDelivery
from flexoraa.webhooks.services import deliveries_process
from leads.models import Lead
from tests.agents.factories import make_channel, make_conversation, make_message
from tests.agents.inbox_support import unread_of
from tests.agents.test_meta_webhooks import TS, post_signed, wa_message
from tests.support import errors_of, needs_postgres, run_together

pytestmark = [needs_postgres, pytest.mark.django_db(transaction=True)]


def test_the_same_event_posted_by_three_threads_at_once_makes_exactly_one_message(
    org, celery_eager, nlu_model
):
    channel = make_channel(org, kind=ChannelKind.WHATSAPP)
    payload = wa_message(channel, text="Is the 2 BHK still available?")

    def post(_index):
        # Each thread is its own request; the one that stores the row processes it at once.
        response = post_signed(Client(), ChannelKind.WHATSAPP, payload)
        return response.status_code, response.json()

    outcomes = run_together(3, post)
    assert errors_of(outcomes) == []
    assert [status for status, _body in outcomes] == [200, 200, 200]
    assert sorted(body["new"] for _status, body in outcomes) == [0, 0, 1]
    assert WebhookDelivery.objects.count() == 1
    assert WebhookDelivery.objects.get().processed_at is not None
    assert Message.objects.for_org(org).count() == 1
    assert unread_of(Conversation.objects.for_org(org).get()) == 1
    assert Lead.objects.for_org(org).get().inbound_count == 1


def test_one_delivery_processed_by_three_workers_at_once_acts_once(org, monkeypatch, nlu_model):
    from flexoraa import tasks as core_tasks

    channel = make_channel(org, kind=ChannelKind.WHATSAPP)
    monkeypatch.setattr(core_tasks.process_webhook_deliveries, "delay", lambda ids: None)
    post_signed(Client(), ChannelKind.WHATSAPP, wa_message(channel))
    delivery = WebhookDelivery.objects.get()

    outcomes = run_together(
        3, lambda _index: deliveries_process(delivery_ids=[delivery.pk]))
    assert errors_of(outcomes) == []
    assert sorted(outcomes, key=str) == [{"already_processed": 1}, {"already_processed": 1},
                                         {"stored": 1}]
    assert Message.objects.for_org(org).count() == 1
    assert Lead.objects.for_org(org).get().inbound_count == 1


def test_first_messages_of_a_new_person_processed_at_once_make_one_lead(
    org, monkeypatch, nlu_model
):
    from flexoraa import tasks as core_tasks

    channel = make_channel(org, kind=ChannelKind.MESSENGER)
    monkeypatch.setattr(core_tasks.process_webhook_deliveries, "delay", lambda ids: None)
    client = Client()
    for index in range(4):
        post_signed(client, ChannelKind.MESSENGER, messenger_message_payload(
            channel.external_id, "5550001", f"message {index}", f"mid.{index}",
            (TS + index) * 1000))
    ids = list(WebhookDelivery.objects.order_by("pk").values_list("pk", flat=True))
    assert len(ids) == 4

    outcomes = run_together(4, lambda index: deliveries_process(
        delivery_ids=[ids[index]]))
    assert errors_of(outcomes) == []
    assert Lead.objects.for_org(org).count() == 1
    conversation = Conversation.objects.for_org(org).get()
    assert unread_of(conversation) == 4
    assert conversation.messages.count() == 4
    assert Lead.objects.for_org(org).get().inbound_count == 4


def test_statuses_racing_in_any_order_end_at_read(org, monkeypatch):
    from flexoraa import tasks as core_tasks

    channel = make_channel(org, kind=ChannelKind.WHATSAPP)
    conversation = make_conversation(org, channel=channel)
    ours = make_message(org, conversation, direction=Direction.OUTBOUND,
                        status=MessageStatus.SENDING, provider_message_id="wamid.RACE")
    monkeypatch.setattr(core_tasks.process_webhook_deliveries, "delay", lambda ids: None)
    client = Client()
    for state in ("read", "delivered", "sent"):
        post_signed(client, ChannelKind.WHATSAPP, whatsapp_status_payload(
            channel.external_id, "wamid.RACE", state, TS, "919812345678"))
    ids = list(WebhookDelivery.objects.values_list("pk", flat=True))

    outcomes = run_together(3, lambda index: deliveries_process(
        delivery_ids=[ids[index]]))
    assert errors_of(outcomes) == []
    ours.refresh_from_db()
    assert (ours.status, ours.status_rank) == (MessageStatus.READ, 3)
    assert WebhookDelivery.objects.filter(processed_at__isnull=True).count() == 0

"""The inbox's reply box: free text in the window, templates outside it, scheduling, and the
refusals shown beside the box."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from agents.models import Channel, Direction, Message, MessageStatus
from tests.agents.factories import make_channel, make_template
from tests.agents.inbox_support import open_conversation
from tests.leads.pages_support import HTMX, page_of

pytestmark = pytest.mark.django_db


# --- replying -----------------------------------------------------------------------------

def test_a_reply_in_an_open_window_is_queued_and_a_double_submit_sends_once(
    org, sdr, login_client
):
    conversation = open_conversation(sdr, name="Open Olga")
    client = login_client(sdr)
    form = {"text": "Happy to help!", "client_id": uuid.uuid4().hex}

    first = client.post(f"/inbox/{conversation.pk}/reply/", form)
    second = client.post(f"/inbox/{conversation.pk}/reply/", form)

    assert first.status_code == 302 and first["Location"] == f"/inbox/{conversation.pk}/"
    assert second.status_code == 302
    sent = Message.objects.filter(conversation=conversation, direction=Direction.OUTBOUND)
    assert sent.count() == 1
    message = sent.get()
    assert message.body == "Happy to help!" and message.author_id == sdr.pk
    assert message.status == MessageStatus.QUEUED
    assert "Happy to help!" in page_of(client.get(f"/inbox/{conversation.pk}/"))


def test_an_htmx_reply_returns_a_fresh_box_and_the_thread_out_of_band(sdr, login_client):
    conversation = open_conversation(sdr, name="Open Olga")
    client_id = uuid.uuid4().hex
    response = login_client(sdr).post(
        f"/inbox/{conversation.pk}/reply/", {"text": "On it", "client_id": client_id},
        headers=HTMX)
    page = page_of(response)
    assert response.status_code == 200
    assert 'id="reply-box"' in page and "Sent." in page
    assert 'id="thread-messages"' in page and 'hx-swap-oob="true"' in page and "On it" in page
    assert client_id not in page  # the next reply gets a new id


def test_a_reply_can_be_scheduled(org, sdr, login_client):
    conversation = open_conversation(sdr, name="Open Olga")
    later = timezone.localtime(timezone.now() + timedelta(hours=2),
                               timezone=__import__("zoneinfo").ZoneInfo(org.timezone))
    response = login_client(sdr).post(f"/inbox/{conversation.pk}/reply/", {
        "text": "Talk soon", "client_id": uuid.uuid4().hex,
        "scheduled_for": later.strftime("%Y-%m-%dT%H:%M"),
    })
    assert response.status_code == 302
    message = Message.objects.get(conversation=conversation, direction=Direction.OUTBOUND)
    assert message.status == MessageStatus.SCHEDULED
    assert abs((message.scheduled_for - later).total_seconds()) < 60


def test_free_text_in_a_closed_window_is_refused_beside_the_box(sdr, login_client):
    closed = open_conversation(sdr, name="Closed Chitra", hours_ago=30)
    client = login_client(sdr)
    form = {"text": "Still there?", "client_id": uuid.uuid4().hex}

    plain = client.post(f"/inbox/{closed.pk}/reply/", form)
    assert plain.status_code == 409
    assert "send an approved template instead" in page_of(plain)
    assert 'data-testid="reply-error"' in page_of(plain) and "<html" in page_of(plain)

    htmx = client.post(f"/inbox/{closed.pk}/reply/", form, headers=HTMX)
    assert htmx.status_code == 409
    assert 'id="reply-box"' in page_of(htmx) and "<html" not in page_of(htmx)
    assert not Message.objects.filter(conversation=closed, direction=Direction.OUTBOUND).exists()


def test_a_template_goes_when_the_window_is_closed_and_a_missing_parameter_is_refused(
    org, sdr, login_client
):
    closed = open_conversation(sdr, name="Closed Chitra", hours_ago=30)
    template = make_template(org, closed.channel, name="follow_up",
                             body="Hi {{1}}, about {{2}}?")
    client = login_client(sdr)

    missing = client.post(f"/inbox/{closed.pk}/reply/", {
        "template": template.pk, "param1": "Chitra", "client_id": uuid.uuid4().hex,
    }, headers=HTMX)
    assert missing.status_code == 400
    assert 'data-testid="reply-error"' in page_of(missing)
    assert 'value="Chitra"' in page_of(missing)  # what was typed stays

    sent = client.post(f"/inbox/{closed.pk}/reply/", {
        "template": template.pk, "param1": "Chitra", "param2": "the demo",
        "client_id": uuid.uuid4().hex,
    })
    assert sent.status_code == 302
    message = Message.objects.get(conversation=closed, direction=Direction.OUTBOUND)
    assert message.template_id == template.pk
    assert message.template_params == ["Chitra", "the demo"]


def test_a_template_of_another_channel_is_refused(org, sdr, login_client):
    closed = open_conversation(sdr, name="Closed Chitra", hours_ago=30)
    elsewhere = make_template(org, make_channel(org), name="elsewhere", body="Hi")
    response = login_client(sdr).post(f"/inbox/{closed.pk}/reply/", {
        "template": elsewhere.pk, "client_id": uuid.uuid4().hex,
    })
    assert response.status_code == 400
    assert "Choose one of this channel&#x27;s approved templates." in page_of(response)


def test_a_reply_on_a_disconnected_channel_is_refused_with_the_reason(sdr, login_client):
    conversation = open_conversation(sdr, name="Gone Gita")
    Channel.objects.filter(pk=conversation.channel_id).update(status="disconnected")
    response = login_client(sdr).post(f"/inbox/{conversation.pk}/reply/", {
        "text": "Hello?", "client_id": uuid.uuid4().hex}, headers=HTMX)
    assert response.status_code == 409
    assert "a manager must reconnect it" in page_of(response)
    assert 'data-testid="reply-error"' in page_of(response)

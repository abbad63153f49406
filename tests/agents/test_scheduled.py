"""Scheduled messages: stored as scheduled, released once when due, even by two runs."""

from datetime import timedelta

import pytest
from django.utils import timezone

from agents.errors import MessageInvalid, WindowClosed
from agents.models import Conversation, Message, MessageStatus, SenderKind
from agents.services import outbound
from tests.agents.factories import make_conversation
from tests.support import errors_of, needs_postgres, run_together

HOURS = timedelta(hours=1)


def ago(hours: float):
    return timezone.now() - hours * HOURS


def schedule(org, conversation, at, text="Reminder: our call is today", **values):
    return outbound.message_send(org=org, conversation=conversation, sender=SenderKind.SDR,
                                 text=text, scheduled_for=at, **values)


def test_a_message_for_later_waits_as_scheduled_and_touches_nothing_yet(
    org, django_capture_on_commit_callbacks
):
    chat = make_conversation(org, last_inbound_at=ago(1))
    with django_capture_on_commit_callbacks() as callbacks:
        message = schedule(org, chat, timezone.now() + 2 * HOURS)
    assert message.status == MessageStatus.SCHEDULED
    assert callbacks == []
    chat.refresh_from_db()
    assert chat.last_outbound_at is None
    assert chat.lead.first_response_at is None


def test_the_minute_just_gone_sends_at_once(org, django_capture_on_commit_callbacks):
    chat = make_conversation(org, last_inbound_at=ago(1))
    with django_capture_on_commit_callbacks() as callbacks:
        message = schedule(org, chat, timezone.now() - timedelta(seconds=40))
    assert message.status == MessageStatus.QUEUED
    assert len(callbacks) == 1


def test_a_time_further_in_the_past_is_refused(org):
    chat = make_conversation(org, last_inbound_at=ago(1))
    with pytest.raises(MessageInvalid, match="That time has passed") as refused:
        schedule(org, chat, timezone.now() - timedelta(minutes=5))
    assert list(refused.value.fields) == ["scheduled_for"]
    assert not Message.objects.exists()


def test_free_text_scheduled_after_the_window_closes_is_refused_now(org):
    chat = make_conversation(org, last_inbound_at=ago(20))
    with pytest.raises(WindowClosed):
        schedule(org, chat, timezone.now() + 6 * HOURS)
    assert not Message.objects.exists()


def test_a_time_without_a_zone_is_refused(org):
    chat = make_conversation(org, last_inbound_at=ago(1))
    with pytest.raises(MessageInvalid):
        schedule(org, chat, (timezone.now() + HOURS).replace(tzinfo=None))


def test_release_sends_the_due_messages_once_and_leaves_the_rest(
    org, sdr, meta_sandbox, celery_eager, django_capture_on_commit_callbacks
):
    chat = make_conversation(org, last_inbound_at=ago(1))
    due = schedule(org, chat, timezone.now() + HOURS, author=sdr)
    later = schedule(org, chat, timezone.now() + 3 * HOURS, text="Later")
    release_at = timezone.now() + 2 * HOURS
    with django_capture_on_commit_callbacks(execute=True):
        assert outbound.scheduled_messages_release(now=release_at) == {"released": 1}
    with django_capture_on_commit_callbacks(execute=True):
        assert outbound.scheduled_messages_release(now=release_at) == {"released": 0}
    due.refresh_from_db()
    later.refresh_from_db()
    assert due.status == MessageStatus.SENT
    assert later.status == MessageStatus.SCHEDULED
    assert [record["body"]["text"]["body"] for record in meta_sandbox.sent()] == [
        "Reminder: our call is today"]
    chat.refresh_from_db()
    # Recorded when it went, not when it was written.
    assert chat.last_outbound_at == release_at
    assert chat.lead.first_response_at == release_at


def test_a_cancelled_scheduled_message_is_never_released(org):
    chat = make_conversation(org, last_inbound_at=ago(1))
    message = schedule(org, chat, timezone.now() + HOURS)
    Message.objects.filter(pk=message.pk).update(status=MessageStatus.CANCELLED)
    assert outbound.scheduled_messages_release(now=timezone.now() + 2 * HOURS) == {
        "released": 0}


def test_one_run_releases_every_due_message(org):
    chat = make_conversation(org, last_inbound_at=ago(1))
    for n in range(5):
        schedule(org, chat, timezone.now() + HOURS, text=f"Note {n}")
    result = outbound.scheduled_messages_release(now=timezone.now() + 2 * HOURS)
    assert result == {"released": 5}
    assert set(Message.objects.values_list("status", flat=True)) == {MessageStatus.QUEUED}


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_releasing_at_once_send_each_due_message_exactly_once(
    org, meta_sandbox, celery_eager
):
    chats = [make_conversation(org, last_inbound_at=ago(1)) for _ in range(6)]
    soon = timezone.now() + HOURS
    ids = [schedule(org, chats[n % 6], soon, text=f"Reminder {n}").pk for n in range(30)]
    release_at = timezone.now() + 2 * HOURS
    outcomes = run_together(
        2, lambda _n: outbound.scheduled_messages_release(now=release_at))
    assert errors_of(outcomes) == []
    assert sum(outcome["released"] for outcome in outcomes) == 30
    sent = sorted(record["body"]["text"]["body"] for record in meta_sandbox.sent())
    assert sent == sorted(f"Reminder {n}" for n in range(30))
    assert set(Message.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
        MessageStatus.SENT}
    assert Conversation.objects.filter(last_outbound_at=release_at).count() == 6


def test_a_claim_takes_no_more_rows_than_asked(org):
    chat = make_conversation(org, last_inbound_at=ago(1))
    for n in range(3):
        schedule(org, chat, timezone.now() + HOURS, text=f"Note {n}")
    claimed = outbound._claim_due(timezone.now() + 2 * HOURS, 1)
    assert len(claimed) == 1
    assert Message.objects.filter(status=MessageStatus.SCHEDULED).count() == 2

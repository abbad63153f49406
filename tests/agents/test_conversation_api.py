"""The conversation routes of the API: the thread and sending, read through the inbox's
selectors."""

from datetime import timedelta

import pytest
from django.utils import timezone

from agents.models import Message
from tests.agents.factories import make_conversation, make_message

pytestmark = pytest.mark.django_db


def test_the_thread_lists_the_latest_messages_oldest_first(org, key_client):
    conversation = make_conversation(org)
    now = timezone.now()
    older = make_message(org, conversation, body="first", at=now - timedelta(minutes=5))
    newer = make_message(org, conversation, body="second", at=now)
    response = key_client.get(f"/api/conversations/{conversation.pk}/messages/")
    assert response.status_code == 200
    assert [row["id"] for row in response.json()] == [older.pk, newer.pk]


def test_a_send_repeated_with_its_client_id_answers_200_with_the_first_message(org, key_client):
    conversation = make_conversation(org, last_inbound_at=timezone.now())
    url = f"/api/conversations/{conversation.pk}/send/"
    body = {"text": "Thanks, we will call you today.", "client_id": "reply-1"}
    first = key_client.post(url, body, format="json")
    again = key_client.post(url, body, format="json")
    assert (first.status_code, again.status_code) == (201, 200), first.content
    assert first.json()["id"] == again.json()["id"]
    assert Message.objects.filter(client_id="reply-1").count() == 1

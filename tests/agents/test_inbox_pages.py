"""The SDR inbox pages: the conversation list, a thread, and its actions (reply, assign,
verdict, read), with and without htmx. Sends go through the real send service; the provider
call it defers after commit is not run here."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from agents import selectors
from agents.models import Channel, ChannelKind, Conversation, Direction, Message, MessageStatus
from agents.services import inbox
from agents.views.common import left_words, sla_badge, window_state
from flexoraa.actors import Actor
from flexoraa.models import Role
from leads.models import Lead
from tests.agents.factories import make_channel, make_message, make_template
from tests.agents.inbox_support import open_conversation
from tests.factories import UserFactory, make_membership
from tests.leads.pages_support import HTMX, page_of, query_count

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_sdr(org):
    return make_membership(org, role=Role.SDR, capacity=5,
                           user=UserFactory(username="ravi-other-sdr"))


# --- words --------------------------------------------------------------------------------

def test_countdowns_read_in_hours_and_minutes_or_days():
    assert left_words(30) == "less than a minute"
    assert left_words(42 * 60) == "42 m"
    assert left_words(3 * 3600 + 12 * 60 + 5) == "3 h 12 m"
    assert left_words(2 * 3600) == "2 h"
    assert left_words(5 * 86400 + 3600) == "5 days"
    assert left_words(86400 + 60) == "1 day"


def test_the_window_says_open_closed_or_human_reply_only():
    now = timezone.now()
    whatsapp, messenger, gmail = (Conversation(channel=make_channel_stub(kind))
                                  for kind in ("whatsapp", "messenger", "gmail"))
    whatsapp.last_inbound_at = now - timedelta(hours=20, minutes=48)
    assert window_state(whatsapp, now).words == "window open, 3 h 12 m left"
    whatsapp.last_inbound_at = now - timedelta(hours=25)
    closed = window_state(whatsapp, now)
    assert closed.words == "window closed: templates only" and not closed.free_text
    messenger.last_inbound_at = now - timedelta(days=2, minutes=1)
    human = window_state(messenger, now)
    assert human.words == "human reply only, 4 days left" and human.tag == "HUMAN_AGENT"
    assert window_state(gmail, now).free_text


def make_channel_stub(kind):
    return Channel(kind=kind)


def test_the_sla_badge_says_due_in_breached_or_met():
    now = timezone.now()
    assert sla_badge(Lead(first_response_due_at=now + timedelta(minutes=4, seconds=30)),
                     now).words == "SLA due in 4 m"
    assert sla_badge(Lead(first_response_due_at=now - timedelta(minutes=1)),
                     now).words == "SLA breached"
    assert sla_badge(Lead(first_response_due_at=now, sla_breached_at=now,
                          first_response_at=now + timedelta(minutes=3)), now).tone == "bad"
    assert sla_badge(Lead(first_response_due_at=now,
                          first_response_at=now - timedelta(minutes=1)), now).words == "SLA met"
    assert sla_badge(Lead(first_response_due_at=None), now) is None


# --- the list -----------------------------------------------------------------------------

def test_the_inbox_asks_anonymous_visitors_to_sign_in(client):
    response = client.get("/inbox/")
    assert response.status_code == 302 and response["Location"] == "/login/?next=/inbox/"


def test_an_sdr_sees_only_their_own_conversations_with_unread_sla_and_window(
    org, sdr, other_sdr, login_client
):
    mine = open_conversation(sdr, name="Mine Mira", hours_ago=1)
    make_message(org, mine, body="Second", at=timezone.now() - timedelta(hours=2))
    make_message(org, mine, body="Third", at=timezone.now() - timedelta(hours=3))
    open_conversation(other_sdr, name="Theirs Tara")

    response = login_client(sdr).get("/inbox/")

    page = page_of(response)
    assert response.status_code == 200
    assert "Mine Mira" in page and "Theirs Tara" not in page
    assert 'data-testid="unread-badge"' in page and ">3<" in page
    assert "Hello from Mine Mira" in page  # the last message's preview
    assert "window open, 22 h 59 m left" in page or "window open, 23 h left" in page
    assert "SLA due in" in page
    assert "WhatsApp" in page
    assert '<a href="/inbox/"' in page  # the navigation's Inbox link


def test_an_sdr_also_sees_a_closed_leads_conversation_handed_to_them(
    org, sdr, other_sdr, login_client
):
    conversation = open_conversation(other_sdr, name="Shared Shanti")
    Lead.objects.filter(pk=conversation.lead_id).update(status="won")
    Conversation.objects.filter(pk=conversation.pk).update(handed_to=sdr)

    assert "Shared Shanti" in page_of(login_client(sdr).get("/inbox/"))
    assert login_client(sdr).get(f"/inbox/{conversation.pk}/").status_code == 200


def test_a_manager_sees_everyone_and_filters_by_assignee_channel_unread_and_search(
    org, manager, sdr, other_sdr, login_client
):
    first = open_conversation(sdr, name="Mira One")
    second = open_conversation(other_sdr, name="Tara Two", kind=ChannelKind.MESSENGER)
    inbox.conversation_mark_read(org=org, conversation=second, actor=Actor.for_member(manager))
    client = login_client(manager)

    everyone = page_of(client.get("/inbox/"))
    assert "Mira One" in everyone and "Tara Two" in everyone and "Assigned to" in everyone

    by_sdr = page_of(client.get("/inbox/", {"assignee": other_sdr.pk}))
    assert "Tara Two" in by_sdr and "Mira One" not in by_sdr
    by_channel = page_of(client.get("/inbox/", {"channel": first.channel_id}))
    assert "Mira One" in by_channel and "Tara Two" not in by_channel
    unread = page_of(client.get("/inbox/", {"unread": "on"}))
    assert "Mira One" in unread and "Tara Two" not in unread
    searched = page_of(client.get("/inbox/", {"q": "tara"}))
    assert "Tara Two" in searched and "Mira One" not in searched
    assert "1 conversation match these filters" in searched
    mine = page_of(client.get("/inbox/", {"assignee": "me"}))
    assert "0 conversations" in mine and "No conversations yet." in mine


def test_a_bad_filter_is_explained_and_left_out(manager, sdr, login_client):
    open_conversation(sdr, name="Mira One")
    page = page_of(login_client(manager).get("/inbox/", {"channel": "999999"}))
    assert "is not one of your channels" in page and "Mira One" in page


def test_the_list_refreshes_itself_as_an_htmx_fragment(sdr, login_client):
    open_conversation(sdr, name="Mira One")
    page = page_of(login_client(sdr).get("/inbox/", {"q": "mira"}))
    assert 'hx-trigger="every 10s"' in page and 'hx-get="/inbox/?view=mine&amp;q=mira"' in page

    fragment = login_client(sdr).get("/inbox/", {"q": "mira"}, headers=HTMX)
    assert fragment.status_code == 200
    text = page_of(fragment)
    assert "<html" not in text
    assert 'id="inbox-results"' in text and "Mira One" in text
    assert "HX-Request" in fragment["Vary"]


def test_the_list_costs_the_same_queries_for_one_and_twenty_conversations(
    manager, sdr, login_client
):
    channel = make_channel(sdr.organization)
    open_conversation(sdr, name="Lead 0", channel=channel)
    client = login_client(manager)
    sdr_client = login_client(sdr)
    one, one_sdr = query_count(client, "/inbox/"), query_count(sdr_client, "/inbox/")
    for n in range(1, 20):
        open_conversation(sdr, name=f"Lead {n}", channel=channel)
    assert query_count(client, "/inbox/") == one
    assert query_count(sdr_client, "/inbox/") == one_sdr
    assert "20 conversations" in page_of(client.get("/inbox/"))


# --- the thread ---------------------------------------------------------------------------

def test_opening_a_thread_shows_messages_and_marks_it_read(org, sdr, login_client):
    conversation = open_conversation(sdr, name="Mira One")
    sent = make_message(org, conversation, direction=Direction.OUTBOUND, body="Our answer",
                        status=MessageStatus.DELIVERED)
    failed = make_message(org, conversation, direction=Direction.OUTBOUND, body="Lost one",
                          status=MessageStatus.FAILED)
    Message.objects.filter(pk=failed.pk).update(error_code="131026",
                                                error_message="Message undeliverable")
    Message.objects.filter(pk=sent.pk).update(author=sdr)

    page = page_of(login_client(sdr).get(f"/inbox/{conversation.pk}/"))

    assert "Hello from Mira One" in page and "Our answer" in page
    assert "From the lead:" in page and "To the lead:" in page
    assert "Delivered" in page
    assert "Not delivered: Message undeliverable (code 131026)" in page
    assert sdr.user.username in page  # who sent our answer
    assert selectors.conversation_for(org, sdr, conversation.pk).unread_count == 0


def test_the_thread_costs_the_same_queries_for_one_and_twenty_messages(
    org, sdr, login_client
):
    conversation = open_conversation(sdr, name="Mira One")
    client = login_client(sdr)
    url = f"/inbox/{conversation.pk}/"
    client.get(url)  # the first reading writes the person's mark; compare read with read
    one = query_count(client, url)
    for n in range(19):
        message = make_message(org, conversation, direction=Direction.OUTBOUND,
                               body=f"Answer {n}", predicted_intent="")
        Message.objects.filter(pk=message.pk).update(author=sdr)
        make_message(org, conversation, body=f"Question {n}", predicted_intent="high")
    client.get(url)
    assert query_count(client, url) == one
    assert query_count(client, f"/inbox/{conversation.pk}/messages/") <= one


def test_an_open_window_gives_a_reply_box_and_a_closed_one_a_template_picker(
    org, sdr, login_client
):
    open_one = open_conversation(sdr, name="Open Olga", hours_ago=2)
    closed = open_conversation(sdr, name="Closed Chitra", hours_ago=30)
    make_template(org, closed.channel, name="follow_up", body="Hi {{1}}, about {{2}}?")
    client = login_client(sdr)

    open_page = page_of(client.get(f"/inbox/{open_one.pk}/"))
    assert '<textarea id="reply-text" name="text"' in open_page
    assert 'id="reply-template"' not in open_page

    closed_page = page_of(client.get(f"/inbox/{closed.pk}/"))
    assert '<textarea id="reply-text"' not in closed_page
    assert 'id="reply-template"' in closed_page and "follow_up (en_US)" in closed_page
    assert "send an approved template instead" in closed_page


def test_choosing_a_template_shows_one_input_per_parameter_and_a_preview(
    org, sdr, login_client
):
    closed = open_conversation(sdr, name="Closed Chitra", hours_ago=30)
    template = make_template(org, closed.channel, name="follow_up",
                             body="Hi {{1}}, about {{2}}?")
    client = login_client(sdr)

    # Without JavaScript the choice is a GET of the thread.
    page = page_of(client.get(f"/inbox/{closed.pk}/", {"template": template.pk}))
    assert 'name="param1"' in page and 'name="param2"' in page and 'name="param3"' not in page
    assert 'for="param-1"' in page and 'for="param-2"' in page
    assert "Hi {{1}}, about {{2}}?" in page

    fields = page_of(client.get(f"/inbox/{closed.pk}/template-fields/",
                                {"template": template.pk}, headers=HTMX))
    assert 'name="param2"' in fields and 'name="param3"' not in fields
    preview = page_of(client.get(f"/inbox/{closed.pk}/template-fields/",
                                 {"template": template.pk, "param2": "the demo",
                                  "param1": "Chitra", "part": "preview"}, headers=HTMX))
    assert "Hi Chitra, about the demo?" in preview and "<input" not in preview


# --- assign and transfer ------------------------------------------------------------------

def test_a_manager_assigns_a_conversation_and_its_lead_follows(
    org, manager, sdr, other_sdr, login_client
):
    conversation = open_conversation(sdr, name="Mira One")
    client = login_client(manager)

    response = client.post(f"/inbox/{conversation.pk}/assign/", {"assignee": other_sdr.pk},
                           headers=HTMX)

    assert response.status_code == 200
    assert "Assigned to " in page_of(response) and other_sdr.user.username in page_of(response)
    conversation.refresh_from_db()
    assert conversation.assignee_id == other_sdr.pk
    assert Lead.objects.get(pk=conversation.lead_id).owner_id == other_sdr.pk


def test_an_sdr_transfers_their_conversation_and_it_leaves_their_inbox(
    org, sdr, other_sdr, login_client
):
    conversation = open_conversation(sdr, name="Mira One")
    client = login_client(sdr)
    page = page_of(client.get(f"/inbox/{conversation.pk}/"))
    assert "Transfer to a colleague" in page

    response = client.post(f"/inbox/{conversation.pk}/assign/", {"assignee": other_sdr.pk})

    assert response.status_code == 302 and response["Location"] == "/inbox/"
    conversation.refresh_from_db()
    assert conversation.assignee_id == other_sdr.pk
    assert client.get(f"/inbox/{conversation.pk}/").status_code == 404
    htmx = login_client(other_sdr).post(f"/inbox/{conversation.pk}/assign/",
                                        {"assignee": sdr.pk}, headers=HTMX)
    assert htmx.status_code == 200 and htmx["HX-Redirect"] == "/inbox/"


def test_assigning_to_a_member_of_another_tenant_is_refused(
    org, other_org, manager, sdr, login_client
):
    outsider = make_membership(other_org, role=Role.SDR)
    conversation = open_conversation(sdr, name="Mira One")
    response = login_client(manager).post(f"/inbox/{conversation.pk}/assign/",
                                          {"assignee": outsider.pk}, headers=HTMX)
    assert response.status_code == 400
    assert "No member of this organization has that id." in page_of(response)
    conversation.refresh_from_db()
    assert conversation.assignee_id == sdr.pk


# --- intent verdicts ----------------------------------------------------------------------

def test_an_sdr_marks_a_predicted_intent_right_then_wrong(org, sdr, login_client):
    conversation = open_conversation(sdr, name="Mira One")
    message = make_message(org, conversation, body="What does it cost?",
                           predicted_intent="high")
    client = login_client(sdr)
    url = f"/inbox/{conversation.pk}/messages/{message.pk}/verdict/"

    right = client.post(url, {"verdict": "right"}, headers=HTMX)
    assert right.status_code == 200
    assert "Marked right by" in page_of(right)
    assert 'value="right" aria-pressed="true"' in page_of(right)

    wrong = client.post(url, {"verdict": "wrong"})
    assert wrong.status_code == 302
    assert wrong["Location"] == f"/inbox/{conversation.pk}/#message-{message.pk}"
    message.refresh_from_db()
    assert message.intent_verdict == "wrong" and message.intent_verdict_by_id == sdr.pk
    assert "Marked wrong by" in page_of(client.get(f"/inbox/{conversation.pk}/"))


def test_a_verdict_on_our_own_message_is_refused(org, sdr, login_client):
    conversation = open_conversation(sdr, name="Mira One")
    ours = make_message(org, conversation, direction=Direction.OUTBOUND, body="Hi")
    response = login_client(sdr).post(
        f"/inbox/{conversation.pk}/messages/{ours.pk}/verdict/", {"verdict": "right"},
        headers=HTMX)
    assert response.status_code == 400
    assert "Only a message from the lead with a predicted intent" in page_of(response)


def test_a_message_of_another_conversation_is_not_found_through_this_one(
    org, sdr, login_client
):
    first = open_conversation(sdr, name="Mira One")
    second = open_conversation(sdr, name="Tara Two")
    theirs = make_message(org, second, predicted_intent="low")
    response = login_client(sdr).post(
        f"/inbox/{first.pk}/messages/{theirs.pk}/verdict/", {"verdict": "right"})
    assert response.status_code == 404


# --- reach --------------------------------------------------------------------------------

def _every_inbox_url(conversation, message):
    pk = conversation.pk
    return [
        ("get", f"/inbox/{pk}/", {}),
        ("get", f"/inbox/{pk}/messages/", {}),
        ("get", f"/inbox/{pk}/template-fields/", {}),
        ("post", f"/inbox/{pk}/reply/", {"text": "Hi", "client_id": uuid.uuid4().hex}),
        ("post", f"/inbox/{pk}/assign/", {"assignee": conversation.assignee_id}),
        ("post", f"/inbox/{pk}/read/", {}),
        ("post", f"/inbox/{pk}/done/", {}),
        ("post", f"/inbox/{pk}/take/", {}),
        ("post", f"/inbox/{pk}/messages/{message.pk}/verdict/", {"verdict": "right"}),
    ]


def test_another_tenants_conversation_is_not_found_on_every_inbox_url(
    org, other_org, manager, login_client
):
    outsider = make_membership(other_org, role=Role.SDR)
    theirs = open_conversation(outsider, name="Outside Olga")
    message = make_message(other_org, theirs, predicted_intent="high")
    client = login_client(manager)
    for method, url, data in _every_inbox_url(theirs, message):
        for headers in ({}, HTMX):
            response = getattr(client, method)(url, data, headers=headers)
            assert response.status_code == 404, (method, url, response.status_code)
    message.refresh_from_db()
    assert message.intent_verdict == ""
    assert not Message.objects.filter(conversation=theirs,
                                      direction=Direction.OUTBOUND).exists()


def test_a_colleagues_conversation_is_not_found_for_an_sdr_on_every_inbox_url(
    org, sdr, other_sdr, login_client
):
    theirs = open_conversation(other_sdr, name="Theirs Tara")
    message = make_message(org, theirs, predicted_intent="high")
    client = login_client(sdr)
    for method, url, data in _every_inbox_url(theirs, message):
        assert getattr(client, method)(url, data).status_code == 404, url


def test_marking_read_by_hand_clears_the_unread_count(org, sdr, login_client):
    conversation = open_conversation(sdr, name="Mira One")
    response = login_client(sdr).post(f"/inbox/{conversation.pk}/read/", headers=HTMX)
    assert response.status_code == 204
    assert selectors.conversation_for(org, sdr, conversation.pk).unread_count == 0

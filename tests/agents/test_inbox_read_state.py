"""Read state per person: each reader keeps their own mark, so a manager opening a rep's
thread leaves the rep's unread count as it was, on the pages and in the API."""

from datetime import timedelta

import pytest
from django.utils import timezone

from agents import selectors
from agents.models import ConversationRead, Direction
from agents.services import inbox
from flexoraa.actors import Actor
from flexoraa.models import Role
from tests.agents.factories import make_channel, make_message
from tests.agents.inbox_support import open_conversation, unread_of
from tests.factories import UserFactory, make_membership
from tests.leads.pages_support import HTMX, page_of, query_count
from tests.support import errors_of, needs_postgres, run_together

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_sdr(org):
    return make_membership(org, role=Role.SDR, capacity=5,
                           user=UserFactory(username="ravi-other-sdr"))


def three_unread(org, owner, name="Mira One"):
    conversation = open_conversation(owner, name=name)
    now = timezone.now()
    make_message(org, conversation, body="Second", at=now - timedelta(minutes=20))
    make_message(org, conversation, body="Third", at=now - timedelta(minutes=10))
    return conversation


def badge_of(page: str) -> str:
    """The number in the list's unread badge (the page holds one row)."""
    start = page.index('data-testid="unread-badge"')
    return page[page.index(">", start) + 1:page.index("<", start)]


# --- the service ------------------------------------------------------------------------------

def test_a_manager_opening_a_reps_thread_leaves_the_reps_unread_count(
    org, sdr, manager, login_client
):
    conversation = three_unread(org, sdr)

    assert login_client(manager).get(f"/inbox/{conversation.pk}/").status_code == 200

    assert unread_of(conversation, manager) == 0
    assert unread_of(conversation, sdr) == 3
    assert badge_of(page_of(login_client(sdr).get("/inbox/"))) == "3"


def test_the_reps_own_opening_clears_only_theirs(org, sdr, manager, login_client):
    conversation = three_unread(org, sdr)

    login_client(sdr).get(f"/inbox/{conversation.pk}/")

    assert unread_of(conversation, sdr) == 0
    assert unread_of(conversation, manager) == 3
    assert 'data-testid="unread-badge"' not in page_of(login_client(sdr).get("/inbox/"))


def test_a_message_after_the_mark_is_unread_again_and_a_mark_never_moves_back(org, sdr):
    conversation = three_unread(org, sdr)
    actor = Actor.for_member(sdr)
    mark = inbox.conversation_mark_read(org=org, conversation=conversation, actor=actor)

    make_message(org, conversation, body="One more")
    assert unread_of(conversation, sdr) == 1
    # A page loaded before the new message marks up to what it showed: no step back.
    assert inbox.conversation_mark_read(org=org, conversation=conversation, actor=actor,
                                        up_to=mark - 1) == mark
    assert ConversationRead.objects.get(membership=sdr).last_read_message_id == mark
    # Our own replies are never unread.
    inbox.conversation_mark_read(org=org, conversation=conversation, actor=actor)
    make_message(org, conversation, direction=Direction.OUTBOUND, body="Our answer")
    assert unread_of(conversation, sdr) == 0


def test_a_late_message_with_an_older_time_still_counts_as_unread(org, sdr):
    conversation = three_unread(org, sdr)
    inbox.conversation_mark_read(org=org, conversation=conversation,
                                 actor=Actor.for_member(sdr))

    make_message(org, conversation, body="Delayed by the provider",
                 at=timezone.now() - timedelta(days=2))

    assert unread_of(conversation, sdr) == 1


def test_an_api_key_reading_writes_no_mark(org, sdr, api_key):
    conversation = three_unread(org, sdr)
    assert inbox.conversation_mark_read(org=org, conversation=conversation,
                                        actor=Actor.for_api_key(api_key[0])) == 0
    assert not ConversationRead.objects.exists()


def test_the_unread_only_filter_follows_the_persons_own_marks(org, sdr, manager, login_client):
    read_by_manager = three_unread(org, sdr, name="Read Rita")
    three_unread(org, sdr, name="Unread Usha")
    inbox.conversation_mark_read(org=org, conversation=read_by_manager,
                                 actor=Actor.for_member(manager))

    managers = page_of(login_client(manager).get("/inbox/", {"unread": "1"}))
    reps = page_of(login_client(sdr).get("/inbox/", {"unread": "1"}))

    assert "Unread Usha" in managers and "Read Rita" not in managers
    assert "Unread Usha" in reps and "Read Rita" in reps


# --- the API ------------------------------------------------------------------------------------

def test_the_apis_unread_count_is_the_callers_own(org, sdr, manager, api_client):
    conversation = three_unread(org, sdr)
    inbox.conversation_mark_read(org=org, conversation=conversation,
                                 actor=Actor.for_member(manager))

    api_client.force_login(manager.user)
    (row,) = api_client.get("/api/conversations/").json()["results"]
    assert row["unread_count"] == 0 and row["assignee"] == sdr.pk
    api_client.force_login(sdr.user)
    (row,) = api_client.get("/api/conversations/").json()["results"]
    assert row["unread_count"] == 3
    assert api_client.get(f"/api/conversations/{conversation.pk}/").json()["unread_count"] == 3


def test_an_api_key_sees_the_assignees_unread_count_and_null_for_nobodys(
    org, sdr, manager, key_client
):
    held = three_unread(org, sdr)
    inbox.conversation_mark_read(org=org, conversation=held, actor=Actor.for_member(manager))
    nobodys = three_unread(org, sdr, name="Queued Quinn")
    nobodys.lead.__class__.objects.filter(pk=nobodys.lead_id).update(owner=None)

    rows = {row["id"]: row for row in key_client.get("/api/conversations/").json()["results"]}

    assert rows[held.pk]["unread_count"] == 3  # the rep's, whatever the manager read
    assert rows[nobodys.pk]["unread_count"] is None and rows[nobodys.pk]["assignee"] is None


def test_a_person_marks_read_through_the_api_and_a_key_is_told_it_cannot(
    org, sdr, manager, api_client, key_client
):
    conversation = three_unread(org, sdr)
    api_client.force_login(sdr.user)

    response = api_client.post(f"/api/conversations/{conversation.pk}/read/")

    assert response.status_code == 200 and response.json()["unread_count"] == 0
    assert unread_of(conversation, manager) == 3
    refused = key_client.post(f"/api/conversations/{conversation.pk}/read/")
    assert refused.status_code == 403
    assert "no unread messages of its own" in refused.json()["error"]["message"]


def test_unread_filter_in_the_api(org, sdr, manager, api_client):
    read = three_unread(org, sdr, name="Read Rita")
    waiting = three_unread(org, sdr, name="Unread Usha")
    inbox.conversation_mark_read(org=org, conversation=read, actor=Actor.for_member(sdr))
    api_client.force_login(sdr.user)
    ids = [row["id"] for row in
           api_client.get("/api/conversations/", {"unread": "true"}).json()["results"]]
    assert ids == [waiting.pk]


# --- what it costs -------------------------------------------------------------------------------

def test_the_list_and_the_api_cost_the_same_for_one_and_twenty_conversations_with_marks(
    org, sdr, manager, login_client, api_client, key_client
):
    channel = make_channel(org)
    rep, boss = login_client(sdr), login_client(manager)
    api_client.force_login(sdr.user)
    pages = [(rep, "/inbox/"), (boss, "/inbox/"), (rep, "/inbox/?unread=1"),
             (boss, "/inbox/?view=unassigned"), (api_client, "/api/conversations/"),
             (key_client, "/api/conversations/")]

    def counts():
        for client, url in pages:
            client.get(url)  # the key's first use of the hour is recorded once
        return [query_count(client, url) for client, url in pages]

    def add(n):
        conversation = open_conversation(sdr, name=f"Lead {n}", channel=channel)
        make_message(org, conversation, body="And another thing")
        if n % 2:
            for reader in (sdr, manager):
                inbox.conversation_mark_read(org=org, conversation=conversation,
                                             actor=Actor.for_member(reader))
        if n % 3 == 0:
            conversation.lead.__class__.objects.filter(pk=conversation.lead_id).update(
                owner=None)

    for n in range(3):
        add(n)
    few = counts()
    for n in range(3, 20):
        add(n)

    assert counts() == few
    assert "20 conversations" in page_of(boss.get("/inbox/"))


def test_a_read_thread_costs_no_write_and_its_refresh_no_more_than_the_page(
    org, sdr, login_client
):
    conversation = three_unread(org, sdr)
    client = login_client(sdr)
    client.get(f"/inbox/{conversation.pk}/")
    page = query_count(client, f"/inbox/{conversation.pk}/")
    refresh = query_count(client, f"/inbox/{conversation.pk}/messages/")
    assert refresh < page
    make_message(org, conversation, body="News")
    fragment = client.get(f"/inbox/{conversation.pk}/messages/", headers=HTMX)
    assert "News" in page_of(fragment)
    assert unread_of(conversation, sdr) == 0


def test_selectors_count_unread_for_a_page_in_one_query(org, sdr, django_assert_num_queries):
    for n in range(5):
        three_unread(org, sdr, name=f"Lead {n}")
    query = selectors.InboxQuery(view=selectors.MINE)
    with django_assert_num_queries(1):
        rows = list(selectors.inbox_conversations(org, sdr, query))
    assert [row.unread_count for row in rows] == [3] * 5


# --- at once ------------------------------------------------------------------------------------

@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_first_readings_at_once_keep_one_mark_per_person_at_the_newest(org, sdr, manager):
    conversation = three_unread(org, sdr)
    newest = conversation.messages.order_by("-id").values_list("pk", flat=True).first()
    readers = [sdr, manager] * 3

    outcomes = run_together(len(readers), lambda n: inbox.conversation_mark_read(
        org=org, conversation=conversation, actor=Actor.for_member(readers[n]),
        up_to=newest - (n % 3)), in_transaction=True)

    assert errors_of(outcomes) == []
    marks = dict(ConversationRead.objects.values_list("membership_id", "last_read_message_id"))
    assert marks == {sdr.pk: newest, manager.pk: newest}

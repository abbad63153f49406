"""The inbox's order and badges: the most urgent first (breached first, then the soonest
first-response deadline, then the latest activity), the other orders on request, and each
row's tier and intent."""

from datetime import timedelta

import pytest
from django.utils import timezone

from agents import selectors
from agents.selectors import ALL, OLDEST, RECENT, URGENT, InboxQuery
from agents.views.common import intent_badge, tier_badge
from leads.models import Lead
from tests.agents.factories import make_message
from tests.agents.inbox_support import open_conversation
from tests.leads.pages_support import HOT, page_of

pytestmark = pytest.mark.django_db


def with_clock(conversation, *, due_in=None, answered=False, breached=False, active_ago=0):
    """Set the lead's first-response clock and the conversation's last activity."""
    now = timezone.now()
    Lead.objects.filter(pk=conversation.lead_id).update(
        first_response_due_at=None if due_in is None else now + due_in,
        first_response_at=now - timedelta(minutes=1) if answered else None,
        sla_breached_at=now - timedelta(minutes=1) if breached else None,
    )
    conversation.__class__.objects.filter(pk=conversation.pk).update(
        last_message_at=now - timedelta(minutes=active_ago))
    return conversation


def order(org, membership, sort):
    return list(selectors.inbox_conversations(org, membership, InboxQuery(view=ALL, sort=sort))
                .values_list("pk", flat=True))


@pytest.fixture
def five(org, sdr):
    make = lambda name: open_conversation(sdr, name=name)  # noqa: E731
    return {
        "answered_recent": with_clock(make("Answered Anu"), due_in=timedelta(hours=-1),
                                      answered=True, active_ago=1),
        "due_later": with_clock(make("Later Lata"), due_in=timedelta(hours=3), active_ago=50),
        "breached": with_clock(make("Breached Bala"), due_in=timedelta(minutes=-30),
                               breached=True, active_ago=90),
        "due_soon": with_clock(make("Soon Sona"), due_in=timedelta(minutes=4), active_ago=70),
        "no_target_old": with_clock(make("Quiet Quasim"), due_in=None, active_ago=300),
    }


def test_the_most_urgent_come_first_and_the_rest_by_latest_activity(org, manager, five):
    assert order(org, manager, URGENT) == [five[key].pk for key in (
        "breached", "due_soon", "due_later", "answered_recent", "no_target_old")]


def test_a_deadline_passed_before_the_sla_job_marked_it_counts_as_breached(org, manager,
                                                                            sdr):
    overdue = with_clock(open_conversation(sdr, name="Over Due"),
                         due_in=timedelta(minutes=-1), active_ago=500)
    soon = with_clock(open_conversation(sdr, name="Soon Sona"), due_in=timedelta(minutes=2))
    assert order(org, manager, URGENT) == [overdue.pk, soon.pk]


def test_a_closed_leads_old_deadline_is_not_urgent(org, manager, sdr):
    closed = with_clock(open_conversation(sdr, name="Won Wanda"),
                        due_in=timedelta(minutes=-30), active_ago=100)
    Lead.objects.filter(pk=closed.lead_id).update(status="won")
    waiting = with_clock(open_conversation(sdr, name="Soon Sona"), due_in=timedelta(hours=2),
                         active_ago=200)
    assert order(org, manager, URGENT) == [waiting.pk, closed.pk]


def test_the_other_orders_are_there_on_request(org, manager, five):
    by_activity = ["answered_recent", "due_later", "due_soon", "breached", "no_target_old"]
    assert order(org, manager, RECENT) == [five[key].pk for key in by_activity]
    assert order(org, manager, OLDEST) == [five[key].pk for key in reversed(by_activity)]


def test_the_list_page_is_most_urgent_first_and_offers_the_other_orders(
    manager, five, login_client
):
    client = login_client(manager)
    page = page_of(client.get("/inbox/"))
    assert page.index("Breached Bala") < page.index("Soon Sona") < page.index("Later Lata")
    assert '<option value="urgent" selected>Most urgent</option>' in page
    recent = page_of(client.get("/inbox/", {"sort": "recent"}))
    assert recent.index("Answered Anu") < recent.index("Later Lata")
    odd = page_of(client.get("/inbox/", {"sort": "sideways"}))
    assert "is not an order of the inbox" in odd
    assert odd.index("Breached Bala") < odd.index("Soon Sona")


def test_the_api_sorts_by_urgency_on_request(manager, five, key_client):
    rows = key_client.get("/api/conversations/", {"sort": "urgent"}).json()["results"]
    assert [row["id"] for row in rows][:2] == [five["breached"].pk, five["due_soon"].pk]


# --- badges ---------------------------------------------------------------------------------------

def test_each_row_shows_its_tier_and_the_intent_of_the_latest_reading(
    org, sdr, login_client
):
    conversation = open_conversation(sdr, name="Hot Hema", **HOT)
    make_message(org, conversation, body="Maybe next year", predicted_intent="low",
                 at=timezone.now() - timedelta(minutes=30))
    make_message(org, conversation, body="Can we start Monday?", predicted_intent="high",
                 at=timezone.now() - timedelta(minutes=5))

    page = page_of(login_client(sdr).get("/inbox/"))
    thread = page_of(login_client(sdr).get(f"/inbox/{conversation.pk}/"))

    for shown in (page, thread):
        assert 'class="pill tier-hot" data-testid="tier-badge">HOT<' in shown
        assert 'data-testid="intent-badge">high intent<' in shown


def test_without_a_reading_on_the_conversation_the_leads_intent_shows(org, sdr, login_client):
    open_conversation(sdr, name="Mira One")
    Lead.objects.filter(name="Mira One").update(intent="medium")
    assert 'data-testid="intent-badge">medium intent<' in page_of(
        login_client(sdr).get("/inbox/"))


def test_badge_words():
    assert tier_badge(Lead(tier="warm")).words == "WARM"
    assert tier_badge(Lead(tier="")) is None
    assert intent_badge("low").words == "low intent"
    assert intent_badge("") is None and intent_badge("bogus") is None

"""First touch: a lead a message creates is scored with that message's reading before it is
routed and its first-response clock starts, and a later message that raises the tier moves it
to the new tier's pool with the new tier's clock. Everything goes in as Meta sends it: a signed
WhatsApp webhook, processed as a worker would, with the trained model reading the words."""

import time
from datetime import UTC, datetime, timedelta

import pytest

from agents.models import ChannelKind
from flexoraa.models import Role
from leads import services as lead_services
from leads.models import AssignmentReason, Lead, LeadEvent, Tier
from tests.agents.factories import make_channel
from tests.agents.test_meta_webhooks import post_signed, wa_message
from tests.factories import SETUP_ACTOR, make_membership

pytestmark = pytest.mark.django_db

# The label guide's examples (shared/nlu/GUIDE.md, dev_examples.csv): every high one and every
# low one, as a new lead's first WhatsApp message.
GUIDE_HIGH = [
    "What are your prices? Want to start tomorrow",
    "Please send the payment link for the starter pack",
    "We have 3 lakh and need it live this week",
    "Book me for Tuesday 5pm demo",
    "Invoice bhejo, aaj payment ho jayega",
    "We can spend $800 a month, need it running by Monday",
    "Rs 1,20,000 approved, let's sign today",
]
GUIDE_LOW = [
    "STOP",
    "not interested",
    "who is this??",
    "No budget this year, sorry",
    "I'm writing a thesis on sales tools",
]
# The two messages a walkthrough found COLD with a 24-hour target.
WALKTHROUGH = {
    "slot": "Please hold the Saturday 6 pm slot, I'll pay the advance tonight",
    "yoga": "Our team of 8 wants corporate yoga sessions starting next Monday, ₹40k a month, "
            "can you send the proposal?",
}


@pytest.fixture
def team(org):
    """A HOT pool of one SDR and a COLD and WARM pool of another."""
    hot, cold = (make_membership(org, role=Role.SDR, capacity=50) for _ in range(2))
    for tier, member in ((Tier.HOT, hot), (Tier.WARM, cold), (Tier.COLD, cold)):
        lead_services.routing_pool_member_add(org=org, tier=tier, membership=member,
                                              actor=SETUP_ACTOR)
    return {"hot": hot, "cold": cold}


@pytest.fixture
def send(client, celery_eager, django_capture_on_commit_callbacks, nlu_model, org):
    """Send one WhatsApp message from ``wa_id`` as Meta does; returns its time."""
    channel = make_channel(org, kind=ChannelKind.WHATSAPP)
    sent = iter(range(1_000_000))

    def post(text: str, *, wa_id: str) -> datetime:
        ts = int(time.time()) - 1
        payload = wa_message(channel, wa_id=wa_id, text=text, ts=ts,
                             mid=f"wamid.{wa_id}.{next(sent)}")
        with django_capture_on_commit_callbacks(execute=True):
            response = post_signed(client, ChannelKind.WHATSAPP, payload)
        assert response.status_code == 200, response.content
        return datetime.fromtimestamp(ts, tz=UTC)
    return post


def lead_of(org, wa_id: str) -> Lead:
    return Lead.objects.for_org(org).get(phone=f"+{wa_id}")


def test_the_guides_high_intent_examples_start_hot_on_the_five_minute_clock(org, team, send):
    started_hot = []
    for n, text in enumerate(GUIDE_HIGH):
        wa_id = f"9198100{n:05d}"
        at = send(text, wa_id=wa_id)
        lead = lead_of(org, wa_id)
        if lead.tier == Tier.HOT:
            assert lead.first_response_due_at == at + timedelta(minutes=5), text
            assert lead.owner_id == team["hot"].pk, text
            started_hot.append(text)
    assert len(started_hot) / len(GUIDE_HIGH) >= 0.9, set(GUIDE_HIGH) - set(started_hot)


def test_no_low_intent_example_starts_hot(org, team, send):
    for n, text in enumerate(GUIDE_LOW):
        wa_id = f"9198200{n:05d}"
        send(text, wa_id=wa_id)
        lead = lead_of(org, wa_id)
        assert lead.tier != Tier.HOT, text
        if lead.first_response_due_at is not None:  # an opt-out has no clock at all
            assert lead.first_response_due_at - lead.created_at > timedelta(minutes=30), text


def test_the_walkthroughs_two_messages_start_hot_and_the_score_says_what_it_read(
    org, team, send
):
    words = {}
    for n, (key, text) in enumerate(WALKTHROUGH.items()):
        wa_id = f"9198300{n:05d}"
        at = send(text, wa_id=wa_id)
        lead = lead_of(org, wa_id)
        assert (lead.tier, lead.owner_id) == (Tier.HOT, team["hot"].pk), text
        assert lead.first_response_due_at == at + timedelta(minutes=5)
        words[key] = {f["name"]: f["explanation"] for f in lead.score_breakdown["factors"]}
    assert "\u2018tonight\u2019" in words["slot"]["timeline"]
    assert words["yoga"]["timeline"].startswith("Said \u2018")
    assert "next Monday" in words["yoga"]["timeline"]
    assert words["yoga"]["budget"].startswith("Said \u2018₹40k a month\u2019, ₹4.8 L a year, ")
    assert words["yoga"]["budget"].endswith("against a ₹1 L target deal: meets it (4.8 times).")


def test_a_cold_leads_second_message_raising_it_to_hot_reroutes_it_on_the_five_minute_clock(
    org, team, send
):
    wa_id = "919840000001"
    send("hi", wa_id=wa_id)
    lead = lead_of(org, wa_id)
    assert (lead.tier, lead.owner_id) == (Tier.COLD, team["cold"].pk)
    cold_due = lead.first_response_due_at
    assert cold_due - lead.created_at >= timedelta(hours=23)
    before = LeadEvent.objects.for_org(org).filter(lead=lead).order_by("-pk").first().pk

    at = send("send the invoice, paying today", wa_id=wa_id)

    lead.refresh_from_db()
    assert lead.tier == Tier.HOT
    assert lead.owner_id == team["hot"].pk
    assert lead.first_response_due_at == at + timedelta(minutes=5)
    assert lead.leak_due_at is not None
    events = {event.kind: event.data
              for event in LeadEvent.objects.for_org(org).filter(lead=lead, pk__gt=before)
              if event.kind != LeadEvent.Kind.SCORED or "was" in event.data}
    assert events[LeadEvent.Kind.SCORED]["was"]["tier"] == Tier.COLD
    assert events[LeadEvent.Kind.SCORED]["reason"] == "a message from the lead"
    assert events[LeadEvent.Kind.ASSIGNED]["reason"] == AssignmentReason.UPGRADE
    assert events[LeadEvent.Kind.ASSIGNED]["from"] == team["cold"].pk
    assert "Tier rose from COLD to HOT" in events[LeadEvent.Kind.SLA_CHANGED]["reason"]


def test_a_lead_that_cools_keeps_its_owner_and_its_running_clock(org, team, send):
    wa_id = "919840000002"
    send("Book me for Tuesday 5pm demo", wa_id=wa_id)
    lead = lead_of(org, wa_id)
    assert lead.tier == Tier.HOT
    hot_due = lead.first_response_due_at

    send("actually not interested any more", wa_id=wa_id)

    lead.refresh_from_db()
    assert lead.tier != Tier.HOT
    assert (lead.owner_id, lead.first_response_due_at) == (team["hot"].pk, hot_due)


def test_a_thanks_after_a_booking_does_not_cool_the_lead(org, team, send):
    wa_id = "919840000003"
    send("Book me for Tuesday 5pm demo", wa_id=wa_id)
    send("thanks!", wa_id=wa_id)
    lead = lead_of(org, wa_id)
    assert (lead.intent, lead.tier) == ("high", Tier.HOT)

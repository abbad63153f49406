"""LeadOS on the home page: the manager's pipeline (open leads by tier and stage, first response
today against each tier's target, breaches, the team's real room, the unassigned queue and the
30-day trend) and the SDR's own queue. Figures are checked against hand-built leads."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from flexoraa.models import Role
from leads import selectors
from leads.models import Lead, SlaBreach, Status, Tier
from leads.views.home import due_words
from tests.factories import UserFactory, make_membership
from tests.leads.factories import make_lead
from tests.leads.pages_support import HOT, HTMX, WARM, page_of, query_count

pytestmark = pytest.mark.django_db


def lead_in(org, tier=Tier.COLD, **fields):
    """A lead of ``tier`` with its columns then set by hand (owner, status, times)."""
    values = {Tier.HOT: HOT, Tier.WARM: WARM, Tier.COLD: {}}[tier]
    lead = make_lead(org, **values)
    assert lead.tier == tier
    if fields:
        Lead.objects.filter(pk=lead.pk).update(**fields)
    return Lead.objects.get(pk=lead.pk)


def breach_of(lead, *, at, acknowledged=False):
    return SlaBreach.objects.create(
        organization=lead.organization, lead=lead, owner=lead.owner, tier=lead.tier,
        due_at=at, breached_at=at, acknowledged_at=at if acknowledged else None,
    )


# --- the manager's pipeline -----------------------------------------------------------------

def test_open_leads_are_counted_by_tier_and_stage_and_closed_or_foreign_ones_are_not(
    org, other_org, manager
):
    lead_in(org, Tier.HOT, owner=manager)
    lead_in(org, Tier.HOT, owner=manager, status=Status.QUALIFYING)
    lead_in(org, Tier.WARM, owner=manager, status=Status.QUALIFIED)
    lead_in(org, Tier.COLD, owner=manager)
    lead_in(org, Tier.COLD, status=Status.QUALIFYING, owner=None)
    lead_in(org, Tier.HOT, status=Status.WON)
    lead_in(org, Tier.COLD, status=Status.LOST)
    lead_in(other_org, Tier.HOT)

    pipeline = selectors.pipeline_counts(org)

    assert pipeline.by_tier == {Tier.HOT: 2, Tier.WARM: 1, Tier.COLD: 2}
    assert pipeline.by_status == {Status.NEW: 2, Status.CONTACTED: 0, Status.QUALIFYING: 2,
                                  Status.QUALIFIED: 1}
    assert pipeline.total == 5
    assert pipeline.unassigned == 1


def test_first_response_p50_and_p90_are_per_tier_over_todays_replies_in_the_tenants_zone(org):
    org.timezone = "America/New_York"
    org.save(update_fields=["timezone"])
    # 23:00 on 9 March in New York (EDT, UTC-4): already 10 March in UTC.
    now = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)
    today_local = datetime(2026, 3, 9, 20, 0, tzinfo=UTC)  # 16:00 in New York
    for minutes in (1, 2, 3, 4, 10):
        created = today_local - timedelta(minutes=minutes)
        lead_in(org, Tier.HOT, created_at=created, first_response_at=today_local,
                first_response_due_at=created + timedelta(minutes=5))
    # Answered at 23:30 on 8 March in New York: yesterday there, though 9 March in UTC.
    lead_in(org, Tier.HOT, created_at=datetime(2026, 3, 9, 3, 0, tzinfo=UTC),
            first_response_at=datetime(2026, 3, 9, 3, 30, tzinfo=UTC),
            first_response_due_at=datetime(2026, 3, 9, 3, 5, tzinfo=UTC))
    lead_in(org, Tier.WARM, created_at=today_local - timedelta(hours=2),
            first_response_at=today_local,
            first_response_due_at=today_local - timedelta(hours=1))
    # Closed before anyone answered: it has no target any more and is left out.
    lead_in(org, Tier.WARM, created_at=today_local - timedelta(hours=5),
            first_response_at=today_local, first_response_due_at=None)

    hot, warm, cold = selectors.first_responses_today(org, now=now)

    assert (hot.tier, hot.answered, hot.met, hot.target_minutes) == (Tier.HOT, 5, 4, 5)
    assert hot.p50_seconds == 180
    assert hot.p90_seconds == pytest.approx(456)  # 4 min + 0.6 * (10 min - 4 min)
    assert (warm.answered, warm.met, warm.p50_seconds, warm.p90_seconds) == (1, 0, 7200, 7200)
    assert (cold.answered, cold.p50_seconds, cold.p90_seconds) == (0, None, None)
    assert cold.target_minutes == 24 * 60


def test_breaches_today_are_counted_in_the_tenants_day_and_unacknowledged_ones_whenever(org):
    now = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)  # 17:30 in Kolkata
    breach_of(lead_in(org), at=datetime(2026, 3, 9, 19, 0, tzinfo=UTC))  # 00:30 today there
    breach_of(lead_in(org), at=datetime(2026, 3, 10, 11, 0, tzinfo=UTC), acknowledged=True)
    breach_of(lead_in(org), at=datetime(2026, 3, 9, 18, 0, tzinfo=UTC))  # 23:30 yesterday

    counts = selectors.breach_counts(org, now=now)

    assert (counts.today, counts.unacknowledged) == (2, 2)


def test_sdrs_with_room_are_available_and_under_capacity_not_merely_available(org, manager):
    full = make_membership(org, role=Role.SDR, capacity=2)
    roomy = make_membership(org, role=Role.SDR, capacity=5)
    away = make_membership(org, role=Role.SDR, capacity=3, is_available=False)
    over = make_membership(org, role=Role.SDR, capacity=1)
    for owner, count in ((full, 2), (roomy, 1), (over, 3), (manager, 3)):
        for _ in range(count):
            lead_in(org, owner=owner)
    lead_in(org, owner=roomy, status=Status.WON)  # closed leads take no room

    room = selectors.team_room(org)

    assert len(room.sdrs) == 4
    assert room.sdrs_with_room == 1
    assert room.room == 4
    assert room.over_capacity == 1
    loads = {load.membership.pk: load for load in room.members}
    assert (loads[full.pk].full, loads[full.pk].has_room) == (True, False)
    assert (loads[away.pk].has_room, loads[away.pk].room) == (False, 0)
    assert loads[over.pk].over_capacity and loads[over.pk].load_percent == 100
    assert loads[roomy.pk].open_leads == 1


def test_the_home_says_no_sdr_has_room_when_every_available_sdr_is_full(
    org, manager, login_client
):
    for _ in range(3):
        sdr = make_membership(org, role=Role.SDR, capacity=1)
        lead_in(org, owner=sdr)

    page = page_of(login_client(manager).get("/"))

    assert 'data-testid="count-sdrs-available">0 / 3<' in page
    assert "room for 0 open leads" in page


def test_the_managers_home_shows_the_pipeline_figures_and_each_members_load(
    org, manager, login_client
):
    sdr = make_membership(org, role=Role.SDR, capacity=2,
                          user=UserFactory(username="sana", first_name="Sana", last_name="Rao"))
    lead_in(org, Tier.HOT, owner=sdr)
    lead_in(org, Tier.WARM, owner=sdr, status=Status.QUALIFYING)
    lead_in(org, Tier.COLD, owner=sdr)
    now = timezone.now()
    lead_in(org, Tier.HOT, owner=sdr, status=Status.WON, created_at=now - timedelta(minutes=3),
            first_response_at=now, first_response_due_at=now + timedelta(minutes=2))
    breach_of(lead_in(org, Tier.COLD, owner=None), at=now)

    page = page_of(login_client(manager).get("/"))

    assert 'data-testid="open-leads">4<' in page
    assert 'data-testid="open-hot">1<' in page and 'data-testid="open-cold">2<' in page
    assert 'data-testid="stage-new">3<' in page and 'data-testid="stage-qualifying">1<' in page
    assert 'data-testid="p50-hot">3 min<' in page
    assert 'data-testid="p50-warm">no data yet<' in page
    assert 'data-testid="breaches-today">1<' in page
    assert 'data-testid="breaches-unacknowledged">1<' in page
    assert "3 open leads / capacity 2" in page
    assert '<span class="pill bad">over capacity</span>' in page
    assert "Background jobs" not in page


def test_the_unassigned_card_lists_the_soonest_due_with_time_left_and_links_to_the_queue(
    org, manager, login_client
):
    now = timezone.now()
    for index, name in enumerate(("Later Lalit", "Soon Suma", "Late Lata")):
        lead = make_lead(org, name=name)
        due = now + timedelta(minutes=(30, 10, -15)[index], seconds=30)
        Lead.objects.filter(pk=lead.pk).update(owner=None, first_response_due_at=due)
    for _ in range(4):
        lead_in(org, owner=None, first_response_due_at=now + timedelta(hours=3))

    page = page_of(login_client(manager).get("/"))

    assert 'data-testid="unassigned-count">7<' in page
    assert page.count('data-testid="unassigned-row"') == 5
    assert page.index("Late Lata") < page.index("Soon Suma") < page.index("Later Lalit")
    assert "overdue by 14 min" in page and "due in 10 min" in page
    assert '<a href="/leads/queue/">Open the unassigned queue</a>' in page


def test_the_trend_counts_each_days_leads_by_tier_and_its_breaches_in_the_tenants_zone(org):
    now = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)  # 10 March in Kolkata
    lead_in(org, Tier.HOT, created_at=datetime(2026, 3, 10, 5, 0, tzinfo=UTC))
    lead_in(org, Tier.COLD, created_at=datetime(2026, 3, 9, 19, 0, tzinfo=UTC))  # 00:30 on 10th
    late = lead_in(org, Tier.WARM, created_at=datetime(2026, 3, 9, 18, 0, tzinfo=UTC))  # 9th
    lead_in(org, Tier.HOT, created_at=datetime(2026, 2, 1, 12, 0, tzinfo=UTC))  # too old
    breach_of(late, at=datetime(2026, 3, 10, 6, 0, tzinfo=UTC))

    trend = selectors.lead_trend(org, days=30, now=now)

    assert len(trend.days) == 30
    assert (trend.first_day.isoformat(), trend.last_day.isoformat()) == ("2026-02-09",
                                                                         "2026-03-10")
    by_day = {day.day.isoformat(): day for day in trend.days}
    assert by_day["2026-03-10"].created == {Tier.HOT: 1, Tier.WARM: 0, Tier.COLD: 1}
    assert by_day["2026-03-10"].breaches == 1
    assert by_day["2026-03-09"].created == {Tier.HOT: 0, Tier.WARM: 1, Tier.COLD: 0}
    assert (trend.created, trend.breaches) == (3, 1)


def test_the_trend_chart_has_a_text_alternative_a_legend_and_the_numbers_as_a_table(
    org, manager, login_client
):
    lead_in(org, Tier.HOT)
    lead_in(org, Tier.WARM)
    breach_of(lead_in(org), at=timezone.now())

    page = page_of(login_client(manager).get("/"))

    assert 'data-testid="trend-chart"' in page
    assert 'aria-labelledby="trend-chart-title trend-chart-desc"' in page
    assert "<title id=\"trend-chart-title\">Leads created per day by tier" in page
    assert "3 leads came in over 30 days (1 HOT, 1 WARM, 1 COLD)" in page
    assert "1 first-response target missed." in page
    assert 'data-testid="trend-legend"' in page and "SLA breaches (1)" in page
    assert page.count('data-testid="trend-day"') == 30
    assert '<summary>The numbers as a table</summary>' in page
    assert page.count('data-series="hot" data-value="1"') == 1
    assert 'data-testid="trend-breaches"' in page


def _spread(org, sdrs: int, leads: int, days: int):
    """``sdrs`` SDRs and ``leads`` leads over ``days`` days, some answered today, some
    breached, some unassigned."""
    members = [make_membership(org, role=Role.SDR, capacity=4) for _ in range(sdrs)]
    now = timezone.now()
    for index in range(leads):
        created = now - timedelta(days=index % days, minutes=10)
        lead = lead_in(
            org, (Tier.HOT, Tier.WARM, Tier.COLD)[index % 3],
            owner=members[index % sdrs] if index % 4 else None, created_at=created,
            first_response_due_at=created + timedelta(minutes=5),
            first_response_at=now if index % 2 else None,
        )
        if index % 3 == 0:
            breach_of(lead, at=created + timedelta(minutes=5))
    return members


def test_the_managers_home_runs_the_same_queries_for_2_leads_sdrs_and_days_as_for_20(
    org, manager, login_client, django_assert_num_queries
):
    client = login_client(manager)
    _spread(org, sdrs=2, leads=2, days=2)
    client.get("/")  # the session
    small = query_count(client, "/")
    _spread(org, sdrs=20, leads=20, days=20)
    with django_assert_num_queries(small):
        client.get("/")
    assert small == 16


# --- the SDR's queue ------------------------------------------------------------------------

def test_the_sdrs_home_lists_their_open_leads_hot_first_then_soonest_due(
    org, sdr, other_sdr, login_client
):
    now = timezone.now()
    lead_in(org, Tier.COLD, owner=sdr, first_response_due_at=now + timedelta(minutes=2),
            leak_due_at=None)
    warm_late = lead_in(org, Tier.WARM, owner=sdr, first_response_due_at=now + timedelta(hours=2),
                        leak_due_at=None)
    warm_soon = lead_in(org, Tier.WARM, owner=sdr, first_response_at=now,
                        leak_due_at=now + timedelta(minutes=20, seconds=30))
    hot = lead_in(org, Tier.HOT, owner=sdr, first_response_due_at=now + timedelta(hours=1),
                  leak_due_at=now + timedelta(minutes=30))
    lead_in(org, Tier.HOT, owner=sdr, status=Status.WON)
    lead_in(org, Tier.HOT, owner=other_sdr)

    items = selectors.sdr_queue(org, sdr)

    assert [item.lead.pk for item in items[:3]] == [hot.pk, warm_soon.pk, warm_late.pk]
    assert len(items) == 4
    assert (items[0].due, items[0].due_at) == (selectors.QueueItem.LEAKAGE, hot.leak_due_at)
    assert items[1].due == selectors.QueueItem.LEAKAGE
    assert items[2].due == selectors.QueueItem.FIRST_RESPONSE
    assert due_words(items[1], now).words == "moves to someone else in 20 min unless you act"

    page = page_of(login_client(sdr).get("/"))
    assert page.count('data-testid="queue-row"') == 4
    assert f'href="/leads/{hot.pk}/"' in page
    assert "first response due in 1 h 59 min" in page or "first response due in 2 h" in page
    assert 'data-testid="my-hot">1<' in page and 'data-testid="my-warm">2<' in page
    assert 'data-testid="my-cold">1<' in page
    assert "home-pipeline" not in page and "trend-chart" not in page


def test_an_overdue_first_response_says_by_how_much_on_the_sdrs_home(org, sdr, login_client):
    lead_in(org, Tier.HOT, owner=sdr,
            first_response_due_at=timezone.now() - timedelta(minutes=7, seconds=30))
    assert "first response overdue by 7 min" in page_of(login_client(sdr).get("/"))


def test_the_sdrs_home_runs_the_same_queries_for_2_leads_as_for_20(
    org, sdr, login_client, django_assert_num_queries
):
    client = login_client(sdr)
    for index in range(2):
        lead_in(org, (Tier.HOT, Tier.COLD)[index], owner=sdr)
    client.get("/")
    small = query_count(client, "/")
    for index in range(18):
        lead_in(org, (Tier.HOT, Tier.WARM, Tier.COLD)[index % 3], owner=sdr,
                leak_due_at=timezone.now() + timedelta(days=index))
    for _ in range(18):
        make_membership(org, role=Role.SDR)
    with django_assert_num_queries(small):
        client.get("/")


def test_an_sdr_toggling_availability_gets_the_teams_room_back_out_of_band(
    org, sdr, login_client
):
    lead_in(org, owner=make_membership(org, role=Role.SDR, capacity=1))  # a full colleague
    response = login_client(sdr).post("/availability/", headers=HTMX)

    fragment = page_of(response)
    assert fragment.lstrip().startswith('<div id="availability"')
    assert '<div id="sdrs-available" class="card stat" hx-swap-oob="true">' in fragment
    assert 'data-testid="count-sdrs-available">0 / 2<' in fragment

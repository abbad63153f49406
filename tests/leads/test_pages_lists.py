"""The LeadOS list pages: my leads, the team queue with its breaches, the dashboard's breach
banner and the SLA report. Leads come in through the real intake service."""

from datetime import timedelta

import pytest
from django.utils import timezone

from flexoraa.actors import Actor
from flexoraa.models import Role
from leads import services
from leads.models import Lead, SlaBreach, Status
from leads.views.common import duration_words, sla_state, span_words
from tests.factories import SETUP_ACTOR, UserFactory, make_membership
from tests.leads.factories import make_lead
from tests.leads.pages_support import (
    HOT,
    HTMX,
    WARM,
    breach_all_waiting,
    lead_of,
    page_of,
    query_count,
)

pytestmark = pytest.mark.django_db


# --- words --------------------------------------------------------------------------------

def test_spans_read_the_way_a_person_says_them():
    assert span_words(20) == "less than a minute"
    assert span_words(4 * 60 + 59) == "4 min"
    assert span_words(2 * 3600 + 5 * 60) == "2 h 5 min"
    assert span_words(3 * 3600) == "3 h"
    assert span_words(3 * 86400 + 4 * 3600) == "3 d 4 h"
    assert duration_words(None) == "no data yet"
    assert duration_words(42.4) == "42 s"
    assert duration_words(150) == "2 min 30 s"
    assert duration_words(3600 * 5) == "5 h"


def test_the_sla_column_says_due_in_overdue_by_or_answered():
    now = timezone.now()
    waiting = Lead(first_response_due_at=now + timedelta(minutes=4, seconds=30))
    late = Lead(first_response_due_at=now - timedelta(minutes=12))
    answered = Lead(first_response_due_at=now, first_response_at=now - timedelta(minutes=1))
    answered_late = Lead(first_response_due_at=now, first_response_at=now + timedelta(minutes=1))
    closed = Lead(first_response_due_at=None)
    assert sla_state(waiting, now).words == "due in 4 min"
    assert sla_state(late, now).words == "overdue by 12 min"
    assert sla_state(late, now).tone == "bad"
    assert sla_state(answered, now).words == "answered"
    assert sla_state(answered_late, now).words == "answered late"
    assert sla_state(closed, now).words == "no target"


# --- my leads -----------------------------------------------------------------------------

def test_my_leads_asks_anonymous_visitors_to_sign_in(client):
    response = client.get("/leads/")
    assert response.status_code == 302 and response["Location"] == "/login/?next=/leads/"


def test_my_leads_shows_only_the_sdrs_own_leads_most_urgent_first(
    org, sdr, other_sdr, login_client
):
    lead_of(sdr, name="Cold Carla")
    lead_of(sdr, name="Hot Hari", **HOT)
    lead_of(sdr, name="Warm Wani", **WARM)
    lead_of(other_sdr, name="Not Yours Nadia", **HOT)

    page = page_of(login_client(sdr).get("/leads/"))

    assert page.index("Hot Hari") < page.index("Warm Wani") < page.index("Cold Carla")
    assert "Not Yours Nadia" not in page
    assert '<span class="pill tier-hot">HOT</span>' in page
    assert "due in 4 min" in page or "due in 5 min" in page
    assert "3 leads" in page
    assert ">API<" in page  # the source


def test_a_closed_lead_sinks_below_the_open_ones_and_answered_leads_say_so(sdr, login_client):
    won = lead_of(sdr, name="Won Wasim", **HOT)
    services.lead_update(org=sdr.organization, lead=won,
                         actor=Actor.for_member(sdr), status=Status.WON)
    answered = lead_of(sdr, name="Answered Anu")
    services.lead_mark_first_response(org=sdr.organization, lead=answered,
                                      actor=Actor.for_member(sdr))

    page = page_of(login_client(sdr).get("/leads/"))

    assert page.index("Answered Anu") < page.index("Won Wasim")
    assert '<span class="sla ok">answered</span>' in page
    assert '<span class="sla muted">no target</span>' in page


def test_an_overdue_lead_says_by_how_much(sdr, login_client):
    lead = lead_of(sdr, name="Late Lata", **HOT)
    Lead.objects.filter(pk=lead.pk).update(
        first_response_due_at=timezone.now() - timedelta(minutes=12, seconds=30)
    )
    assert "overdue by 12 min" in page_of(login_client(sdr).get("/leads/"))


def test_my_leads_filters_by_tier_and_status_and_searches_name_email_and_phone(
    sdr, login_client
):
    lead_of(sdr, name="Hot Hari", email="hari@example.com", **HOT)
    lead_of(sdr, name="Warm Wani", phone="+919812345678", **WARM)
    qualifying = lead_of(sdr, name="Cold Carla")
    services.lead_update(org=sdr.organization, lead=qualifying, actor=Actor.for_member(sdr),
                         status=Status.QUALIFYING)
    client = login_client(sdr)

    hot = page_of(client.get("/leads/", {"tier": "hot"}))
    assert "Hot Hari" in hot and "Warm Wani" not in hot and "Cold Carla" not in hot
    assert "1 lead matches these filters" in hot

    qualifying_page = page_of(client.get("/leads/", {"status": "qualifying"}))
    assert "Cold Carla" in qualifying_page and "Hot Hari" not in qualifying_page

    by_email = page_of(client.get("/leads/", {"q": "HARI@example"}))
    assert "Hot Hari" in by_email and "Warm Wani" not in by_email
    by_phone = page_of(client.get("/leads/", {"q": "12345678"}))
    assert "Warm Wani" in by_phone and "Hot Hari" not in by_phone
    by_name = page_of(client.get("/leads/", {"q": "carla", "tier": "cold"}))
    assert "Cold Carla" in by_name and "Warm Wani" not in by_name

    nothing = page_of(client.get("/leads/", {"q": "nobody-has-this"}))
    assert "No lead matches these filters." in nothing


def test_a_bad_filter_value_is_explained_and_left_out(sdr, login_client):
    lead_of(sdr, name="Hot Hari", **HOT)
    lead_of(sdr, name="Cold Carla")

    response = login_client(sdr).get("/leads/", {"tier": "lukewarm", "status": "asleep"})

    assert response.status_code == 200
    page = page_of(response)
    assert "&#x27;lukewarm&#x27; is not a tier. Choose one of: HOT, WARM, COLD." in page
    assert "&#x27;asleep&#x27; is not a status." in page
    assert 'role="alert"' in page
    assert "Hot Hari" in page and "Cold Carla" in page  # the bad filters are left out


def test_a_bad_page_number_shows_a_page_rather_than_failing(sdr, login_client):
    lead_of(sdr, name="Hot Hari", **HOT)
    client = login_client(sdr)
    assert "Hot Hari" in page_of(client.get("/leads/", {"page": "lots"}))
    assert "Hot Hari" in page_of(client.get("/leads/", {"page": "99"}))


def test_an_htmx_filter_gets_only_the_results_and_a_clean_address(sdr, login_client):
    lead_of(sdr, name="Hot Hari", **HOT)
    lead_of(sdr, name="Cold Carla")

    response = login_client(sdr).get(
        "/leads/", {"tier": "hot", "status": "", "q": ""}, headers=HTMX
    )

    fragment = page_of(response)
    assert response.status_code == 200
    assert "<html" not in fragment and 'id="lead-filters"' not in fragment
    assert "Hot Hari" in fragment and "Cold Carla" not in fragment
    assert response["HX-Push-Url"] == "/leads/?tier=hot"
    assert 'id="lead-count" hx-swap-oob="innerHTML"' in fragment
    assert "HX-Request" in response["Vary"]


def test_the_full_page_offers_the_htmx_filters_and_a_plain_get_fallback(sdr, login_client):
    page = page_of(login_client(sdr).get("/leads/"))
    assert '<form id="lead-filters"' in page
    assert 'method="get" action="/leads/"' in page
    assert 'hx-get="/leads/"' in page and 'hx-push-url="true"' in page
    assert "keyup changed delay:400ms from:#id_q" in page
    assert '<label for="id_tier">Tier:</label>' in page
    assert '<label for="id_q">Search:</label>' in page
    assert '<a href="/leads/" aria-current="page">My leads</a>' in page


def test_a_history_restore_request_gets_the_whole_page(sdr, login_client):
    response = login_client(sdr).get(
        "/leads/", {"tier": "hot"}, headers={**HTMX, "HX-History-Restore-Request": "true"}
    )
    assert "<html" in page_of(response)


def test_my_leads_shows_fifty_leads_a_page(org, login_client):
    rep = make_membership(org, role=Role.SDR, capacity=100)
    for _ in range(51):
        make_lead(org)
    client = login_client(rep)

    first = page_of(client.get("/leads/"))
    assert first.count('data-testid="lead-row"') == 50
    assert "Page 1 of 2" in first and "page=2" in first
    second = page_of(client.get("/leads/", {"page": 2}))
    assert second.count('data-testid="lead-row"') == 1




def test_my_leads_runs_the_same_queries_for_5_leads_as_for_50(
    org, login_client, django_assert_num_queries
):
    rep = make_membership(org, role=Role.SDR, capacity=100)
    client = login_client(rep)
    for index in range(5):
        make_lead(org, **(HOT if index % 2 else {}))
    small = query_count(client, "/leads/")
    for index in range(45):
        make_lead(org, **(WARM if index % 2 else {}))
    with django_assert_num_queries(small):
        client.get("/leads/")
    with django_assert_num_queries(small):
        client.get("/leads/?tier=warm", headers=HTMX)


# --- the team queue -----------------------------------------------------------------------

def test_the_team_queue_is_for_managers_only(manager, sdr, login_client):
    assert login_client(sdr).get("/leads/team/").status_code == 403
    assert login_client(manager).get("/leads/team/").status_code == 200
    assert "Team queue" not in page_of(login_client(sdr).get("/leads/"))


def test_the_team_queue_shows_everyones_open_leads_with_owner_and_the_teams_load(
    org, manager, sdr, other_sdr, other_org, login_client
):
    lead_of(sdr, name="Hot Hari", **HOT)
    lead_of(other_sdr, name="Warm Wani", **WARM)
    won = lead_of(sdr, name="Won Wasim")
    services.lead_update(org=org, lead=won, actor=Actor.for_member(sdr), status=Status.WON)
    make_lead(other_org, name="Outside Olga")

    page = page_of(login_client(manager).get("/leads/team/"))

    assert page.index("Hot Hari") < page.index("Warm Wani")
    assert "Won Wasim" not in page and "Outside Olga" not in page
    assert "ravi-other-sdr" in page
    assert "1 open lead of a capacity of 5" in page
    assert 'style="width: 20%"' in page
    assert '<a href="/leads/team/" aria-current="page">Team queue</a>' in page


def test_the_team_queue_filters_by_owner_tier_and_status_and_explains_a_bad_owner(
    manager, sdr, other_sdr, other_org, login_client
):
    lead_of(sdr, name="Hot Hari", **HOT)
    lead_of(other_sdr, name="Warm Wani", **WARM)
    stranger = make_membership(other_org, role=Role.SDR)
    client = login_client(manager)

    mine = page_of(client.get("/leads/team/", {"owner": sdr.pk}))
    assert "Hot Hari" in mine and "Warm Wani" not in mine
    warm = page_of(client.get("/leads/team/", {"tier": "warm"}, headers=HTMX))
    assert "Warm Wani" in warm and "Hot Hari" not in warm
    assert page_of(client.get("/leads/team/", {"owner": "none"})).count('"lead-row"') == 0
    closed = page_of(client.get("/leads/team/", {"status": "won"}))
    assert "&#x27;won&#x27; is not a status." in closed

    response = client.get("/leads/team/", {"owner": stranger.pk})
    assert response.status_code == 200
    page = page_of(response)
    assert f"&#x27;{stranger.pk}&#x27; is not a member of this team." in page
    assert "Hot Hari" in page and "Warm Wani" in page


def test_the_team_queue_runs_the_same_queries_for_5_leads_as_for_50(
    org, manager, login_client, django_assert_num_queries
):
    reps = [make_membership(org, role=Role.SDR, capacity=40) for _ in range(2)]
    client = login_client(manager)
    for index in range(5):
        make_lead(org, **(HOT if index % 2 else {}))
    breach_all_waiting()
    client.get("/leads/team/")  # the first visit writes the default lost reasons
    small = query_count(client, "/leads/team/")
    for index in range(45):
        make_lead(org, **(WARM if index % 2 else {}))
    reps.append(make_membership(org, role=Role.SDR, capacity=40))
    breach_all_waiting(hours=96)
    assert SlaBreach.objects.count() == 50
    with django_assert_num_queries(small):
        client.get("/leads/team/")


def test_a_manager_acknowledges_a_breach_with_htmx_and_the_row_goes(
    org, manager, sdr, login_client
):
    first = lead_of(sdr, name="Hot Hari", **HOT)
    lead_of(sdr, name="Warm Wani", **WARM)
    breach_all_waiting()
    client = login_client(manager)
    page = page_of(client.get("/leads/team/"))
    assert 'data-testid="breach-count">2<' in page
    breach = SlaBreach.objects.get(lead=first)
    assert f'id="breach-{breach.pk}"' in page

    response = client.post(f"/leads/team/breaches/{breach.pk}/acknowledge/", headers=HTMX)

    assert response.status_code == 200
    fragment = page_of(response)
    assert "<tr" not in fragment  # the row is swapped for nothing
    assert '<span id="breach-count" hx-swap-oob="innerHTML">1</span>' in fragment
    breach.refresh_from_db()
    assert breach.acknowledged_at is not None and breach.acknowledged_by_id == manager.pk
    assert f'id="breach-{breach.pk}"' not in page_of(client.get("/leads/team/"))

    last = SlaBreach.objects.exclude(pk=breach.pk).get()
    fragment = page_of(client.post(f"/leads/team/breaches/{last.pk}/acknowledge/",
                                   headers=HTMX))
    assert 'id="breaches-empty" class="muted" hx-swap-oob="true"' in fragment
    assert 'id="breach-table" hx-swap-oob="delete"' in fragment


def test_acknowledging_without_javascript_redirects_back_with_a_message(
    manager, sdr, login_client
):
    lead_of(sdr, name="Hot Hari", **HOT)
    breach_all_waiting()
    breach = SlaBreach.objects.get()
    response = login_client(manager).post(f"/leads/team/breaches/{breach.pk}/acknowledge/",
                                          follow=True)
    assert response.redirect_chain == [("/leads/team/#breaches", 302)]
    assert "The SLA breach on Hot Hari is acknowledged." in page_of(response)
    # Twice is harmless.
    again = login_client(manager).post(f"/leads/team/breaches/{breach.pk}/acknowledge/")
    assert again.status_code == 302


def test_only_managers_of_the_tenant_acknowledge_its_breaches(
    manager, sdr, other_org, login_client
):
    lead_of(sdr, **HOT)
    breach_all_waiting()
    breach = SlaBreach.objects.get()
    assert login_client(sdr).post(
        f"/leads/team/breaches/{breach.pk}/acknowledge/").status_code == 403
    other_manager = make_membership(other_org, role=Role.MANAGER)
    assert login_client(other_manager).post(
        f"/leads/team/breaches/{breach.pk}/acknowledge/").status_code == 404
    breach.refresh_from_db()
    assert breach.acknowledged_at is None


# --- the dashboard ------------------------------------------------------------------------

def test_the_managers_dashboard_loads_a_banner_of_unacknowledged_breaches(
    manager, sdr, login_client
):
    lead_of(sdr, **HOT)
    lead_of(sdr, **WARM)
    breach_all_waiting()
    client = login_client(manager)

    home = page_of(client.get("/"))
    assert 'hx-get="/leads/team/breach-banner/" hx-trigger="load"' in home
    assert '<a href="/leads/team/">Team queue</a>' in home

    banner = page_of(client.get("/leads/team/breach-banner/", headers=HTMX))
    assert "<strong>2 SLA breaches</strong> waiting to be acknowledged." in banner
    assert 'href="/leads/team/#breaches"' in banner

    for breach in SlaBreach.objects.all():
        services.breach_acknowledge(org=manager.organization, breach=breach,
                                    actor=Actor.for_member(manager))
    assert "SLA breach" not in page_of(client.get("/leads/team/breach-banner/", headers=HTMX))


def test_an_sdrs_dashboard_links_to_their_leads_and_has_no_breach_banner(sdr, login_client):
    client = login_client(sdr)
    home = page_of(client.get("/"))
    assert '<a href="/leads/">My leads</a>' in home
    assert "breach-banner" not in home and "/leads/team/" not in home
    assert client.get("/leads/team/breach-banner/").status_code == 403


# --- the SLA report -----------------------------------------------------------------------

def _answer(lead, after: timedelta):
    services.lead_mark_first_response(org=lead.organization, lead=lead,
                                      at=lead.created_at + after, actor=SETUP_ACTOR)


def test_an_sdr_sees_their_own_sla_figures(sdr, other_sdr, login_client):
    _answer(lead_of(sdr, **HOT), timedelta(minutes=2))  # met
    _answer(lead_of(sdr, **WARM), timedelta(hours=2))  # answered late
    overdue = lead_of(sdr, **HOT)
    Lead.objects.filter(pk=overdue.pk).update(
        first_response_due_at=timezone.now() - timedelta(minutes=1))
    lead_of(sdr)  # waiting
    _answer(lead_of(other_sdr, **HOT), timedelta(minutes=1))  # someone else's

    response = login_client(sdr).get("/leads/sla/")

    assert response.status_code == 200
    page = page_of(response)
    assert "My SLA report" in page
    assert 'data-testid="sla-met">33.3%<' in page
    assert 'data-testid="sla-answered">2<' in page
    assert 'data-testid="sla-overdue">1<' in page
    assert 'data-testid="sla-waiting">1<' in page
    assert 'data-testid="sla-p50">1 h 1 min<' in page
    assert 'data-testid="sla-p90">1 h 48 min<' in page
    assert "sla-per-sdr" not in page
    assert '<a href="/leads/sla/" aria-current="page">SLA report</a>' in page


def test_a_manager_sees_the_team_figure_and_a_row_per_sdr(manager, sdr, other_sdr, login_client):
    _answer(lead_of(sdr, **HOT), timedelta(minutes=2))
    _answer(lead_of(other_sdr, **HOT), timedelta(minutes=30))
    make_membership(sdr.organization, role=Role.SDR, user=UserFactory(username="zed-new"))

    page = page_of(login_client(manager).get("/leads/sla/"))

    assert "Team SLA report" in page
    assert 'data-testid="sla-met">50.0%<' in page
    assert page.count('data-testid="sla-row"') == 3
    assert 'style="width: 100%"' in page and 'style="width: 0%"' in page
    assert "2 min" in page and "30 min" in page
    assert "zed-new" in page and "no data yet" in page


def test_the_sla_report_runs_the_same_queries_for_2_sdrs_as_for_6(
    org, manager, login_client, django_assert_num_queries
):
    for _ in range(2):
        _answer(lead_of(make_membership(org, role=Role.SDR), **HOT), timedelta(minutes=3))
    client = login_client(manager)
    count = query_count(client, "/leads/sla/")
    for _ in range(4):
        _answer(lead_of(make_membership(org, role=Role.SDR), **HOT), timedelta(minutes=3))
    with django_assert_num_queries(count):
        client.get("/leads/sla/")


def test_the_sla_report_explains_a_bad_number_of_days(sdr, login_client):
    client = login_client(sdr)
    page = page_of(client.get("/leads/sla/", {"days": "forever"}))
    assert "&#x27;forever&#x27; is not a number of days from 1 to 365" in page
    assert "last 30 days" in page
    assert "last 7 days" in page_of(client.get("/leads/sla/", {"days": 7}))

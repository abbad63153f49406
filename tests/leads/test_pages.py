"""The LeadOS pages: my leads, a lead and its actions, the team queue, the SLA report, and the
dashboard's breach banner. Leads come in through the real intake service."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from flexoraa.models import Role
from leads import services
from leads.models import AssignmentReason, Lead, LeadAssignment, SlaBreach, Status, Tier
from leads.views.common import duration_words, sla_state, span_words
from tests.factories import UserFactory, make_membership
from tests.leads.factories import make_lead, next_phone

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
# With the default settings these land in each tier (API source: 2 engagement points).
HOT = {"need": "A CRM for 20 reps", "budget_amount": Decimal("200000"), "budget_currency": "INR",
       "authority": "decision_maker", "timeline": "immediate"}
WARM = {"need": "Something for the team", "budget_amount": Decimal("50000"),
        "budget_currency": "INR", "authority": "influencer", "timeline": "quarter"}


def lead_of(owner, **values):
    """A lead owned by ``owner``, whoever routing picked first."""
    lead = make_lead(owner.organization, **values)
    if lead.owner_id != owner.pk:
        lead = services.lead_reassign(org=owner.organization, lead=lead, owner_id=owner.pk,
                                      actor=None)
    return Lead.objects.get(pk=lead.pk)


def page_of(response) -> str:
    return response.content.decode()


def breach_all_waiting(hours=48):
    """Runs the SLA check as if ``hours`` had passed: every unanswered lead is breached."""
    services.sla_breaches_record(now=timezone.now() + timedelta(hours=hours))


@pytest.fixture
def other_sdr(org):
    return make_membership(org, role=Role.SDR, capacity=5,
                           user=UserFactory(username="ravi-other-sdr"))


@pytest.fixture
def outsider_lead(other_org):
    make_membership(other_org, role=Role.SDR)
    return make_lead(other_org, name="Outside Olga", **HOT)


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
    services.lead_update(org=sdr.organization, lead=won, actor=sdr, status=Status.WON)
    answered = lead_of(sdr, name="Answered Anu")
    services.lead_mark_first_response(org=sdr.organization, lead=answered, actor=sdr)

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
    services.lead_update(org=sdr.organization, lead=qualifying, actor=sdr,
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


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_my_leads_runs_the_same_queries_for_5_leads_as_for_50(
    org, login_client, django_assert_num_queries
):
    rep = make_membership(org, role=Role.SDR, capacity=100)
    client = login_client(rep)
    for index in range(5):
        make_lead(org, **(HOT if index % 2 else {}))
    small = _queries(client, "/leads/")
    for index in range(45):
        make_lead(org, **(WARM if index % 2 else {}))
    with django_assert_num_queries(small):
        client.get("/leads/")
    with django_assert_num_queries(small):
        client.get("/leads/?tier=warm", headers=HTMX)


# --- a lead -------------------------------------------------------------------------------

def test_an_sdr_opens_their_lead_and_sees_why_it_scored_and_what_happened(sdr, login_client):
    lead = lead_of(sdr, name="Hot Hari", phone=next_phone(), email="hari@mailinator.com", **HOT)

    response = login_client(sdr).get(f"/leads/{lead.pk}/")

    assert response.status_code == 200
    page = page_of(response)
    assert "<h1 id=\"lead-name\">Hot Hari</h1>" in page
    assert 'data-testid="lead-score">74 / 100<' in page
    for name in ("intent", "budget", "authority", "timeline", "engagement"):
        assert f'data-testid="factor-{name}"' in page
    assert "<span>20 / 20</span>" in page
    assert "They make the buying decision." in page
    assert 'style="width: 100%"' in page and 'style="width: 60%"' in page  # 20/20 and 12/20
    # Verification: the phone is fine, the throwaway mailbox is flagged with its reason.
    assert "Partly verified" in page
    assert "A throwaway mailbox: it may stop working within hours." in page
    assert "mobile, IN" in page
    # Qualification, SLA and the timeline in words.
    assert "Decision maker" in page and "This week" in page
    assert "Mark first response sent" in page
    assert "Came in through API. Contact check: partly verified." in page
    assert "Scored 74 (HOT)." in page
    assert "Reassigned by a manager" in page or "Routing" in page
    # An SDR has no reassign form.
    assert "Hand this lead to" not in page


def test_an_sdr_gets_404_for_another_sdrs_lead(sdr, other_sdr, login_client):
    theirs = lead_of(other_sdr, name="Not Yours Nadia")
    client = login_client(sdr)
    response = client.get(f"/leads/{theirs.pk}/")
    assert response.status_code == 404
    assert "Not Yours Nadia" not in page_of(response)
    assert client.post(f"/leads/{theirs.pk}/first-response/").status_code == 404
    assert client.post(f"/leads/{theirs.pk}/status/", {"status": "lost"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.first_response_at is None and theirs.status == Status.NEW


def test_a_manager_opens_any_lead_of_their_tenant(manager, sdr, login_client):
    lead = lead_of(sdr, name="Hot Hari", **HOT)
    page = page_of(login_client(manager).get(f"/leads/{lead.pk}/"))
    assert "Hot Hari" in page
    assert "Hand this lead to" in page
    assert f'<option value="{manager.pk}">' in page
    assert f'<option value="{sdr.pk}">' not in page  # already the owner


def test_another_tenants_lead_is_not_found_on_the_page_and_every_action(
    manager, sdr, outsider_lead, login_client
):
    for client in (login_client(manager), login_client(sdr)):
        assert client.get(f"/leads/{outsider_lead.pk}/").status_code == 404
        for action, data in [
            ("first-response", {}),
            ("status", {"status": "lost"}),
            ("qualification", {"q-need": "x", "q-budget_amount": "", "q-budget_currency": ""}),
        ]:
            response = client.post(f"/leads/{outsider_lead.pk}/{action}/", data)
            assert response.status_code == 404, action
            assert client.post(f"/leads/{outsider_lead.pk}/{action}/", data,
                               headers=HTMX).status_code == 404
    response = login_client(manager).post(f"/leads/{outsider_lead.pk}/reassign/",
                                          {"owner": manager.pk})
    assert response.status_code == 404
    outsider_lead.refresh_from_db()
    assert outsider_lead.first_response_at is None
    assert outsider_lead.status == Status.NEW and outsider_lead.need == "A CRM for 20 reps"
    assert outsider_lead.owner.organization_id == outsider_lead.organization_id


def test_a_lead_id_that_does_not_exist_is_not_found(sdr, login_client):
    assert login_client(sdr).get("/leads/999999/").status_code == 404


def test_the_actions_take_only_posts(sdr, login_client):
    lead = lead_of(sdr)
    client = login_client(sdr)
    for action in ("first-response", "status", "qualification", "reassign"):
        assert client.get(f"/leads/{lead.pk}/{action}/").status_code in (403, 405)


def test_marking_the_first_response_without_javascript_redirects_with_a_message(
    sdr, login_client
):
    lead = lead_of(sdr, **HOT)
    response = login_client(sdr).post(f"/leads/{lead.pk}/first-response/", follow=True)
    assert response.redirect_chain == [(f"/leads/{lead.pk}/", 302)]
    page = page_of(response)
    assert "First response recorded." in page
    assert 'data-testid="sla-state">answered<' in page
    assert "First response sent, within the target." in page
    lead.refresh_from_db()
    assert lead.first_response_at is not None


def test_marking_the_first_response_with_htmx_returns_the_card_and_refreshes_the_others(
    sdr, login_client
):
    lead = lead_of(sdr, **HOT)
    response = login_client(sdr).post(f"/leads/{lead.pk}/first-response/", headers=HTMX)
    fragment = page_of(response)
    assert response.status_code == 200
    assert fragment.lstrip().startswith('<section id="sla-card"')
    assert "First response recorded." in fragment
    assert "Mark first response sent" not in fragment
    assert '<section id="summary-card" class="card lead-summary" aria-labelledby="lead-name" ' \
           'hx-swap-oob="true">' in fragment
    assert 'id="timeline-card"' in fragment and "First response sent" in fragment
    assert "<html" not in fragment
    lead.refresh_from_db()
    assert lead.first_response_at is not None
    # No message is left behind for the next full page.
    assert "First response recorded." not in page_of(login_client(sdr).get("/leads/"))


def test_a_manager_can_mark_the_first_response_on_an_sdrs_lead(manager, sdr, login_client):
    lead = lead_of(sdr, **HOT)
    login_client(manager).post(f"/leads/{lead.pk}/first-response/")
    lead.refresh_from_db()
    assert lead.first_response_at is not None


def test_a_status_change_is_saved_and_shown(sdr, login_client):
    lead = lead_of(sdr, **HOT)
    client = login_client(sdr)

    response = client.post(f"/leads/{lead.pk}/status/", {"status": "qualified"}, headers=HTMX)
    fragment = page_of(response)
    assert fragment.lstrip().startswith('<section id="status-card"')
    assert 'data-testid="status-now">Qualified<' in fragment
    assert "Status changed to qualified." in fragment  # the timeline follows out of band
    lead.refresh_from_db()
    assert lead.status == Status.QUALIFIED

    response = client.post(f"/leads/{lead.pk}/status/", {"status": "won"}, follow=True)
    assert "Status changed." in page_of(response)
    lead.refresh_from_db()
    assert lead.status == Status.WON
    # A won lead has nowhere to go: no select is offered.
    assert 'id="status-select"' not in page_of(client.get(f"/leads/{lead.pk}/"))


def test_a_refused_status_change_shows_the_reason(sdr, login_client):
    lead = lead_of(sdr, **HOT)
    services.lead_update(org=sdr.organization, lead=lead, actor=sdr, status=Status.WON)
    client = login_client(sdr)

    response = client.post(f"/leads/{lead.pk}/status/", {"status": "qualifying"})
    assert response.status_code == 400
    page = page_of(response)
    assert "A won lead cannot become qualifying" in page
    assert "<html" in page  # the whole page, with the reason in the card

    response = client.post(f"/leads/{lead.pk}/status/", {"status": "qualifying"}, headers=HTMX)
    assert response.status_code == 200  # htmx swaps only 2xx answers
    fragment = page_of(response)
    assert fragment.lstrip().startswith('<section id="status-card"')
    assert 'role="alert" id="status-error">A won lead cannot become qualifying' in fragment

    unknown = page_of(client.post(f"/leads/{lead.pk}/status/", {"status": "asleep"},
                                  headers=HTMX))
    assert "Unknown status &#x27;asleep&#x27;" in unknown
    lead.refresh_from_db()
    assert lead.status == Status.WON


def test_editing_the_qualification_rescores_the_lead(sdr, login_client):
    lead = lead_of(sdr, name="Cold Carla")
    assert lead.tier == Tier.COLD
    data = {"q-need": "A CRM for 20 reps", "q-budget_amount": "2,00,000",
            "q-budget_currency": "inr", "q-authority": "decision_maker",
            "q-timeline": "immediate"}

    response = login_client(sdr).post(f"/leads/{lead.pk}/qualification/", data, headers=HTMX)

    fragment = page_of(response)
    assert fragment.lstrip().startswith('<section id="qualification-card"')
    assert "Qualification saved; the lead is rescored." in fragment
    assert "200,000 INR" in fragment
    assert '<section id="score-card" class="card" aria-labelledby="score-title" ' \
           'hx-swap-oob="true">' in fragment
    assert 'data-testid="lead-tier">HOT<' in fragment
    assert "Rescored from 2 (COLD) to 74 (HOT)." in fragment
    lead.refresh_from_db()
    assert (lead.tier, lead.score, lead.budget_amount) == (Tier.HOT, 74, Decimal("200000"))
    assert lead.budget_currency == "INR"


def test_a_bad_budget_currency_is_shown_by_its_field_and_nothing_is_saved(sdr, login_client):
    lead = lead_of(sdr, name="Cold Carla")
    data = {"q-need": "Something", "q-budget_amount": "5000", "q-budget_currency": "RS$",
            "q-authority": "", "q-timeline": ""}
    client = login_client(sdr)

    response = client.post(f"/leads/{lead.pk}/qualification/", data)
    assert response.status_code == 400
    page = page_of(response)
    assert ('<ul class="errorlist" id="id_q-budget_currency_error"><li>Give a three-letter ISO '
            'currency code, like INR or USD.</li></ul>') in page
    assert 'aria-invalid="true" aria-describedby="id_q-budget_currency_error"' in page
    assert 'value="RS$"' in page  # what they typed stays
    assert "<details open>" in page

    fragment = page_of(client.post(f"/leads/{lead.pk}/qualification/", data, headers=HTMX))
    assert fragment.lstrip().startswith('<section id="qualification-card"')
    assert "Give a three-letter ISO currency code" in fragment
    lead.refresh_from_db()
    assert lead.need == "" and lead.budget_amount is None


def test_a_bad_budget_amount_and_authority_are_shown_by_their_fields(sdr, login_client):
    lead = lead_of(sdr)
    client = login_client(sdr)
    amount = page_of(client.post(f"/leads/{lead.pk}/qualification/", {
        "q-budget_amount": "lots", "q-budget_currency": "INR"}, headers=HTMX))
    assert 'id="id_q-budget_amount_error"><li>Give the budget as a number' in amount
    authority = page_of(client.post(f"/leads/{lead.pk}/qualification/", {
        "q-authority": "emperor"}, headers=HTMX))
    assert 'id="id_q-authority_error"><li>&#x27;emperor&#x27; is not a authority' in authority


def test_a_manager_reassigns_a_lead_and_the_history_says_why(
    manager, sdr, other_sdr, login_client
):
    lead = lead_of(sdr, name="Hot Hari", **HOT)
    client = login_client(manager)

    response = client.post(f"/leads/{lead.pk}/reassign/",
                           {"owner": other_sdr.pk, "note": "Speaks Tamil"}, headers=HTMX)

    fragment = page_of(response)
    assert fragment.lstrip().startswith('<section id="owner-card"')
    assert 'data-testid="owner-now">ravi-other-sdr<' in fragment
    assert "Reassigned by a manager" in fragment and "Speaks Tamil" in fragment
    assert 'data-testid="lead-owner">ravi-other-sdr<' in fragment  # the summary follows
    lead.refresh_from_db()
    assert lead.owner_id == other_sdr.pk
    last = LeadAssignment.objects.filter(lead=lead).order_by("-id").first()
    assert (last.reason, last.actor_id) == (AssignmentReason.MANUAL, manager.pk)
    # The first SDR no longer reaches the lead.
    assert login_client(sdr).get(f"/leads/{lead.pk}/").status_code == 404

    response = client.post(f"/leads/{lead.pk}/reassign/", {"owner": sdr.pk}, follow=True)
    assert "Lead reassigned." in page_of(response)


def test_an_sdr_cannot_reassign_their_lead(sdr, other_sdr, login_client):
    lead = lead_of(sdr)
    response = login_client(sdr).post(f"/leads/{lead.pk}/reassign/", {"owner": other_sdr.pk})
    assert response.status_code == 403
    lead.refresh_from_db()
    assert lead.owner_id == sdr.pk


def test_reassigning_to_someone_outside_the_team_is_refused_with_a_message(
    manager, sdr, other_org, login_client
):
    stranger = make_membership(other_org, role=Role.SDR)
    lead = lead_of(sdr)
    client = login_client(manager)
    fragment = page_of(client.post(f"/leads/{lead.pk}/reassign/", {"owner": stranger.pk},
                                   headers=HTMX))
    assert "No member of this organization has that id." in fragment
    nobody = page_of(client.post(f"/leads/{lead.pk}/reassign/", {"owner": ""}))
    assert "Choose who takes the lead." in nobody
    lead.refresh_from_db()
    assert lead.owner_id == sdr.pk


def test_reassigning_a_closed_lead_is_refused_with_the_reason(manager, sdr, login_client):
    lead = lead_of(sdr)
    services.lead_update(org=sdr.organization, lead=lead, actor=sdr, status=Status.LOST)
    page = page_of(login_client(manager).get(f"/leads/{lead.pk}/"))
    assert "Hand this lead to" not in page
    response = login_client(manager).post(f"/leads/{lead.pk}/reassign/", {"owner": manager.pk})
    assert response.status_code == 400
    assert "only open leads are reassigned" in page_of(response)


def test_the_detail_page_runs_a_fixed_number_of_queries(
    manager, sdr, login_client, django_assert_num_queries
):
    lead = lead_of(sdr, **HOT)
    client = login_client(manager)
    count = _queries(client, f"/leads/{lead.pk}/")
    for status in (Status.QUALIFYING, Status.QUALIFIED):
        services.lead_update(org=sdr.organization, lead=lead, actor=sdr, status=status)
    services.lead_reassign(org=sdr.organization, lead=lead, owner_id=manager.pk, actor=manager)
    services.lead_reassign(org=sdr.organization, lead=lead, owner_id=sdr.pk, actor=manager)
    with django_assert_num_queries(count):
        client.get(f"/leads/{lead.pk}/")


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
    services.lead_update(org=org, lead=won, actor=sdr, status=Status.WON)
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
    small = _queries(client, "/leads/team/")
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
        services.breach_acknowledge(org=manager.organization, breach=breach, actor=manager)
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
                                      at=lead.created_at + after)


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
    count = _queries(client, "/leads/sla/")
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

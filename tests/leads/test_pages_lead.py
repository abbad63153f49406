"""A lead's page and its actions: first response, status, qualification and reassignment.
Leads come in through the real intake service."""

from decimal import Decimal

import pytest

from flexoraa.actors import Actor
from flexoraa.models import Role
from leads import services
from leads.models import AssignmentReason, LeadAssignment, Status, Tier
from tests.factories import make_membership
from tests.leads.factories import lost_reason, next_phone
from tests.leads.pages_support import (
    HOT,
    HTMX,
    lead_of,
    page_of,
    query_count,
)

pytestmark = pytest.mark.django_db


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
    assert "Scored 74 (HOT) on what it came in with." in page
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
    reassign = page[page.index('id="reassign-owner"'):]
    reassign = reassign[:reassign.index("</select>")]
    assert f'<option value="{sdr.pk}">' not in reassign  # already the owner


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
    services.lead_update(org=sdr.organization, lead=lead,
                         actor=Actor.for_member(sdr), status=Status.WON)
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
    assert "Rescored from 10 (COLD) to 74 (HOT) after an edit by a person." in fragment
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
    services.lead_update(org=sdr.organization, lead=lead, actor=Actor.for_member(sdr),
                         status=Status.LOST, lost_reason=lost_reason(sdr.organization))
    page = page_of(login_client(manager).get(f"/leads/{lead.pk}/"))
    assert "Hand this lead to" not in page
    response = login_client(manager).post(f"/leads/{lead.pk}/reassign/", {"owner": manager.pk})
    assert response.status_code == 400
    assert "only open leads are reassigned" in page_of(response)


def test_the_detail_page_runs_a_fixed_number_ofquery_count(
    manager, sdr, login_client, django_assert_num_queries
):
    lead = lead_of(sdr, **HOT)
    client = login_client(manager)
    client.get(f"/leads/{lead.pk}/")  # the first visit writes the default lost reasons
    count = query_count(client, f"/leads/{lead.pk}/")
    for status in (Status.QUALIFYING, Status.QUALIFIED):
        services.lead_update(org=sdr.organization, lead=lead,
                             actor=Actor.for_member(sdr), status=status)
    services.lead_reassign(org=sdr.organization, lead=lead, owner_id=manager.pk,
                           actor=Actor.for_member(manager))
    services.lead_reassign(org=sdr.organization, lead=lead, owner_id=sdr.pk,
                           actor=Actor.for_member(manager))
    with django_assert_num_queries(count):
        client.get(f"/leads/{lead.pk}/")

"""The LeadOS API as an integration and as signed-in people use it."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from leads import services
from leads.models import Lead, LeadAssignment, RoutingPoolMember
from tests.factories import SETUP_ACTOR, make_membership
from tests.leads.factories import lost_reason, make_lead
from tests.support import assert_error_shape

pytestmark = pytest.mark.django_db


def signed_in(membership) -> APIClient:
    client = APIClient()
    client.force_login(membership.user)
    return client


def test_an_integration_creates_a_lead_and_gets_it_back_scored_and_routed(key_client, sdr):
    response = key_client.post("/api/leads/", {
        "name": "Asha", "phone": "98765 43210", "email": "asha@example.com",
        "source": "whatsapp", "need": "CRM for 10 reps", "budget_amount": "150000",
        "budget_currency": "INR", "authority": "decision_maker", "timeline": "immediate",
    }, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["merged"] is False
    lead = body["lead"]
    assert lead["phone"] == "+919876543210" and lead["tier"] == "hot"
    assert lead["owner"] == sdr.pk and lead["owner_username"] == sdr.user.username
    assert len(lead["score_breakdown"]["factors"]) == 5
    assert lead["verification"]["phone"]["ok"] is True


def test_the_same_contact_again_answers_200_and_says_it_merged(key_client, sdr):
    key_client.post("/api/leads/", {"email": "dup@example.com"}, format="json")
    again = key_client.post("/api/leads/", {"email": "DUP@example.com", "name": "Dup"},
                            format="json")
    assert again.status_code == 200 and again.json()["merged"] is True
    assert Lead.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phone": "12"}, "phone"),
        ({"email": "nope"}, "email"),
        ({"name": "No contact"}, "phone"),
        ({"email": "a@example.com", "timeline": "someday"}, "timeline"),
        ({"email": "a@example.com", "source": "carrier pigeon"}, "source"),
        ({"email": "a@example.com", "budget_amount": "-1", "budget_currency": "INR"},
         "budget_amount"),
        ({"email": "a@example.com", "tier": "hot"}, "tier"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(key_client, body, field):
    error = assert_error_shape(key_client.post("/api/leads/", body, format="json"), 400)
    assert field in error["fields"], error
    assert not Lead.objects.exists()


def test_an_sdr_sees_and_edits_only_their_own_leads(org, manager):
    first = make_membership(org, capacity=1)
    second = make_membership(org, capacity=1)
    mine = make_lead(org)
    theirs = make_lead(org)
    assert {mine.owner_id, theirs.owner_id} == {first.pk, second.pk}
    if mine.owner_id != first.pk:
        mine, theirs = theirs, mine
    client = signed_in(first)
    listing = client.get("/api/leads/").json()
    assert [row["id"] for row in listing["results"]] == [mine.pk]
    assert_error_shape(client.get(f"/api/leads/{theirs.pk}/"), 404, "not_found")
    assert_error_shape(client.patch(f"/api/leads/{theirs.pk}/", {"need": "x"}, format="json"),
                       404)
    ok = client.patch(f"/api/leads/{mine.pk}/", {"status": "qualifying", "need": "Payroll"},
                      format="json")
    assert ok.status_code == 200 and ok.json()["status"] == "qualifying"


def test_an_sdr_cannot_create_or_reassign_leads(org, sdr, manager):
    client = signed_in(sdr)
    assert_error_shape(client.post("/api/leads/", {"email": "a@example.com"}, format="json"),
                       403)
    lead = make_lead(org)
    assert_error_shape(client.post(f"/api/leads/{lead.pk}/assign/", {"owner": manager.pk},
                                   format="json"), 403)


def test_a_manager_reassigns_and_the_history_shows_why(org, manager, sdr, manager_client):
    lead = make_lead(org)
    response = manager_client.post(f"/api/leads/{lead.pk}/assign/",
                                   {"owner": manager.pk, "note": "VIP"}, format="json")
    assert response.status_code == 200 and response.json()["owner"] == manager.pk
    timeline = manager_client.get(f"/api/leads/{lead.pk}/timeline/").json()
    assert [a["reason"] for a in timeline["assignments"]] == ["manual", "routing"]
    assert timeline["assignments"][0]["detail"] == "VIP"
    assert {"created", "scored", "assigned"} <= {e["kind"] for e in timeline["events"]}


def test_reassigning_to_an_unknown_or_another_tenants_member_is_a_400(
    org, other_org, sdr, key_client
):
    lead = make_lead(org)
    stranger = make_membership(other_org)
    for owner in (stranger.pk, 999_999, "abc"):
        error = assert_error_shape(
            key_client.post(f"/api/leads/{lead.pk}/assign/", {"owner": owner}, format="json"),
            400)
        assert "owner" in error["fields"]
    assert LeadAssignment.objects.filter(lead=lead).count() == 1


def test_a_closed_lead_cannot_be_reassigned(org, sdr, manager, key_client):
    lead = make_lead(org)
    key_client.patch(f"/api/leads/{lead.pk}/", {"status": "won"}, format="json")
    assert_error_shape(key_client.post(f"/api/leads/{lead.pk}/assign/", {"owner": manager.pk},
                                       format="json"), 409, "lead_closed")


def test_a_status_the_lead_cannot_reach_is_a_409_that_says_where_it_can_go(org, sdr, key_client):
    lead = make_lead(org)
    key_client.patch(f"/api/leads/{lead.pk}/",
                     {"status": "lost", "lost_reason": lost_reason(org).pk}, format="json")
    error = assert_error_shape(
        key_client.patch(f"/api/leads/{lead.pk}/", {"status": "won"}, format="json"), 409,
        "status_change_refused")
    assert "qualifying" in error["message"]


def test_first_response_is_recorded_through_the_api(org, sdr):
    lead = make_lead(org)
    response = signed_in(sdr).post(f"/api/leads/{lead.pk}/first-response/", {}, format="json")
    assert response.status_code == 200 and response.json()["first_response_at"]
    assert response.json()["leak_due_at"] is None


def test_filters_search_and_a_tier_that_does_not_exist(org, sdr, key_client):
    make_lead(org, name="Meera Iyer", email="meera@example.com")
    make_lead(org, name="Vikram", need="x", budget_amount=900000, budget_currency="INR",
              authority="decision_maker", timeline="immediate")
    assert [r["name"] for r in key_client.get("/api/leads/?q=meera").json()["results"]] == [
        "Meera Iyer"]
    assert [r["name"] for r in key_client.get("/api/leads/?tier=hot").json()["results"]] == [
        "Vikram"]
    error = assert_error_shape(key_client.get("/api/leads/?tier=lukewarm"), 400)
    assert "tier" in error["fields"]


def test_the_lead_list_costs_the_same_queries_for_5_and_for_40_leads(org, sdr, key_client):
    def count_queries():
        with CaptureQueriesContext(connection) as captured:
            assert key_client.get("/api/leads/?limit=100").status_code == 200
        return len(captured)

    for _ in range(5):
        make_lead(org)
    count_queries()  # the first call also stamps the key's last use
    few = count_queries()
    for _ in range(35):
        make_lead(org)
    assert count_queries() == few


def test_the_sla_report_gives_met_percent_and_percentiles(org, sdr, manager, key_client):
    quick, slow, waiting = make_lead(org), make_lead(org), make_lead(org)

    services.lead_mark_first_response(org=org, lead=quick,
                                      at=quick.created_at + timedelta(minutes=2), actor=SETUP_ACTOR)
    services.lead_mark_first_response(org=org, lead=slow,
                                      at=slow.first_response_due_at + timedelta(hours=1),
                                      actor=SETUP_ACTOR)
    report = key_client.get("/api/leads/sla-report/").json()
    assert (report["answered"], report["met"], report["waiting"]) == (2, 1, 1)
    assert report["met_percent"] == 50.0
    assert report["p50_seconds"] <= report["p90_seconds"]
    own = signed_in(sdr).get(f"/api/leads/sla-report/?owner={manager.pk}").json()
    assert own["answered"] == 2  # an SDR always gets their own figures
    assert_error_shape(key_client.get("/api/leads/sla-report/?days=0"), 400)
    assert_error_shape(key_client.get("/api/leads/sla-report/?owner=999999"), 400)
    assert waiting.first_response_at is None


@pytest.mark.parametrize("days", ["0", "366", "ten", "1.5"])
def test_the_sla_report_refuses_a_number_of_days_out_of_range_naming_it(key_client, days):
    error = assert_error_shape(key_client.get("/api/leads/sla-report/", {"days": days}), 400,
                               "validation_failed")
    assert error["fields"] == {"days": ["Give a whole number of days from 1 to 365."]}


def test_the_sla_report_answers_another_tenants_member_like_one_that_does_not_exist(
        other_org, key_client):
    theirs = make_membership(other_org)
    missing = theirs.pk + 1000
    foreign = key_client.get("/api/leads/sla-report/", {"owner": theirs.pk})
    unknown = key_client.get("/api/leads/sla-report/", {"owner": missing})
    assert (foreign.status_code, foreign.json()) == (unknown.status_code, unknown.json())
    error = assert_error_shape(foreign, 400, "validation_failed")
    assert error["fields"] == {"owner": ["No member of this organization has that id."]}


def test_breaches_are_listed_and_acknowledged_by_managers_only(org, sdr, manager, key_client):
    lead = make_lead(org)
    services.sla_breaches_record(now=timezone.now() + timedelta(days=2))
    breaches = key_client.get("/api/sla-breaches/?acknowledged_at__isnull=true").json()
    assert [b["lead"] for b in breaches["results"]] == [lead.pk]
    breach_id = breaches["results"][0]["id"]
    assert_error_shape(signed_in(sdr).post(f"/api/sla-breaches/{breach_id}/acknowledge/"), 403)
    done = signed_in(manager).post(f"/api/sla-breaches/{breach_id}/acknowledge/")
    assert done.status_code == 200 and done.json()["acknowledged_by"] == manager.pk
    assert key_client.get("/api/sla-breaches/?acknowledged_at__isnull=true").json()[
        "count"] == 0


def test_routing_pools_are_managed_through_the_api(org, other_org, sdr, manager, key_client):
    created = key_client.post("/api/routing-pool-members/", {"tier": "hot", "membership": sdr.pk},
                              format="json")
    assert created.status_code == 201, created.content
    assert_error_shape(key_client.post("/api/routing-pool-members/",
                                       {"tier": "hot", "membership": sdr.pk}, format="json"), 409)
    error = assert_error_shape(key_client.post(
        "/api/routing-pool-members/", {"tier": "lukewarm", "membership": sdr.pk},
        format="json"), 400)
    assert "tier" in error["fields"]
    stranger = make_membership(other_org)
    assert_error_shape(key_client.post("/api/routing-pool-members/",
                                       {"tier": "cold", "membership": stranger.pk},
                                       format="json"), 400)
    not_an_sdr = assert_error_shape(key_client.post(
        "/api/routing-pool-members/", {"tier": "cold", "membership": manager.pk},
        format="json"), 400)
    assert "membership" in not_an_sdr["fields"]
    assert key_client.delete(f"/api/routing-pool-members/{created.json()['id']}/"
                             ).status_code == 204
    assert not RoutingPoolMember.objects.exists()

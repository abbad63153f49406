"""The unassigned queue on the page (/leads/queue/, "Take it") and in the API
(GET /api/leads/unassigned/, POST /api/leads/{id}/claim/)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from flexoraa import services as core_services
from flexoraa.models import Role
from leads import services
from leads.models import Lead, LeadAssignment, Tier
from tests.factories import SETUP_ACTOR, make_membership
from tests.leads.factories import make_lead
from tests.leads.pages_support import HOT, HTMX, WARM, page_of, query_count
from tests.support import assert_error_shape

pytestmark = pytest.mark.django_db


def queued(org, count=1, **values):
    leads = [make_lead(org, **values) for _ in range(count)]
    assert all(lead.owner_id is None for lead in leads)
    return leads


def room_for(org, membership, capacity):
    core_services.membership_update(org=org, membership=membership, actor=SETUP_ACTOR,
                                    capacity=capacity)


def signed_in(membership) -> APIClient:
    client = APIClient()
    client.force_login(membership.user)
    return client


@pytest.fixture
def full_sdr(org):
    """An SDR with no room, so every lead that comes in waits in the queue."""
    return make_membership(org, role=Role.SDR, capacity=0)


# --- the page ------------------------------------------------------------------------------

def test_the_queue_page_lists_waiting_leads_soonest_target_first_with_time_left(
    org, manager, full_sdr, login_client
):
    later, sooner = queued(org, 2)
    Lead.objects.filter(pk=later.pk).update(
        name="Later Lata", first_response_due_at=timezone.now() + timedelta(hours=3))
    Lead.objects.filter(pk=sooner.pk).update(
        name="Sooner Sunil", first_response_due_at=timezone.now() - timedelta(minutes=12))

    page = page_of(login_client(manager).get("/leads/queue/"))

    assert page.index("Sooner Sunil") < page.index("Later Lata")
    assert "overdue by 12 min" in page or "overdue by 11 min" in page
    assert "due in 2 h 59 min" in page or "due in 3 h" in page
    assert page.count(">Take it</button>") == 2
    assert f'hx-post="/leads/queue/{sooner.pk}/take/"' in page
    assert "2 leads waiting" in page
    assert '<a href="/leads/queue/" aria-current="page">Unassigned queue</a>' in page


def test_an_sdr_sees_only_the_tiers_whose_pool_includes_them(org, manager, full_sdr, login_client):
    hot_sdr = make_membership(org, capacity=0)
    services.routing_pool_member_add(org=org, tier=Tier.HOT, membership=hot_sdr,
                                     actor=SETUP_ACTOR)
    (hot,) = queued(org, 1, name="Hot Hema", **HOT)
    (warm,) = queued(org, 1, name="Warm Wasim", **WARM)

    theirs = page_of(login_client(full_sdr).get("/leads/queue/"))
    assert "Warm Wasim" in theirs and "Hot Hema" not in theirs
    assert "You see the WARM, COLD leads: the pools you are in." in theirs
    assert f'/leads/{warm.pk}/"' not in theirs  # no link to a page they cannot open
    assert "You are at capacity" in theirs
    assert "Hot Hema" in page_of(login_client(hot_sdr).get("/leads/queue/"))
    assert hot.tier == Tier.HOT


def test_the_queue_page_costs_the_same_queries_for_5_and_for_45_leads(
    org, manager, full_sdr, login_client, django_assert_num_queries
):
    queued(org, 5)
    clients = {member.pk: login_client(member) for member in (manager, full_sdr)}
    counts = {pk: query_count(client, "/leads/queue/") for pk, client in clients.items()}
    queued(org, 40, **WARM)
    make_membership(org, capacity=0)
    for pk, client in clients.items():
        with django_assert_num_queries(counts[pk]):
            client.get("/leads/queue/")


def test_take_it_with_htmx_answers_the_row_and_the_lead_is_theirs(
    org, manager, full_sdr, login_client
):
    (lead,) = queued(org)
    room_for(org, full_sdr, 1)
    response = login_client(full_sdr).post(f"/leads/queue/{lead.pk}/take/", headers=HTMX)
    assert response.status_code == 200
    row = page_of(response)
    assert 'data-testid="queue-row-taken"' in row and "is yours now." in row
    assert f'href="/leads/{lead.pk}/"' in row
    assert Lead.objects.get(pk=lead.pk).owner_id == full_sdr.pk
    assert LeadAssignment.objects.get(lead=lead).reason == "claim"


def test_take_it_without_scripts_redirects_to_the_lead(org, manager, full_sdr, login_client):
    (lead,) = queued(org)
    response = login_client(manager).post(f"/leads/queue/{lead.pk}/take/")
    assert response.status_code == 302 and response["Location"] == f"/leads/{lead.pk}/"
    assert Lead.objects.get(pk=lead.pk).owner_id == manager.pk


def test_take_it_when_someone_else_took_it_a_moment_ago_says_so_in_the_row(
    org, manager, full_sdr, login_client
):
    (lead,) = queued(org)
    services.lead_claim(org=org, lead=lead, actor=manager_actor(manager))
    room_for(org, full_sdr, 1)
    row = page_of(login_client(full_sdr).post(f"/leads/queue/{lead.pk}/take/", headers=HTMX))
    assert "Someone else took this lead a moment ago." in row
    assert ">Take it</button>" not in row
    assert Lead.objects.get(pk=lead.pk).owner_id == manager.pk


def test_take_it_at_capacity_is_refused_on_the_page(org, manager, full_sdr, login_client):
    (lead,) = queued(org)
    client = login_client(full_sdr)
    row = page_of(client.post(f"/leads/queue/{lead.pk}/take/", headers=HTMX))
    assert "You are at capacity" in row and ">Take it</button>" in row
    response = client.post(f"/leads/queue/{lead.pk}/take/", follow=True)
    assert "You are at capacity" in page_of(response)
    assert Lead.objects.get(pk=lead.pk).owner_id is None


def test_another_tenants_lead_is_a_404_on_the_page_action(org, manager, login_client,
                                                           outsider_lead):
    response = login_client(manager).post(f"/leads/queue/{outsider_lead.pk}/take/")
    assert response.status_code == 404
    assert Lead.objects.get(pk=outsider_lead.pk).owner_id == outsider_lead.owner_id


def test_the_dashboard_banner_tells_managers_how_many_leads_wait(
    org, manager, full_sdr, login_client
):
    client = login_client(manager)
    assert "hidden" in page_of(client.get("/leads/queue/banner/", headers=HTMX))
    queued(org, 3)
    banner = page_of(client.get("/leads/queue/banner/", headers=HTMX))
    assert "3 leads</strong> wait in the unassigned queue" in banner
    assert 'hx-get="/leads/queue/banner/" hx-trigger="load"' in page_of(client.get("/"))
    assert login_client(full_sdr).get("/leads/queue/banner/").status_code == 403


# --- the API -------------------------------------------------------------------------------

def manager_actor(manager):
    from flexoraa.actors import Actor

    return Actor.for_member(manager)


def test_the_api_lists_the_queue_soonest_target_first(org, manager, full_sdr, key_client):
    first, second = queued(org, 2)
    Lead.objects.filter(pk=first.pk).update(
        first_response_due_at=timezone.now() + timedelta(hours=2))
    Lead.objects.filter(pk=second.pk).update(
        first_response_due_at=timezone.now() + timedelta(hours=1))
    make_membership(org, capacity=1)
    make_lead(org)  # routed: not in the queue
    body = key_client.get("/api/leads/unassigned/").json()
    assert [row["id"] for row in body["results"]] == [second.pk, first.pk]
    assert body["count"] == 2 and all(row["owner"] is None for row in body["results"])


def test_an_sdr_lists_only_the_queued_tiers_they_may_take(org, manager, full_sdr):
    hot_sdr = make_membership(org, capacity=0)
    services.routing_pool_member_add(org=org, tier=Tier.HOT, membership=hot_sdr,
                                     actor=SETUP_ACTOR)
    (hot,) = queued(org, 1, **HOT)
    (cold,) = queued(org, 1)
    listed = signed_in(full_sdr).get("/api/leads/unassigned/").json()["results"]
    assert [row["id"] for row in listed] == [cold.pk]
    listed = signed_in(hot_sdr).get("/api/leads/unassigned/?tier=hot").json()["results"]
    assert [row["id"] for row in listed] == [hot.pk]


def test_the_unassigned_list_costs_the_same_queries_for_5_and_for_40_leads(
    org, manager, full_sdr, key_client
):
    def count_queries():
        with CaptureQueriesContext(connection) as captured:
            assert key_client.get("/api/leads/unassigned/?limit=100").status_code == 200
        return len(captured)

    queued(org, 5)
    count_queries()  # the first call also stamps the key's last use
    few = count_queries()
    queued(org, 35, **WARM)
    assert count_queries() == few


def test_an_sdr_claims_through_the_api(org, manager, full_sdr):
    (lead,) = queued(org)
    room_for(org, full_sdr, 1)
    response = signed_in(full_sdr).post(f"/api/leads/{lead.pk}/claim/")
    assert response.status_code == 200, response.content
    assert response.json()["owner"] == full_sdr.pk


def test_a_claim_through_the_api_at_capacity_or_after_someone_else_is_a_409(
    org, manager, full_sdr
):
    (lead,) = queued(org)
    error = assert_error_shape(signed_in(full_sdr).post(f"/api/leads/{lead.pk}/claim/"), 409,
                               "at_capacity")
    assert error["message"].startswith("You are at capacity")
    assert signed_in(manager).post(f"/api/leads/{lead.pk}/claim/").status_code == 200
    room_for(org, full_sdr, 1)
    error = assert_error_shape(signed_in(full_sdr).post(f"/api/leads/{lead.pk}/claim/"), 409,
                               "lead_taken")
    assert error["message"] == "Someone else took this lead a moment ago."


def test_an_integration_cannot_claim_and_another_tenants_lead_is_a_404(
    org, manager, full_sdr, key_client, outsider_lead
):
    (lead,) = queued(org)
    assert_error_shape(key_client.post(f"/api/leads/{lead.pk}/claim/"), 403,
                       "permission_denied")
    assert_error_shape(signed_in(manager).post(f"/api/leads/{outsider_lead.pk}/claim/"), 404,
                       "not_found")
    assert_error_shape(key_client.post("/api/leads/not-a-number/claim/"), 404, "not_found")


def test_the_schema_documents_the_queue_endpoints(key_client, manager_client):
    schema = manager_client.get("/api/schema/?format=json").json()
    claim = schema["paths"]["/api/leads/{id}/claim/"]["post"]
    assert {"200", "403", "404", "409"} <= set(claim["responses"])
    listing = schema["paths"]["/api/leads/unassigned/"]["get"]
    assert {"limit", "offset", "tier"} <= {p["name"] for p in listing["parameters"]}

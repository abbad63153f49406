"""A lead moves to lost only with one of its tenant's lost reasons (the page, the API and the
bulk change alike); the reason shows on the lead and in its timeline; each tenant starts from
a default list its managers edit in the console. And a new lead becomes contacted when the
first reply goes out, once."""

import pytest
from django.test import Client

from agents.models import MessageStatus, SenderKind
from agents.services import outbound
from flexoraa.actors import Actor
from flexoraa.errors import Conflict, ValidationFailed
from flexoraa.models import Role
from leads import services
from leads.models import Lead, LeadEvent, LostReason, Status
from tests.agents.factories import make_conversation
from tests.factories import SETUP_ACTOR, UserFactory, make_membership
from tests.leads.factories import lost_reason, make_lead
from tests.leads.pages_support import HTMX, lead_of, page_of
from tests.support import assert_error_shape

pytestmark = pytest.mark.django_db


def lose(lead, by, **values):
    return services.lead_update(org=lead.organization, lead=lead, actor=Actor.for_member(by),
                                status=Status.LOST, **values)


# --- the list -------------------------------------------------------------------------------

def test_a_tenant_starts_from_the_default_list_written_once(org, other_org):
    first = services.lost_reason_choices(org=org)
    again = services.lost_reason_choices(org=org)
    assert [reason.label for reason in first] == list(services.DEFAULT_LOST_REASONS)
    assert [reason.pk for reason in again] == [reason.pk for reason in first]
    assert LostReason.objects.for_org(org).count() == len(services.DEFAULT_LOST_REASONS)
    assert not LostReason.objects.for_org(other_org).exists()


def test_a_tenant_with_its_own_list_keeps_it_and_retired_reasons_are_not_offered(org):
    kept = services.lost_reason_create(org=org, label="Chose to build it", actor=SETUP_ACTOR)
    retired = services.lost_reason_create(org=org, label="Old reason", actor=SETUP_ACTOR,
                                          is_active=False)
    assert services.lost_reason_choices(org=org) == [kept]
    with pytest.raises(ValidationFailed):
        services.lost_reason_resolve(org=org, value=retired.pk)
    with pytest.raises(Conflict):
        services.lost_reason_create(org=org, label="chose to BUILD it", actor=SETUP_ACTOR)


# --- the service ----------------------------------------------------------------------------

def test_lost_needs_a_reason_naming_the_field(org, sdr):
    lead = lead_of(sdr)
    with pytest.raises(ValidationFailed) as refused:
        lose(lead, sdr)
    assert refused.value.fields == {"lost_reason": ["Choose why the lead was lost."]}
    assert Lead.objects.get(pk=lead.pk).status == Status.NEW


@pytest.mark.parametrize("value", ["x", -1, 2**70, "1; drop table"])
def test_a_reason_that_is_no_id_is_refused_naming_the_field(org, sdr, value):
    with pytest.raises(ValidationFailed) as refused:
        lose(lead_of(sdr), sdr, lost_reason=value)
    assert list(refused.value.fields) == ["lost_reason"]


def test_another_tenants_reason_is_refused_like_one_that_does_not_exist(org, other_org, sdr):
    lead = lead_of(sdr)
    theirs = lost_reason(other_org)
    with pytest.raises(ValidationFailed) as foreign:
        lose(lead, sdr, lost_reason=theirs.pk)
    with pytest.raises(ValidationFailed) as missing:
        lose(lead, sdr, lost_reason=987654)
    assert foreign.value.fields == missing.value.fields == {
        "lost_reason": ["No lost reason of this organization has that id."]}
    with pytest.raises(ValidationFailed):
        lose(lead, sdr, lost_reason=theirs)  # the row itself, not only its id
    assert Lead.objects.get(pk=lead.pk).status == Status.NEW


def test_the_reason_is_kept_on_the_lead_and_its_timeline_and_cleared_when_it_reopens(org, sdr):
    lead = lead_of(sdr)
    reason = lost_reason(org, "Went with a competitor")
    lead = lose(lead, sdr, lost_reason=reason.pk)
    assert (lead.status, lead.lost_reason_id) == (Status.LOST, reason.pk)
    event = LeadEvent.objects.filter(lead=lead, kind=LeadEvent.Kind.STATUS).latest("id")
    assert event.data == {"to": "lost", "lost_reason": reason.pk,
                          "lost_reason_label": "Went with a competitor"}
    # Renamed later: the timeline keeps the words it was lost for.
    services.lost_reason_update(org=org, reason=reason, label="Competitor", actor=SETUP_ACTOR)
    other = lost_reason(org, "No budget")
    lead = services.lead_update(org=org, lead=lead, actor=Actor.for_member(sdr),
                                lost_reason=other)
    assert lead.lost_reason_id == other.pk
    lead = services.lead_update(org=org, lead=lead, actor=Actor.for_member(sdr),
                                status=Status.QUALIFYING)
    assert lead.lost_reason_id is None


def test_a_reason_for_a_lead_that_is_not_lost_is_refused(org, sdr):
    lead = lead_of(sdr)
    with pytest.raises(ValidationFailed) as refused:
        services.lead_update(org=org, lead=lead, actor=Actor.for_member(sdr),
                             status=Status.QUALIFYING, lost_reason=lost_reason(org))
    assert list(refused.value.fields) == ["lost_reason"]


def test_a_reason_in_use_is_retired_not_deleted(org, sdr):
    reason = lost_reason(org)
    lose(lead_of(sdr), sdr, lost_reason=reason)
    with pytest.raises(Conflict, match="retire it instead"):
        services.lost_reason_delete(org=org, reason=reason, actor=SETUP_ACTOR)
    unused = lost_reason(org, "Stopped responding")
    services.lost_reason_delete(org=org, reason=unused, actor=SETUP_ACTOR)
    assert LostReason.objects.filter(pk=reason.pk).exists()


def test_the_bulk_change_to_lost_needs_one_of_the_tenants_reasons(org, other_org, manager, sdr):
    leads = [lead_of(sdr), lead_of(sdr)]
    ids = [lead.pk for lead in leads]
    actor = Actor.for_member(manager)
    for value in (None, lost_reason(other_org).pk):
        with pytest.raises(ValidationFailed) as refused:
            services.leads_status_change_bulk(org=org, lead_ids=ids, status=Status.LOST,
                                              actor=actor, lost_reason=value)
        assert list(refused.value.fields) == ["lost_reason"]
    assert set(Lead.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
        Status.NEW}
    reason = lost_reason(org)
    result = services.leads_status_change_bulk(org=org, lead_ids=ids, status=Status.LOST,
                                               actor=actor, lost_reason=reason.pk)
    assert result.changed == 2
    assert set(Lead.objects.filter(pk__in=ids).values_list("lost_reason", flat=True)) == {
        reason.pk}


# --- the page -------------------------------------------------------------------------------

def test_the_status_card_asks_why_and_the_lead_shows_the_reason(org, sdr, login_client):
    lead = lead_of(sdr)
    client = login_client(sdr)
    page = page_of(client.get(f"/leads/{lead.pk}/"))
    assert 'name="lost_reason"' in page
    for label in services.DEFAULT_LOST_REASONS:
        assert f">{label}</option>" in page

    refused = page_of(client.post(f"/leads/{lead.pk}/status/", {"status": "lost"},
                                  headers=HTMX))
    assert 'id="status-error">Choose why the lead was lost.<' in refused
    assert '<option value="lost" selected>' in refused

    reason = lost_reason(org, "Not the right time")
    done = page_of(client.post(f"/leads/{lead.pk}/status/",
                               {"status": "lost", "lost_reason": reason.pk}, headers=HTMX))
    assert "Status changed." in done and 'data-testid="lost-reason">Lost: Not the right time<' in (
        done)
    page = page_of(client.get(f"/leads/{lead.pk}/"))
    assert 'data-testid="lead-lost-reason">(Not the right time)<' in page
    assert "Status changed to lost: Not the right time." in page


def test_a_reason_chosen_with_another_status_is_ignored_on_the_page(org, sdr, login_client):
    lead = lead_of(sdr)
    response = login_client(sdr).post(f"/leads/{lead.pk}/status/", {
        "status": "qualifying", "lost_reason": lost_reason(org).pk}, headers=HTMX)
    assert "Status changed." in page_of(response)
    assert Lead.objects.get(pk=lead.pk).lost_reason_id is None


def test_the_team_queues_bulk_change_to_lost_asks_why(org, manager, sdr, login_client):
    leads = [lead_of(sdr), lead_of(sdr)]
    client = login_client(manager)
    assert 'name="lost_reason"' in page_of(client.get("/leads/team/"))
    refused = client.post("/leads/team/", {"action": "status", "status": "lost",
                                           "lead": [lead.pk for lead in leads]}, follow=True)
    assert "Choose why the lead was lost." in page_of(refused)
    moved = client.post("/leads/team/", {"action": "status", "status": "lost",
                                         "lost_reason": lost_reason(org).pk,
                                         "lead": [lead.pk for lead in leads]}, follow=True)
    assert "Moved 2 leads to Lost." in page_of(moved)


# --- the API --------------------------------------------------------------------------------

def test_the_api_lists_the_reasons_and_needs_one_for_lost(org, other_org, sdr, key_client):
    lead = lead_of(sdr)
    listed = key_client.get("/api/lost-reasons/").json()["results"]
    assert [row["label"] for row in listed] == list(services.DEFAULT_LOST_REASONS)
    error = assert_error_shape(key_client.patch(f"/api/leads/{lead.pk}/", {"status": "lost"},
                                                format="json"), 400, "validation_failed")
    assert error["fields"] == {"lost_reason": ["Choose why the lead was lost."]}
    foreign = assert_error_shape(key_client.patch(
        f"/api/leads/{lead.pk}/", {"status": "lost", "lost_reason": lost_reason(other_org).pk},
        format="json"), 400)
    assert foreign["fields"] == {
        "lost_reason": ["No lost reason of this organization has that id."]}
    done = key_client.patch(f"/api/leads/{lead.pk}/",
                            {"status": "lost", "lost_reason": listed[1]["id"]}, format="json")
    assert done.status_code == 200, done.content
    assert (done.json()["lost_reason"], done.json()["lost_reason_label"]) == (
        listed[1]["id"], listed[1]["label"])


def test_another_tenants_reason_is_not_found_in_the_api(org, other_org, key_client):
    theirs = lost_reason(other_org)
    assert_error_shape(key_client.get(f"/api/lost-reasons/{theirs.pk}/"), 404, "not_found")


# --- the console ----------------------------------------------------------------------------

def test_a_manager_finds_the_default_list_in_the_console_and_adds_one(org):
    manager = make_membership(org, role=Role.MANAGER,
                              user=UserFactory(username="meera", is_staff=True))
    client = Client()
    client.force_login(manager.user)
    listing = client.get("/admin/leads/lostreason/")
    assert listing.status_code == 200
    assert "Went with a competitor" in page_of(listing)
    added = client.post("/admin/leads/lostreason/add/", {"label": "Chose to build it",
                                                         "position": 70, "is_active": "on"})
    assert added.status_code == 302, page_of(added)[:2000]
    assert LostReason.objects.for_org(org).filter(label="Chose to build it").exists()


# --- contacted on the first reply -----------------------------------------------------------

def test_the_first_response_makes_a_new_lead_contacted_once(org, sdr):
    lead = lead_of(sdr)
    lead = services.lead_mark_first_response(org=org, lead=lead, actor=Actor.for_member(sdr))
    assert lead.status == Status.CONTACTED
    services.lead_mark_first_response(org=org, lead=lead, actor=Actor.for_member(sdr))
    (event,) = LeadEvent.objects.filter(lead=lead, kind=LeadEvent.Kind.STATUS)
    assert event.data == {"to": "contacted", "on": "first_response"}
    assert event.actor_id == sdr.pk


def test_a_lead_past_new_keeps_its_status_on_the_first_response(org, sdr):
    lead = services.lead_update(org=org, lead=lead_of(sdr), actor=Actor.for_member(sdr),
                                status=Status.QUALIFYING)
    lead = services.lead_mark_first_response(org=org, lead=lead, actor=Actor.for_member(sdr))
    assert lead.status == Status.QUALIFYING


def test_a_reps_first_reply_through_the_send_service_makes_the_lead_contacted(org, sdr):
    from django.utils import timezone

    lead = lead_of(sdr)
    conversation = make_conversation(org, lead=lead, last_inbound_at=timezone.now())
    message = outbound.message_send(org=org, conversation=conversation, sender=SenderKind.SDR,
                                    author=sdr, text="Hello!")
    assert message.status == MessageStatus.QUEUED
    lead.refresh_from_db()
    assert lead.status == Status.CONTACTED and lead.first_response_at == message.created_at
    # The AI's or the platform's message is not a person's first reply.
    other = make_lead(org)
    chat = make_conversation(org, lead=other, last_inbound_at=timezone.now())
    outbound.message_send(org=org, conversation=chat, sender=SenderKind.AI, text="Hi there")
    other.refresh_from_db()
    assert other.status == Status.NEW

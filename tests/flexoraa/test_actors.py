"""Who acts: the typed Actor, what the audit log records of it, and the console's writes
going through services with the person who made them."""

from dataclasses import FrozenInstanceError, replace
from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from flexoraa import audit_chain, selectors, services
from flexoraa.actors import Actor, ActorKind
from flexoraa.errors import Conflict, ValidationFailed
from flexoraa.models import AuditEvent, Membership, Organization, Role
from leads import services as lead_services
from leads import tasks as lead_tasks
from leads.models import Lead, LeadAssignment, Status
from tests.factories import make_audit_event, make_membership
from tests.leads.factories import lost_reason, make_lead

# --- the value -------------------------------------------------------------------------------


def test_a_system_actor_is_named_by_a_code_and_labelled_with_it():
    actor = Actor.system("webhook:razorpay")
    assert actor.kind is ActorKind.SYSTEM and actor.is_system
    assert (actor.user_id, actor.api_key_id, actor.system_name) == (None, None, "webhook:razorpay")
    assert actor.label == "system:webhook:razorpay" == str(actor)
    assert Actor.system("job:leads.sla_check") != actor
    assert Actor.system("webhook:razorpay") == actor
    with pytest.raises(FrozenInstanceError):
        actor.system_name = "job:other"


@pytest.mark.parametrize("name", ["", "Webhook", "jane doe", "jane@example.test", "job:",
                                  "x" * 65, None])
def test_a_system_name_that_is_not_a_code_is_refused(name):
    # Free text could carry a person's name or address into the audit log.
    with pytest.raises(ValueError, match="code"):
        Actor.system(name)


@pytest.mark.django_db
def test_a_member_actor_holds_the_person_and_the_membership(org, sdr):
    actor = Actor.for_member(sdr)
    assert actor.is_user and not actor.is_system
    assert (actor.user_id, actor.membership_id, actor.organization_id, actor.api_key_id) == (
        sdr.user_id, sdr.pk, org.pk, None)
    assert actor.membership is sdr
    assert actor.label == f"user:{sdr.user_id}"


@pytest.mark.django_db
def test_an_api_key_actor_holds_the_key_and_its_tenant(org, api_key):
    actor = Actor.for_api_key(api_key[0])
    assert actor.is_api_key
    assert (actor.api_key_id, actor.organization_id, actor.user_id) == (api_key[0].pk, org.pk, None)
    assert actor.label == f"api_key:{api_key[0].pk}"


@pytest.mark.django_db
def test_a_user_actor_takes_only_their_own_membership(org, sdr, manager):
    assert Actor.for_user(sdr.user, sdr) == Actor.for_member(sdr)
    with pytest.raises(ValueError, match="someone else"):
        Actor.for_user(sdr.user, manager)


def test_an_actor_of_two_kinds_at_once_cannot_be_built():
    with pytest.raises(ValueError, match="Inconsistent"):
        Actor(kind=ActorKind.SYSTEM, system_name="job:x", user_id=3)
    with pytest.raises(ValueError, match="Inconsistent"):
        Actor(kind=ActorKind.USER)


# --- the audit log ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_membership_is_recorded_as_its_person_never_as_the_system(org, manager, sdr):
    services.membership_update(org=org, membership=sdr, actor=Actor.for_member(manager),
                               capacity=7)
    event = AuditEvent.objects.for_org(org).get(action="membership.updated")
    assert (event.actor_user_id, event.actor_api_key_id, event.actor_system) == (
        manager.user_id, None, "")


@pytest.mark.django_db
def test_a_membership_in_place_of_an_actor_is_refused_not_recorded_as_the_system(org, manager):
    before = AuditEvent.objects.count()
    with pytest.raises(TypeError, match="Actor"):
        services.audit_event_record(org=org, actor=manager, action="test.event")
    with pytest.raises(TypeError, match="Actor"):
        services.audit_event_record(org=org, actor=None, action="test.event")
    assert AuditEvent.objects.count() == before


@pytest.mark.django_db
def test_the_system_is_recorded_by_name_and_the_chain_verifies(org):
    event = make_audit_event(org, actor=Actor.system("job:leads.sla_check"))
    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.actor_user_id, stored.actor_api_key_id, stored.actor_system) == (
        None, None, "job:leads.sla_check")
    assert selectors.audit_chain_first_break(org) is None


@pytest.mark.django_db
def test_an_api_key_is_recorded_as_the_key(org, api_key):
    event = make_audit_event(org, actor=Actor.for_api_key(api_key[0]))
    assert (event.actor_user_id, event.actor_api_key_id, event.actor_system) == (
        None, api_key[0].pk, "")


def _link(prev_hash, i, **overrides):
    content = dict(organization_id=1, actor_user_id=None, actor_api_key_id=None, action="a.b",
                   target_type="", target_id="", data={},
                   created_at=datetime(2026, 1, 1, 12, 0, i, tzinfo=UTC))
    content.update(overrides)
    digest = audit_chain.link_hash(prev_hash=prev_hash, **content)
    return audit_chain.ChainLink(id=i, prev_hash=prev_hash, hash=digest, **content)


def test_an_event_hashed_before_the_system_name_existed_keeps_its_hash():
    # The hash of an event without a system name is the one the log used before the name
    # was added: the same nine values, nothing more.
    canonical_before = audit_chain.link_hash(
        prev_hash=audit_chain.GENESIS_HASH, organization_id=1, actor_user_id=None,
        actor_api_key_id=None, action="a.b", target_type="", target_id="", data={},
        created_at=datetime(2026, 1, 1, 12, 0, 1, tzinfo=UTC))
    assert _link(audit_chain.GENESIS_HASH, 1).hash == canonical_before
    assert _link(audit_chain.GENESIS_HASH, 1, actor_system="job:x").hash != canonical_before


def test_a_chain_of_old_and_named_events_verifies_and_an_edited_name_breaks_it():
    first = _link(audit_chain.GENESIS_HASH, 1)
    second = _link(first.hash, 2, actor_system="webhook:razorpay")
    third = _link(second.hash, 3)
    assert audit_chain.first_break([first, second, third]) is None
    renamed = replace(second, actor_system="job:leads.sla_check")
    assert audit_chain.first_break([first, renamed, third]) == audit_chain.ChainBreak(
        2, "its content no longer matches its hash")
    dropped = replace(second, actor_system="")
    assert audit_chain.first_break([first, dropped, third]).event_id == 2


@pytest.mark.django_db
def test_the_database_refuses_an_event_with_two_actors(org, manager):
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditEvent.objects.create(
            organization=org, actor_user_id=manager.user_id, actor_system="job:x",
            action="a.b", created_at=datetime(2026, 1, 1, tzinfo=UTC), prev_hash="0" * 64,
            hash="1" * 64,
        )


# --- built once per request ------------------------------------------------------------------


@pytest.mark.django_db
def test_an_api_request_acts_as_its_key(org, sdr, api_key, key_client):
    response = key_client.patch(f"/api/memberships/{sdr.pk}/", {"capacity": 3}, format="json")
    assert response.status_code == 200, response.content
    event = AuditEvent.objects.for_org(org).get(action="membership.updated")
    assert (event.actor_api_key_id, event.actor_user_id) == (api_key[0].pk, None)


@pytest.mark.django_db
def test_a_page_acts_as_the_signed_in_member(org, sdr, login_client):
    response = login_client(sdr).post("/availability/")
    assert response.status_code == 302
    event = AuditEvent.objects.for_org(org).get(action="membership.updated")
    assert (event.actor_user_id, event.actor_system) == (sdr.user_id, "")


@pytest.mark.django_db
def test_the_sla_job_acts_as_itself(org, sdr):
    lead = make_lead(org)
    Lead.objects.filter(pk=lead.pk).update(
        first_response_due_at=datetime(2026, 1, 1, tzinfo=UTC))
    lead_tasks.sla_check()
    event = AuditEvent.objects.for_org(org).get(action="lead.sla_breached")
    assert (event.actor_user_id, event.actor_system) == (None, "job:leads.sla_check")


# --- the console writes through services -----------------------------------------------------


@pytest.fixture
def console(client, manager):
    client.force_login(manager.user)
    return client


@pytest.mark.django_db
def test_a_member_added_in_the_console_is_one_service_call_with_the_manager_as_actor(
        console, org, manager):
    response = console.post("/admin/flexoraa/membership/add/", {
        "username": "newrep", "email": "newrep@example.test", "password": "Lead-Hunter-2026",
        "role": "sdr", "capacity": 7, "is_available": "on",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    membership = Membership.objects.get(user__username="newrep")
    event = AuditEvent.objects.for_org(org).get(action="membership.created",
                                                target_id=str(membership.pk))
    assert (event.target_id, event.actor_user_id) == (str(membership.pk), manager.user_id)
    assert "newrep" not in str(event.data)  # ids and codes only


@pytest.mark.django_db
def test_member_invite_writes_the_login_and_the_membership_or_neither(org, manager):
    taken = manager.user.username
    users = get_user_model().objects.count()
    with pytest.raises(ValidationFailed, match="capacity"):
        services.member_invite(org=org, username="someone", email="s@example.test",
                               password="Lead-Hunter-2026", capacity=-1,
                               actor=Actor.for_member(manager))
    with pytest.raises(Conflict, match="taken"):
        services.member_invite(org=org, username=taken.upper(), email="s@example.test",
                               password="Lead-Hunter-2026", actor=Actor.for_member(manager))
    with pytest.raises(ValidationFailed, match="password"):
        services.member_invite(org=org, username="someone", email="s@example.test",
                               password="123", actor=Actor.for_member(manager))
    assert get_user_model().objects.count() == users


@pytest.mark.django_db
def test_the_organization_saved_in_the_console_is_audited_with_the_manager(console, org,
                                                                             manager):
    response = console.post(f"/admin/flexoraa/organization/{org.pk}/change/", {
        "name": "Acme Renamed", "timezone": "Europe/Berlin", "country": "DE",
        "business_hours": "{}", "settings": "{}",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    org.refresh_from_db()
    assert (org.name, org.timezone, org.country) == ("Acme Renamed", "Europe/Berlin", "DE")
    event = AuditEvent.objects.for_org(org).get(action="organization.updated")
    assert event.actor_user_id == manager.user_id
    assert event.data == {"fields": ["country", "name", "timezone"]}  # never the new name


@pytest.mark.django_db
def test_organization_update_refuses_what_the_model_refuses_and_writes_nothing(org, manager):
    actor = Actor.for_member(manager)
    with pytest.raises(ValidationFailed, match="timezone"):
        services.organization_update(org=org, actor=actor, timezone="Mars/Olympus")
    with pytest.raises(ValidationFailed, match="Cannot change"):
        services.organization_update(org=org, actor=actor, created_at=None)
    assert services.organization_update(org=org, actor=actor, name=org.name).name == org.name
    assert not AuditEvent.objects.for_org(org).filter(action="organization.updated").exists()
    assert Organization.objects.get(pk=org.pk).timezone == "Asia/Kolkata"


@pytest.mark.django_db
def test_bulk_reassign_moves_the_open_leads_in_one_go_and_leaves_the_rest(org, other_org,
                                                                          manager):
    open_leads = [make_lead(org) for _ in range(3)]
    closed = make_lead(org)
    lead_services.lead_update(org=org, lead=closed, actor=Actor.for_member(manager),
                              status=Status.LOST, lost_reason=lost_reason(org))
    elsewhere = make_lead(other_org)
    taker = make_membership(org, role=Role.SDR, capacity=50)  # joins after routing

    result = lead_services.leads_reassign_bulk(
        org=org, lead_ids=[lead.pk for lead in [*open_leads, closed, elsewhere]],
        owner_id=taker.pk, actor=Actor.for_member(manager), note="holiday cover")

    assert (result.moved, result.closed, result.not_found) == (3, 1, 1)
    assert set(Lead.objects.filter(owner=taker).values_list("pk", flat=True)) == {
        lead.pk for lead in open_leads}
    events = AuditEvent.objects.for_org(org).filter(action="lead.reassigned")
    assert events.count() == 3
    assert set(events.values_list("actor_user_id", flat=True)) == {manager.user_id}
    assert LeadAssignment.objects.filter(lead__in=open_leads, actor=manager).count() == 3
    elsewhere.refresh_from_db()
    assert elsewhere.owner_id != taker.pk


@pytest.mark.django_db
def test_bulk_reassign_to_someone_outside_the_tenant_moves_nothing(org, other_org, manager):
    outsider = make_membership(other_org)
    leads = [make_lead(org) for _ in range(2)]
    owners = {lead.pk: lead.owner_id for lead in leads}
    with pytest.raises(ValidationFailed, match="owner"):
        lead_services.leads_reassign_bulk(org=org, lead_ids=list(owners), owner_id=outsider.pk,
                                          actor=Actor.for_member(manager))
    assert dict(Lead.objects.filter(pk__in=owners).values_list("pk", "owner_id")) == owners


@pytest.mark.django_db
def test_the_console_reassign_action_goes_through_the_bulk_service(console, org, manager):
    leads = [make_lead(org) for _ in range(2)]
    taker = make_membership(org, role=Role.SDR, capacity=50)  # joins after routing
    response = console.post("/admin/leads/lead/", {
        "action": "reassign_leads", "apply": "1", "owner": taker.pk, "note": "",
        "_selected_action": [lead.pk for lead in leads],
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Lead.objects.filter(owner=taker).count() == 2
    assert set(AuditEvent.objects.for_org(org).filter(action="lead.reassigned")
               .values_list("actor_user_id", flat=True)) == {manager.user_id}


@pytest.mark.django_db
def test_the_audit_log_api_names_the_system_actor(org, key_client):
    make_audit_event(org, action="test.system", actor=Actor.system("job:leads.leakage_scan"))
    rows = key_client.get("/api/audit-events/", {"action": "test.system"}).json()["results"]
    assert [(row["actor_user"], row["actor_api_key"], row["actor_system"]) for row in rows] == [
        (None, None, "job:leads.leakage_scan")]


@pytest.mark.django_db
def test_a_superuser_without_a_membership_acts_in_the_console_as_themself(admin_client,
                                                                         admin_user):
    response = admin_client.post("/admin/flexoraa/organization/add/", {
        "name": "Fresh Co", "slug": "fresh", "timezone": "Asia/Kolkata", "country": "IN",
        "business_hours": "{}", "settings": "{}",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    fresh = Organization.objects.get(slug="fresh")
    event = AuditEvent.objects.for_org(fresh).get(action="organization.created")
    assert (event.actor_user_id, event.actor_system) == (admin_user.pk, "")

    member = make_membership(fresh, role=Role.SDR, capacity=3)
    response = admin_client.post(f"/admin/flexoraa/membership/{member.pk}/change/", {
        "role": "sdr", "capacity": 9, "is_available": "on",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    event = AuditEvent.objects.for_org(fresh).get(action="membership.updated")
    assert (event.actor_user_id, event.data) == (admin_user.pk, {"capacity": 9})

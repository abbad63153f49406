"""The unassigned queue: it fills when nobody in a tier's pool has room, drains (soonest
first-response target first) the moment someone has room, and a member can pick a lead from
it by hand. Leads come in through the real intake service."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from flexoraa import services as core_services
from flexoraa.actors import Actor
from flexoraa.capacity import capacity_listeners
from flexoraa.errors import PermissionDenied
from flexoraa.models import AuditEvent, JobRun, Role
from flexoraa.selectors import audit_chain_first_break
from leads import errors, selectors, services, tasks
from leads.errors import LeadClosed
from leads.models import AssignmentReason, Lead, LeadAssignment, LeadEvent, Tier
from leads.services.queue import _DrainLater, capacity_freed
from tests.factories import SETUP_ACTOR, make_membership
from tests.leads.factories import lost_reason, make_lead
from tests.leads.pages_support import HOT, WARM

pytestmark = pytest.mark.django_db

LATER = timedelta(days=3)


def queued(org, count, **values):
    """``count`` leads that nobody had room for, in the order they came in."""
    leads = [make_lead(org, **values) for _ in range(count)]
    assert all(lead.owner_id is None for lead in leads)
    return leads


def due_in(lead, minutes):
    """Gives the queued lead a first-response target ``minutes`` from now."""
    Lead.objects.filter(pk=lead.pk).update(
        first_response_due_at=timezone.now() + timedelta(minutes=minutes))


def owner_of(lead):
    return Lead.objects.values_list("owner_id", flat=True).get(pk=lead.pk)


def open_count(membership):
    return Lead.objects.filter(owner=membership, status__in=selectors.OPEN_STATUSES).count()


def update_member(org, membership, **changes):
    return core_services.membership_update(org=org, membership=membership, actor=SETUP_ACTOR,
                                           **changes)


# --- filling -------------------------------------------------------------------------------

def test_the_queue_fills_when_the_pool_is_full_and_no_manager_becomes_the_overflow(org, manager):
    sdr = make_membership(org, capacity=2)
    routed = [make_lead(org) for _ in range(2)]
    waiting = queued(org, 3)
    assert {lead.owner_id for lead in routed} == {sdr.pk}
    assert open_count(manager) == 0
    assert list(selectors.unassigned_leads(org)) == waiting
    assert LeadAssignment.objects.for_org(org).count() == 2  # the routed ones only


# --- draining ------------------------------------------------------------------------------

def test_a_lead_that_closes_gives_its_sdr_the_next_queued_lead_in_sla_order(org, manager):
    sdr = make_membership(org, capacity=1)
    worked = make_lead(org)
    later, sooner = queued(org, 2)
    due_in(later, 50)
    due_in(sooner, 10)
    services.lead_update(org=org, lead=worked, actor=Actor.for_member(sdr), status="won")

    assert services.unassigned_queue_drain(org=org) == {"assigned": 1}

    assert owner_of(sooner) == sdr.pk and owner_of(later) is None
    assignment = LeadAssignment.objects.for_org(org).get(lead=sooner)
    assert (assignment.reason, assignment.from_owner_id, assignment.to_owner_id) == (
        AssignmentReason.QUEUE, None, sdr.pk)
    assert assignment.detail == "Room freed in the COLD pool."
    lead = Lead.objects.get(pk=sooner.pk)
    assert lead.assigned_at is not None and lead.leak_due_at > lead.assigned_at
    event = LeadEvent.objects.for_org(org).get(lead=sooner, kind=LeadEvent.Kind.ASSIGNED)
    assert event.data["reason"] == AssignmentReason.QUEUE and event.data["to"] == sdr.pk
    assert AuditEvent.objects.for_org(org).get(action="lead.assigned").data == {
        "to": sdr.pk, "reason": "queue"}
    assert audit_chain_first_break(org) is None


def test_closing_a_lead_drains_the_queue_after_commit(
    org, manager, django_capture_on_commit_callbacks, celery_eager
):
    sdr = make_membership(org, capacity=1)
    worked = make_lead(org)
    (waiting,) = queued(org, 1)
    with django_capture_on_commit_callbacks(execute=True):
        services.lead_update(org=org, lead=worked, actor=Actor.for_member(sdr), status="lost",
                             lost_reason=lost_reason(org))
    assert owner_of(waiting) == sdr.pk


def test_an_sdr_turning_available_takes_queued_leads_at_once(
    org, manager, django_capture_on_commit_callbacks, celery_eager
):
    away = make_membership(org, capacity=2, is_available=False)
    first, second, third = queued(org, 3)
    with django_capture_on_commit_callbacks(execute=True):
        update_member(org, away, is_available=True)
    assert [owner_of(lead) for lead in (first, second, third)] == [away.pk, away.pk, None]
    assert open_count(away) == 2


def test_raising_capacity_takes_queued_leads_soonest_target_first(
    org, manager, django_capture_on_commit_callbacks, celery_eager
):
    sdr = make_membership(org, capacity=0)
    leads = queued(org, 4)
    for lead, minutes in zip(leads, (40, 10, 30, 20), strict=True):
        due_in(lead, minutes)
    with django_capture_on_commit_callbacks(execute=True):
        update_member(org, sdr, capacity=2)
    assert [owner_of(lead) for lead in leads] == [None, sdr.pk, None, sdr.pk]
    with django_capture_on_commit_callbacks(execute=True):
        update_member(org, sdr, capacity=3)
    assert [owner_of(lead) for lead in leads] == [None, sdr.pk, sdr.pk, sdr.pk]


def test_a_change_that_frees_no_room_drains_nothing(
    org, manager, django_capture_on_commit_callbacks
):
    sdr = make_membership(org, capacity=3)
    with django_capture_on_commit_callbacks() as callbacks:
        update_member(org, sdr, capacity=2)
        update_member(org, sdr, is_available=False)
    assert callbacks == []
    with django_capture_on_commit_callbacks() as callbacks:
        update_member(org, sdr, is_available=True)
    assert len(callbacks) == 1


def test_leads_registers_its_drain_with_the_core():
    assert capacity_freed in capacity_listeners()


def test_a_new_sdr_joining_takes_queued_leads(
    org, manager, django_capture_on_commit_callbacks, celery_eager
):
    waiting = queued(org, 2)
    with django_capture_on_commit_callbacks(execute=True):
        newcomer = make_membership(org, capacity=5)
    assert {owner_of(lead) for lead in waiting} == {newcomer.pk}


def test_reassigning_a_lead_away_gives_the_freed_slot_to_the_queue(
    org, manager, django_capture_on_commit_callbacks, celery_eager
):
    sdr = make_membership(org, capacity=1)
    worked = make_lead(org)
    (waiting,) = queued(org, 1)
    with django_capture_on_commit_callbacks(execute=True):
        services.lead_reassign(org=org, lead=worked, owner_id=manager.pk,
                               actor=Actor.for_member(manager))
    assert owner_of(worked) == manager.pk and owner_of(waiting) == sdr.pk


def test_many_reasons_to_drain_in_one_transaction_enqueue_one_drain(
    org, manager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        for _ in range(3):
            services.queue_drain_after_commit(org.pk)
    assert [callback.org_id for callback in callbacks if isinstance(callback, _DrainLater)] == [
        org.pk]


def test_a_rolled_back_change_enqueues_no_drain(org, django_capture_on_commit_callbacks):
    with (django_capture_on_commit_callbacks() as callbacks, pytest.raises(RuntimeError),
          transaction.atomic()):
        services.queue_drain_after_commit(org.pk)
        raise RuntimeError("rolled back")
    assert callbacks == []


def test_the_drain_follows_each_tiers_pool_and_reaches_past_leads_it_cannot_place(org, manager):
    hot_only = make_membership(org, capacity=0)
    everyone = make_membership(org, capacity=0)
    services.routing_pool_member_add(org=org, tier=Tier.HOT, membership=hot_only,
                                     actor=SETUP_ACTOR)
    services.routing_pool_member_add(org=org, tier=Tier.WARM, membership=everyone,
                                     actor=SETUP_ACTOR)
    hot = queued(org, 3, **HOT)
    warm = queued(org, 2, **WARM)
    for lead in warm:
        due_in(lead, 60 * 24)  # behind every HOT lead
    # Only the WARM pool gets room: the three HOT leads at the head of the queue wait.
    update_member(org, everyone, capacity=2)
    assert services.unassigned_queue_drain(org=org) == {"assigned": 2}
    assert [owner_of(lead) for lead in warm] == [everyone.pk, everyone.pk]
    assert all(owner_of(lead) is None for lead in hot)
    update_member(org, hot_only, capacity=1)
    assert services.unassigned_queue_drain(org=org) == {"assigned": 1}
    assert owner_of(hot[0]) == hot_only.pk


def test_the_drain_spreads_queued_leads_by_the_weighted_round_robin(org, manager):
    small = make_membership(org, capacity=0)
    large = make_membership(org, capacity=0)
    queued(org, 12)
    update_member(org, small, capacity=4)
    update_member(org, large, capacity=8)
    assert services.unassigned_queue_drain(org=org) == {"assigned": 12}
    assert (open_count(small), open_count(large)) == (4, 8)
    assert not selectors.unassigned_leads(org).exists()


def test_a_drain_when_nobody_has_room_reads_no_lead_and_writes_nothing(
    org, manager, django_assert_max_num_queries
):
    make_membership(org, capacity=0)
    queued(org, 5)
    # Its savepoint, the routing lock and the routing state (members, open counts, pools,
    # credits): no lead is read.
    with django_assert_max_num_queries(7):
        assert services.unassigned_queue_drain(org=org) == {"assigned": 0}
    assert AuditEvent.objects.for_org(org).filter(action="lead.assigned").count() == 0


def test_the_drain_costs_the_same_queries_for_3_and_for_30_leads(
    org, manager, django_assert_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    sdr = make_membership(org, capacity=0)
    queued(org, 3)
    update_member(org, sdr, capacity=3)
    with CaptureQueriesContext(connection) as few:
        assert services.unassigned_queue_drain(org=org) == {"assigned": 3}
    queued(org, 30)
    update_member(org, sdr, capacity=33)
    with django_assert_num_queries(len(few)):
        assert services.unassigned_queue_drain(org=org) == {"assigned": 30}


def test_the_drain_never_touches_another_tenants_queue(org, other_org, manager):
    make_membership(org, capacity=0)
    theirs_sdr = make_membership(other_org, capacity=0)
    make_membership(other_org, role=Role.MANAGER)
    (theirs,) = queued(other_org, 1)
    queued(org, 1)
    update_member(other_org, theirs_sdr, capacity=1)
    assert services.unassigned_queue_drain(org=org) == {"assigned": 0}
    assert owner_of(theirs) is None


# --- the every-minute backstop -------------------------------------------------------------

def test_the_sweep_drains_every_tenant_that_has_queued_leads(org, other_org, manager):
    mine = make_membership(org, capacity=0)
    theirs = make_membership(other_org, capacity=0)
    make_membership(other_org, role=Role.MANAGER)
    (my_lead,) = queued(org, 1)
    (their_lead,) = queued(other_org, 1)
    update_member(org, mine, capacity=1)
    update_member(other_org, theirs, capacity=1)
    assert tasks.unassigned_queue_sweep.apply().get() == {"organizations": 2, "assigned": 2}
    assert (owner_of(my_lead), owner_of(their_lead)) == (mine.pk, theirs.pk)
    run = JobRun.objects.get(name="leads.unassigned_queue_sweep")
    assert run.outcome == "succeeded" and run.detail["assigned"] == 2


def test_the_sweep_over_empty_queues_is_one_indexed_query(org, manager, django_assert_num_queries):
    make_membership(org, capacity=5)
    for _ in range(3):
        make_lead(org)  # all routed: nothing waits
    with django_assert_num_queries(1):
        assert services.unassigned_queues_drain() == {"organizations": 0, "assigned": 0}


def test_the_sweep_is_declared_every_minute():
    from flexoraa.jobs import declared_jobs

    (job,) = [job for job in declared_jobs() if job.name == "leads.unassigned_queue_sweep"]
    assert job.every == timedelta(minutes=1) and job.task == "leads.unassigned_queue_sweep"


def test_the_drain_task_takes_a_tenant_id_and_ignores_one_that_is_gone(org, manager):
    sdr = make_membership(org, capacity=0)
    (waiting,) = queued(org, 1)
    update_member(org, sdr, capacity=1)
    assert tasks.unassigned_queue_drain.name == "flexoraa.leads.unassigned_queue_drain"
    assert tasks.unassigned_queue_drain.apply(args=[org.pk]).get() == {"assigned": 1}
    assert owner_of(waiting) == sdr.pk
    assert tasks.unassigned_queue_drain.apply(args=[10**9]).get() == {"assigned": 0}


# --- picking by hand -----------------------------------------------------------------------

def test_an_sdr_with_room_takes_a_queued_lead_and_the_history_says_so(org, manager):
    full = make_membership(org, capacity=0)
    (waiting,) = queued(org, 1)
    update_member(org, full, capacity=1)
    lead = services.lead_claim(org=org, lead=waiting, actor=Actor.for_member(full))
    assert lead.owner_id == full.pk and lead.leak_due_at is not None
    assignment = LeadAssignment.objects.for_org(org).get(lead=lead)
    assert (assignment.reason, assignment.actor_id, assignment.detail) == (
        AssignmentReason.CLAIM, full.pk, "Picked from the unassigned queue.")
    assert AuditEvent.objects.for_org(org).get(action="lead.claimed").data == {
        "to": full.pk, "reason": "claim"}
    # Taking it again changes nothing.
    services.lead_claim(org=org, lead=lead, actor=Actor.for_member(full))
    assert LeadAssignment.objects.for_org(org).filter(lead=lead).count() == 1


def test_a_claim_at_capacity_is_refused_and_says_why(org, manager):
    sdr = make_membership(org, capacity=1)
    make_lead(org)
    (waiting,) = queued(org, 1)
    with pytest.raises(errors.AtCapacity) as refused:
        services.lead_claim(org=org, lead=waiting, actor=Actor.for_member(sdr))
    assert refused.value.status_code == 409 and refused.value.code == "at_capacity"
    assert refused.value.message == (
        "You are at capacity: you hold 1 open lead of a capacity of 1. Close or hand on a lead "
        "before taking another.")
    assert owner_of(waiting) is None


def test_the_second_claim_of_a_lead_gets_the_conflict(org, manager):
    first = make_membership(org, capacity=0)
    second = make_membership(org, capacity=0)
    (waiting,) = queued(org, 1)
    update_member(org, first, capacity=1)
    update_member(org, second, capacity=1)
    services.lead_claim(org=org, lead=waiting, actor=Actor.for_member(first))
    with pytest.raises(errors.LeadTaken) as refused:
        services.lead_claim(org=org, lead=waiting, actor=Actor.for_member(second))
    assert refused.value.message == "Someone else took this lead a moment ago."
    assert refused.value.status_code == 409
    assert owner_of(waiting) == first.pk


def test_a_manager_takes_a_queued_lead_of_any_tier(org, manager):
    hot_sdr = make_membership(org, capacity=0)
    services.routing_pool_member_add(org=org, tier=Tier.HOT, membership=hot_sdr,
                                     actor=SETUP_ACTOR)
    (waiting,) = queued(org, 1, **HOT)
    assert services.lead_claim(org=org, lead=waiting,
                               actor=Actor.for_member(manager)).owner_id == manager.pk


def test_an_sdr_outside_the_tiers_pool_cannot_take_its_lead(org, manager):
    hot_sdr = make_membership(org, capacity=0)
    other = make_membership(org, capacity=5)
    services.routing_pool_member_add(org=org, tier=Tier.HOT, membership=hot_sdr,
                                     actor=SETUP_ACTOR)
    (waiting,) = queued(org, 1, **HOT)
    with pytest.raises(PermissionDenied, match=r"Only SDRs in the HOT pool take HOT leads\."):
        services.lead_claim(org=org, lead=waiting, actor=Actor.for_member(other))
    assert services.queue_tiers_for(org, other) == [Tier.WARM, Tier.COLD]
    assert services.queue_tiers_for(org, hot_sdr) == list(Tier.values)


def test_an_integration_or_a_closed_lead_cannot_be_claimed(org, manager, api_key):
    sdr = make_membership(org, capacity=0)
    (waiting,) = queued(org, 1)
    with pytest.raises(PermissionDenied):
        services.lead_claim(org=org, lead=waiting, actor=Actor.for_api_key(api_key[0]))
    services.lead_update(org=org, lead=waiting, actor=Actor.for_member(manager), status="lost",
                         lost_reason=lost_reason(org))
    update_member(org, sdr, capacity=1)
    with pytest.raises(LeadClosed):
        services.lead_claim(org=org, lead=Lead.objects.get(pk=waiting.pk),
                            actor=Actor.for_member(sdr))


def test_another_tenants_lead_cannot_be_claimed(org, manager, outsider_lead):
    from flexoraa.errors import NotFound

    with pytest.raises(NotFound):
        services.lead_claim(org=org, lead=outsider_lead, actor=Actor.for_member(manager))


# --- leakage -------------------------------------------------------------------------------

def test_a_leaking_lead_whose_owner_is_away_waits_in_the_queue_and_is_drained_when_room_frees(
    org, manager, django_capture_on_commit_callbacks, celery_eager
):
    owner = make_membership(org, capacity=5)
    other = make_membership(org, capacity=0)
    lead = make_lead(org)
    assert lead.owner_id == owner.pk
    update_member(org, owner, is_available=False)

    with django_capture_on_commit_callbacks(execute=True):
        result = services.leaking_leads_move(now=timezone.now() + LATER)
    assert result == {"moved": 0, "escalated": 0, "queued": 1, "kept": 0, "released": 0}
    lead.refresh_from_db()
    assert (lead.owner_id, lead.assigned_at, lead.leak_due_at, lead.leak_moves) == (
        None, None, None, 1)
    event = LeadEvent.objects.for_org(org).get(lead=lead, kind=LeadEvent.Kind.QUEUED)
    assert event.data["reason"] == "leakage" and event.data["from"] == owner.pk
    assert event.data["detail"] == ("The owner did not act in time and is away; no other SDR in "
                                    "the COLD pool has room.")
    assert AuditEvent.objects.for_org(org).filter(action="lead.queued").count() == 1
    assert open_count(manager) == 0

    with django_capture_on_commit_callbacks(execute=True):
        update_member(org, other, capacity=1)
    assert owner_of(lead) == other.pk


def test_a_leaking_lead_moves_to_an_sdr_with_room_before_it_would_wait(org, manager):
    owner = make_membership(org, capacity=5)
    lead = make_lead(org)
    other = make_membership(org, capacity=5)
    update_member(org, owner, is_available=False)
    result = services.leaking_leads_move(now=timezone.now() + LATER)
    assert result["moved"] == 1 and owner_of(lead) == other.pk


def test_after_the_maximum_a_leaking_lead_escalates_to_a_manager_who_is_told(
    org, manager, settings, django_capture_on_commit_callbacks, celery_eager
):
    from django.core import mail

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    services.lead_settings_update(org=org, actor=SETUP_ACTOR, max_leak_moves=1)
    only = make_membership(org, capacity=5)
    lead = make_lead(org)
    with django_capture_on_commit_callbacks(execute=True):
        first = services.leaking_leads_move(now=timezone.now() + LATER)
        second = services.leaking_leads_move(now=timezone.now() + LATER * 3)
    assert (first["kept"], second["escalated"]) == (1, 1)
    assignment = LeadAssignment.objects.for_org(org).filter(lead=lead).first()
    assert (assignment.reason, assignment.from_owner_id, assignment.to_owner_id) == (
        AssignmentReason.ESCALATION, only.pk, manager.pk)
    assert [m.subject for m in mail.outbox] == ["[Acme Leads] 1 lead was escalated to you"]

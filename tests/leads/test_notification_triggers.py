"""What LeadOS tells people in their notification centre: a lead assigned to them (routing,
re-routing, the queue, leakage, escalation, a manager's hand), a HOT lead (at intake or on a
rise), and a first response about to be late (the every-minute SLA warning job), each once,
after the use case commits, never what they did themselves."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from flexoraa.actors import Actor
from flexoraa.models import JobRun, Notification, NotificationKind, Role
from leads import services, tasks
from leads.models import Lead, LeadAssignment, Source, Tier
from leads.schedules import SCHEDULES
from leads.services.sla_warning import sla_warnings_send
from tests.factories import SETUP_ACTOR, make_membership
from tests.leads.factories import make_lead
from tests.leads.pages_support import HOT, WARM
from tests.support import errors_of, needs_postgres, run_together

pytestmark = pytest.mark.django_db

ASSIGNED = NotificationKind.LEAD_ASSIGNED
HOT_KIND = NotificationKind.LEAD_HOT
WARNING = NotificationKind.SLA_WARNING


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Runs the after-commit work of what happens inside, as a real commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def told(member, kind=None):
    notifications = Notification.objects.filter(recipient=member)
    if kind is not None:
        notifications = notifications.filter(kind=kind)
    return list(notifications.order_by("id"))


def pools(org, **members_by_tier):
    for tier, members in members_by_tier.items():
        for member in members:
            services.routing_pool_member_add(org=org, tier=tier, membership=member,
                                             actor=SETUP_ACTOR)


# --- HOT leads -------------------------------------------------------------------------------

def test_a_hot_lead_taken_in_tells_its_owner_once_with_what_they_need(org, sdr, committed):
    with committed():
        lead = make_lead(org, name="Priya Sharma", source=Source.WHATSAPP, **HOT)
    assert lead.tier == Tier.HOT and lead.owner_id == sdr.pk
    (notification,) = told(sdr)  # HOT says it is theirs too: no second, "assigned" one
    assert notification.kind == HOT_KIND
    assert notification.title == "HOT lead: Priya Sharma (WhatsApp) — budget ₹2 L"
    assert "needs: A CRM for 20 reps" in notification.body
    assert "timeline: this week" in notification.body
    assert "First response due within 5 min." in notification.body
    assert notification.url == f"/leads/{lead.pk}/"
    assert notification.dedupe_key.startswith(f"lead:{lead.pk}:hot:")


def test_a_hot_lead_nobody_has_room_for_tells_the_managers(org, manager, committed):
    owner = make_membership(org, role=Role.OWNER)
    make_membership(org, capacity=0)
    with committed():
        lead = make_lead(org, name="Queued Quinn", **HOT)
    assert lead.owner_id is None
    for member in (manager, owner):
        (notification,) = told(member, HOT_KIND)
        assert "unassigned queue" in notification.body


def test_nothing_is_told_before_the_commit(org, sdr, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        make_lead(org, **HOT)
    assert callbacks and told(sdr) == []


def test_a_rep_who_enters_a_lead_routed_to_themself_is_not_told(org, sdr, committed):
    with committed():
        lead = make_lead(org, source=Source.MANUAL, actor=Actor.for_member(sdr), **HOT)
    assert lead.owner_id == sdr.pk
    assert told(sdr) == []


def test_a_rise_to_hot_tells_the_owner_once_per_rise(org, sdr, manager, committed):
    lead = make_lead(org, name="Rising Ravi", **WARM)
    assert lead.tier == Tier.WARM
    edit = Actor.for_member(manager)
    with committed():
        lead = services.lead_update(org=org, lead=lead, actor=edit, **HOT)
    assert lead.tier == Tier.HOT
    assert [n.kind for n in told(sdr)] == [HOT_KIND]
    with committed():
        lead = services.lead_update(org=org, lead=lead, actor=edit, budget_amount=Decimal("20000"),
                                    timeline="later")
        assert lead.tier != Tier.HOT
        lead = services.lead_update(org=org, lead=lead, actor=edit, **HOT)
    assert [n.kind for n in told(sdr)] == [HOT_KIND, HOT_KIND]
    assert told(manager) == []  # the manager made the change


def test_a_rise_to_hot_that_moves_the_lead_tells_the_new_owner_once(org, manager, committed):
    cold_rep = make_membership(org, capacity=10)
    hot_rep = make_membership(org, capacity=10)
    pools(org, hot=[hot_rep], warm=[cold_rep], cold=[cold_rep])
    lead = make_lead(org, **WARM)
    assert lead.owner_id == cold_rep.pk
    with committed():
        lead = services.lead_update(org=org, lead=lead, actor=Actor.for_member(manager), **HOT)
    assert lead.owner_id == hot_rep.pk
    assert [n.kind for n in told(hot_rep)] == [HOT_KIND]
    assert told(cold_rep, HOT_KIND) == []


def test_a_rise_short_of_hot_that_moves_the_lead_tells_the_new_owner_it_is_theirs(
    org, manager, committed
):
    cold_rep = make_membership(org, capacity=10)
    warm_rep = make_membership(org, capacity=10)
    pools(org, warm=[warm_rep], cold=[cold_rep])
    lead = make_lead(org)
    assert (lead.tier, lead.owner_id) == (Tier.COLD, cold_rep.pk)
    with committed():
        lead = services.lead_update(org=org, lead=lead, actor=Actor.for_member(manager), **WARM)
    (notification,) = told(warm_rep)
    assert notification.kind == ASSIGNED
    assert notification.title.startswith("Lead assigned to you: ")
    assert "Re-routed when its tier rose" in notification.body


# --- assignments -----------------------------------------------------------------------------

def test_a_routed_lead_tells_its_owner_it_is_theirs(org, sdr, committed):
    with committed():
        lead = make_lead(org, name="Cold Carla", email="carla@example.test")
    (notification,) = told(sdr)
    assignment = LeadAssignment.objects.get(lead=lead)
    assert (notification.kind, notification.title) == (
        ASSIGNED, "Lead assigned to you: Cold Carla (API)")
    assert notification.dedupe_key == f"lead:{lead.pk}:assigned:{assignment.pk}"
    assert notification.body.startswith("Routing")


def test_a_managers_reassignment_tells_the_new_owner_but_not_a_manager_taking_it(
    org, sdr, other_sdr, manager, committed
):
    lead = make_lead(org)
    by_manager = Actor.for_member(manager)
    with committed():
        services.lead_reassign(org=org, lead=lead, owner_id=other_sdr.pk, actor=by_manager,
                               note="Ravi speaks Tamil")
        services.lead_reassign(org=org, lead=lead, owner_id=manager.pk, actor=by_manager)
    (notification,) = told(other_sdr)
    assert "Reassigned by a manager: Ravi speaks Tamil" in notification.body
    assert told(manager) == []


def test_a_bulk_reassignment_tells_the_new_owner_of_each_lead(org, sdr, other_sdr, manager,
                                                              committed):
    leads = [make_lead(org) for _ in range(4)]
    moving = [lead for lead in leads if lead.owner_id != other_sdr.pk]
    with committed():
        services.leads_reassign_bulk(org=org, lead_ids=[lead.pk for lead in leads],
                                     owner_id=other_sdr.pk, actor=Actor.for_member(manager))
    # Routing gave the others to them already: nothing new to tell of those.
    assert moving and len(moving) < len(leads)
    assert sorted(n.url for n in told(other_sdr, ASSIGNED)) == sorted(
        f"/leads/{lead.pk}/" for lead in moving)


def test_the_queue_tells_whom_it_drains_to_but_not_who_takes_a_lead(org, manager, committed):
    rep = make_membership(org, capacity=0)
    queued = [make_lead(org) for _ in range(2)]
    assert all(lead.owner_id is None for lead in queued)
    with committed():
        services.lead_claim(org=org, lead=queued[0], actor=Actor.for_member(manager))
    assert told(manager, ASSIGNED) == []
    rep.capacity = 5
    rep.save(update_fields=["capacity"])
    with committed():
        assert services.unassigned_queue_drain(org=org) == {"assigned": 1}
    (notification,) = told(rep)
    assert notification.url == f"/leads/{queued[1].pk}/"
    assert "From the unassigned queue" in notification.body


def test_leakage_tells_the_next_owner_and_escalation_tells_the_manager(org, manager, committed):
    first = make_membership(org, capacity=10)
    second = make_membership(org, capacity=10)
    lead = make_lead(org)
    assert lead.owner_id == first.pk
    with committed():
        services.leaking_leads_move(now=timezone.now() + timedelta(days=3))
    (moved,) = told(second)
    assert moved.title.startswith("Lead assigned to you: ")
    assert "Leakage prevention" in moved.body
    Lead.objects.filter(pk=lead.pk).update(leak_moves=10)
    with committed():
        services.leaking_leads_move(now=timezone.now() + timedelta(days=9))
    (escalated,) = told(manager)
    assert escalated.title.startswith("Lead escalated to you: ")


# --- the SLA warning -------------------------------------------------------------------------

def test_intake_sets_the_warning_at_80_percent_of_the_first_response_time(org, sdr):
    lead = make_lead(org, **HOT)
    start = lead.first_response_due_at - timedelta(minutes=5)
    assert lead.first_response_warn_at == start + timedelta(minutes=4)


def test_the_warning_job_tells_the_owner_once_at_80_percent(org, sdr, committed):
    lead = make_lead(org, name="Priya Sharma", **HOT)
    Notification.objects.all().delete()
    early = lead.first_response_warn_at - timedelta(seconds=1)
    assert sla_warnings_send(now=early) == {"warned": 0}
    now = lead.first_response_warn_at + timedelta(seconds=1)
    with committed():
        assert sla_warnings_send(now=now) == {"warned": 1}
        assert sla_warnings_send(now=now) == {"warned": 0}
    (warning,) = told(sdr)
    assert warning.kind == WARNING
    assert warning.title == "First response due soon: Priya Sharma (API)"
    assert "80 % of its first-response time has passed" in warning.body
    assert "(Asia/Kolkata), in 1 min" in warning.body
    assert warning.dedupe_key == f"lead:{lead.pk}:sla80:{lead.first_response_due_at.isoformat()}"
    lead.refresh_from_db()
    assert lead.first_response_warn_at is None


def test_a_job_run_twice_creates_each_warning_once_even_when_the_time_comes_back(org, sdr):
    leads = [make_lead(org, **HOT) for _ in range(3)]
    Notification.objects.all().delete()
    now = max(lead.first_response_warn_at for lead in leads) + timedelta(seconds=1)
    assert sla_warnings_send(now=now, chunk=2) == {"warned": 3}
    for lead in leads:  # as if the warning time were written again for the same clock
        Lead.objects.filter(pk=lead.pk).update(first_response_warn_at=lead.first_response_warn_at)
    assert sla_warnings_send(now=now) == {"warned": 0}
    assert len(told(sdr, WARNING)) == 3


def test_no_warning_for_a_lead_answered_breached_closed_or_unheld(org, sdr):
    answered, breached, closed, unheld, waiting = (make_lead(org, **HOT) for _ in range(5))
    services.lead_mark_first_response(org=org, lead=answered, actor=Actor.for_member(sdr))
    now = max(lead.first_response_warn_at for lead in (answered, breached, closed, unheld,
                                                        waiting)) + timedelta(seconds=1)
    Lead.objects.filter(pk=breached.pk).update(sla_breached_at=now)
    Lead.objects.filter(pk=closed.pk).update(status="won")
    Lead.objects.filter(pk=unheld.pk).update(owner=None)
    assert sla_warnings_send(now=now) == {"warned": 1}
    assert [n.url for n in told(sdr, WARNING)] == [f"/leads/{waiting.pk}/"]
    assert not Lead.objects.filter(first_response_warn_at__isnull=False).exists()


def test_a_warning_time_past_the_deadline_is_left_to_the_breach(org, sdr):
    lead = make_lead(org, **HOT)
    assert sla_warnings_send(now=lead.first_response_due_at + timedelta(seconds=1)) == {
        "warned": 0}


def test_a_tightened_clock_is_warned_on_its_own_deadline(org, sdr, manager):
    lead = make_lead(org, **WARM)
    warm_deadline = lead.first_response_due_at
    lead = services.lead_update(org=org, lead=lead, actor=Actor.for_member(manager), **HOT)
    assert lead.first_response_due_at < warm_deadline
    assert lead.first_response_warn_at == lead.first_response_due_at - timedelta(minutes=1)
    assert sla_warnings_send(now=lead.first_response_warn_at + timedelta(seconds=1)) == {
        "warned": 1}
    (warning,) = told(sdr, WARNING)
    assert warning.dedupe_key.endswith(lead.first_response_due_at.isoformat())


def test_the_warning_job_runs_every_minute_under_its_lease(org, sdr):
    (job,) = [job for job in SCHEDULES if job.name == "leads.sla_warning"]
    assert job.task == "leads.sla_warning" and job.every == timedelta(minutes=1)
    make_lead(org, **HOT)
    Lead.objects.update(first_response_warn_at=timezone.now() - timedelta(seconds=1))
    assert tasks.sla_warning.apply().get() == {"warned": 1}
    run = JobRun.objects.get(name="leads.sla_warning")
    assert run.outcome == "succeeded" and run.detail == {"warned": 1}


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_two_warning_jobs_at_once_warn_each_lead_once(org, manager):
    reps = [make_membership(org, capacity=100) for _ in range(2)]
    leads = [make_lead(org, **HOT) for _ in range(40)]
    now = max(lead.first_response_warn_at for lead in leads) + timedelta(seconds=1)
    # Bypass the job lease: the row locks and the dedupe key alone keep each warning single.
    outcomes = run_together(2, lambda _index: sla_warnings_send(now=now, chunk=7))
    assert errors_of(outcomes) == []
    assert sum(outcome["warned"] for outcome in outcomes) == 40
    warnings = Notification.objects.filter(kind=WARNING)
    assert warnings.count() == 40
    assert set(warnings.values_list("recipient_id", flat=True)) <= {rep.pk for rep in reps}
    assert warnings.values("dedupe_key").distinct().count() == 40

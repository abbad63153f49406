"""The periodic watches: SLA breaches recorded once and escalated, leaking leads moved on."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from flexoraa.actors import Actor
from flexoraa.models import AuditEvent, JobRun, Role
from flexoraa.selectors import audit_chain_first_break
from leads import services, tasks
from leads.models import AssignmentReason, Lead, LeadAssignment, LeadEvent, SlaBreach
from tests.factories import SETUP_ACTOR, make_membership
from tests.leads.factories import lost_reason, make_lead
from tests.support import errors_of, needs_postgres, run_together

pytestmark = pytest.mark.django_db

LATER = timedelta(days=3)
# The leakage scan's result when it had nothing to do.
NOTHING = {"moved": 0, "escalated": 0, "queued": 0, "kept": 0, "released": 0}


def test_a_lead_past_its_target_is_breached_once_and_the_managers_are_told(
    org, manager, sdr, settings, django_capture_on_commit_callbacks, celery_eager
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    late = make_lead(org)
    answered = make_lead(org)
    services.lead_mark_first_response(org=org, lead=answered, actor=SETUP_ACTOR)
    future = make_lead(org)
    now = late.first_response_due_at + timedelta(seconds=1)
    Lead.objects.filter(pk=future.pk).update(first_response_due_at=now + timedelta(hours=1))

    with django_capture_on_commit_callbacks(execute=True):
        assert services.sla_breaches_record(now=now) == {"breaches": 1, "organizations": 1}
        assert services.sla_breaches_record(now=now) == {"breaches": 0, "organizations": 0}

    breach = SlaBreach.objects.for_org(org).get()
    assert (breach.lead_id, breach.owner_id, breach.tier) == (late.pk, sdr.pk, late.tier)
    late.refresh_from_db()
    assert late.sla_breached_at == now
    assert LeadEvent.objects.for_org(org).filter(kind="sla_breached").count() == 1
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [manager.user.email]
    assert "1 lead missed the first-response target" in mail.outbox[0].subject
    assert "/leads/team/" in mail.outbox[0].body
    assert AuditEvent.objects.for_org(org).get(action="lead.sla_breached").data == {
        "lead_ids": [late.pk]}
    assert audit_chain_first_break(org) is None


def test_a_closed_lead_is_never_breached(org, sdr):
    lead = make_lead(org)
    services.lead_update(org=org, lead=lead, actor=Actor.for_member(sdr), status="lost",
                         lost_reason=lost_reason(org))
    assert services.sla_breaches_record(now=timezone.now() + LATER)["breaches"] == 0


def test_one_email_per_tenant_however_many_breaches(
    org, other_org, manager, sdr, settings, django_capture_on_commit_callbacks, celery_eager
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    make_membership(other_org, role=Role.MANAGER)
    for _ in range(3):
        make_lead(org)
    make_lead(other_org)
    with django_capture_on_commit_callbacks(execute=True):
        result = services.sla_breaches_record(now=timezone.now() + LATER, chunk=2)
    assert result == {"breaches": 4, "organizations": 2}
    assert sorted(len(m.to) for m in mail.outbox) == [1, 1]
    assert any("3 leads missed" in m.subject for m in mail.outbox)


def test_the_sla_task_runs_under_the_job_lease_and_is_recorded(org, sdr):
    make_lead(org)
    Lead.objects.update(first_response_due_at=timezone.now() - timedelta(minutes=1))
    assert tasks.sla_check.apply().get() == {"breaches": 1, "organizations": 1}
    run = JobRun.objects.get(name="leads.sla_check")
    assert run.outcome == "succeeded" and run.detail["breaches"] == 1


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_two_sla_checks_at_once_record_each_breach_once(org, manager):
    make_membership(org, capacity=1000)
    leads = [make_lead(org) for _ in range(60)]
    now = max(lead.first_response_due_at for lead in leads) + timedelta(seconds=1)
    # Bypass the job lease: the database alone must keep the breach single.
    results = run_together(2, lambda _: services.sla_breaches_record(now=now, chunk=7))
    errors = errors_of(results)
    assert errors == []
    assert sum(result["breaches"] for result in results) == 60
    assert SlaBreach.objects.for_org(org).count() == 60
    assert LeadEvent.objects.for_org(org).filter(kind="sla_breached").count() == 60
    assert audit_chain_first_break(org) is None


def leak_all(org, **kwargs):
    return services.leaking_leads_move(now=timezone.now() + LATER, **kwargs)


def test_a_lead_nobody_acted_on_moves_to_the_next_free_sdr(org, manager):
    first = make_membership(org, capacity=10)
    second = make_membership(org, capacity=10)
    lead = make_lead(org)
    assert lead.owner_id == first.pk
    assert leak_all(org) == {**NOTHING, "moved": 1}
    lead.refresh_from_db()
    assert lead.owner_id == second.pk and lead.leak_moves == 1
    assert lead.leak_due_at > timezone.now() + LATER  # a fresh window for the new owner
    move = LeadAssignment.objects.for_org(org).filter(lead=lead).first()
    assert (move.reason, move.from_owner_id, move.to_owner_id) == (
        AssignmentReason.LEAKAGE, first.pk, second.pk)
    assert AuditEvent.objects.for_org(org).filter(action="lead.reassigned").count() == 1
    assert audit_chain_first_break(org) is None


def test_leakage_never_assigns_back_to_an_sdr_the_lead_left(org, manager):
    sdrs = [make_membership(org, capacity=10) for _ in range(3)]
    lead = make_lead(org)
    owners = [lead.owner_id]
    for _ in range(2):
        services.leaking_leads_move(now=timezone.now() + LATER * (len(owners) + 1) * 2)
        lead.refresh_from_db()
        owners.append(lead.owner_id)
    assert len(set(owners)) == 3 and set(owners) == {s.pk for s in sdrs}
    # Nobody left who has not had it: it stays with the SDR at work, and says why.
    result = services.leaking_leads_move(now=timezone.now() + LATER * 20)
    assert result == {**NOTHING, "kept": 1}
    lead.refresh_from_db()
    assert lead.owner_id == owners[-1]
    kept = LeadEvent.objects.for_org(org).get(lead=lead, kind=LeadEvent.Kind.LEAK_KEPT)
    assert kept.data["detail"] == ("The owner did not act in time, and no other SDR in the COLD "
                                   "pool has room. It stays with its owner.")
    # That was its third threshold: the next one escalates it to a manager, explicitly.
    services.leaking_leads_move(now=timezone.now() + LATER * 40)
    lead.refresh_from_db()
    assert lead.owner_id == manager.pk
    last = LeadAssignment.objects.for_org(org).filter(lead=lead).first()
    assert last.reason == AssignmentReason.ESCALATION
    assert last.detail == "Passed the leakage threshold 4 times without anyone acting on it."


def test_after_the_maximum_moves_a_lead_goes_to_a_manager_instead_of_bouncing(
    org, manager, settings, django_capture_on_commit_callbacks, celery_eager
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    for _ in range(6):
        make_membership(org, capacity=10)
    services.lead_settings_update(org=org, actor=SETUP_ACTOR, max_leak_moves=2)
    lead = make_lead(org)
    with django_capture_on_commit_callbacks(execute=True):
        for step in range(1, 4):
            services.leaking_leads_move(now=timezone.now() + LATER * step * 2)
    lead.refresh_from_db()
    reasons = list(LeadAssignment.objects.for_org(org).filter(lead=lead).order_by("id")
                   .values_list("reason", flat=True))
    assert reasons == ["routing", "leakage", "leakage", "escalation"]
    assert lead.owner_id == manager.pk and lead.leak_due_at is None
    assert any("escalated to you" in m.subject for m in mail.outbox)


def test_a_lead_whose_owner_acted_does_not_move(org, manager, sdr):
    make_membership(org, capacity=10)
    lead = make_lead(org)
    services.lead_update(org=org, lead=lead, actor=Actor.for_member(lead.owner), need="Their need")
    assert leak_all(org) == NOTHING


def test_when_nobody_else_is_free_the_lead_waits_for_another_threshold_with_no_manager(org):
    only = make_membership(org, capacity=10)
    lead = make_lead(org)
    assert lead.owner_id == only.pk
    now = timezone.now() + LATER
    assert services.leaking_leads_move(now=now) == {**NOTHING, "kept": 1}
    lead.refresh_from_db()
    assert lead.owner_id == only.pk and lead.leak_due_at > now


def test_leakage_respects_capacity_and_availability_and_never_overflows_to_a_manager(
    org, manager
):
    owner = make_membership(org, capacity=10)
    make_membership(org, capacity=10, is_available=False)
    make_membership(org, capacity=0)
    lead = make_lead(org)
    assert lead.owner_id == owner.pk
    assert leak_all(org) == {**NOTHING, "kept": 1}
    lead.refresh_from_db()
    assert lead.owner_id == owner.pk  # neither the away SDR, the full one nor the manager


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_two_leakage_scans_at_once_move_each_lead_once(org, manager):
    for _ in range(4):
        make_membership(org, capacity=1000)
    leads = [make_lead(org) for _ in range(40)]
    now = max(lead.leak_due_at for lead in leads) + timedelta(seconds=1)
    results = run_together(2, lambda _: services.leaking_leads_move(now=now, chunk=5))
    errors = errors_of(results)
    assert errors == []
    assert sum(result["moved"] for result in results) == 40
    assert LeadAssignment.objects.for_org(org).filter(reason="leakage").count() == 40
    assert all(lead.leak_moves == 1 for lead in Lead.objects.for_org(org))
    assert audit_chain_first_break(org) is None

"""The periodic watches: first-response SLA breaches (every minute) and leaking leads (every
5 minutes; a leaking lead nobody else has room for stays with an owner at work or waits in
the unassigned queue, see ``leads.services.queue``).

Both are set-based: they read only the due rows, through partial indexes, in chunks that each
commit on their own, and claim rows with ``FOR UPDATE SKIP LOCKED`` so two runs at once split
the work instead of doing it twice. A breach is also unique per lead in the database.
"""

import logging
from collections import defaultdict
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from flexoraa.actors import Actor
from flexoraa.errors import NotFound
from flexoraa.models import Organization
from flexoraa.notifications import email_managers
from flexoraa.selectors import actor_membership
from flexoraa.services import audit_event_record, audit_events_record
from leads.models import AssignmentReason, Lead, LeadAssignment, LeadEvent, SlaBreach
from leads.services import notices
from leads.services.assignment import Decision, OrgRouter, assignment_apply
from leads.services.common import (
    BusinessClock,
    settings_locked,
    timeline_event,
)
from leads.services.queue import queue_drain_after_commit

logger = logging.getLogger(__name__)

# One chunk holds every due row of a typical minute: one commit, one audit append per tenant.
SLA_CHUNK = 10_000
LEAK_CHUNK = 500
# How many due leads the leakage scan lists (unlocked) before grouping them by tenant.
LEAK_PAGE = 10_000


def _site_url(path: str) -> str:
    return f"{settings.SITE_URL.rstrip('/')}{path}"


def sla_due_leads(now: datetime):
    """The leads the SLA check claims, oldest target first, through the ``lead_sla_due``
    partial index; rows another run holds are skipped. Use inside a transaction."""
    return (
        Lead.objects.filter(
            first_response_due_at__lte=now, first_response_at__isnull=True,
            sla_breached_at__isnull=True, first_response_due_at__isnull=False,
        )
        .order_by("first_response_due_at")
        .select_for_update(skip_locked=True, of=("self",))
    )


def leaking_leads(now: datetime):
    """The leads the leakage scan claims, oldest threshold first, through the
    ``lead_leak_due`` partial index; rows another run holds are skipped. Use inside a
    transaction."""
    return (
        Lead.objects.filter(leak_due_at__lte=now)
        .order_by("leak_due_at", "pk")
        .select_for_update(skip_locked=True, of=("self",))
    )


SLA_CHECK_ACTOR = Actor.system("job:leads.sla_check")
LEAKAGE_SCAN_ACTOR = Actor.system("job:leads.leakage_scan")


def sla_breaches_record(
    *, now: datetime | None = None, chunk: int = SLA_CHUNK, actor: Actor = SLA_CHECK_ACTOR
) -> dict:
    """Stamp every lead whose first-response target has passed unanswered, record its breach
    once, and tell each tenant's managers (one email per tenant per run). Only the SLA job
    runs this, so its actor is that job unless a caller names another."""
    now = now or timezone.now()
    recorded = 0
    per_org: dict[int, list[int]] = defaultdict(list)
    while True:
        with transaction.atomic():
            due = list(
                sla_due_leads(now).values_list("pk", "organization_id", "owner_id", "tier",
                                               "first_response_due_at")[:chunk]
            )
            if not due:
                break
            ids = [row[0] for row in due]
            Lead.objects.filter(pk__in=ids).update(sla_breached_at=now)
            SlaBreach.objects.bulk_create(
                [SlaBreach(organization_id=org_id, lead_id=pk, owner_id=owner_id, tier=tier,
                           due_at=due_at, breached_at=now)
                 for pk, org_id, owner_id, tier, due_at in due],
                ignore_conflicts=True,
            )
            LeadEvent.objects.bulk_create(
                [LeadEvent(organization_id=org_id, lead_id=pk, kind=LeadEvent.Kind.SLA_BREACHED,
                           data={"due_at": due_at.isoformat(), "owner": owner_id},
                           created_at=now)
                 for pk, org_id, owner_id, _tier, due_at in due]
            )
            chunk_orgs: dict[int, list[int]] = defaultdict(list)
            for pk, org_id, *_ in due:
                chunk_orgs[org_id].append(pk)
            for org in Organization.objects.filter(pk__in=chunk_orgs).order_by("pk"):
                audit_event_record(org=org, actor=actor, action="lead.sla_breached",
                                   data={"lead_ids": chunk_orgs[org.pk]})
            for org_id, lead_ids in chunk_orgs.items():
                per_org[org_id].extend(lead_ids)
            recorded += len(due)
        if len(due) < chunk:
            break
    if per_org:
        _managers_tell_later(BREACHES, {org_id: len(ids) for org_id, ids in per_org.items()})
    return {"breaches": recorded, "organizations": len(per_org)}


BREACHES = "breaches"
ESCALATIONS = "escalations"


def _managers_tell_later(kind: str, counts: dict[int, int]) -> None:
    """One email per tenant, sent by a worker after commit: the job never waits on SMTP, and a
    rolled-back run tells nobody."""
    from leads.tasks import tell_managers

    def enqueue():
        for org_id, count in counts.items():
            tell_managers.delay(org_id, kind, count)

    transaction.on_commit(enqueue)


def managers_tell(*, org_id: int, kind: str, count: int) -> int:
    """Email a tenant's owners and managers about breaches or escalations; returns how many
    people were addressed."""
    org = Organization.objects.get(pk=org_id)
    if kind == BREACHES:
        plural = "lead" if count == 1 else "leads"
        subject = f"{count} {plural} missed the first-response target"
        body = (f"{count} {plural} waited past their first-response target without a reply. "
                f"See who owns them and reassign if needed:\n{_site_url('/leads/team/')}\n")
    elif kind == ESCALATIONS:
        plural = "lead was" if count == 1 else "leads were"
        subject = f"{count} {plural} escalated to you"
        body = (f"{count} {plural} passed the leakage threshold again and again without anyone "
                f"acting on them. They are yours now; work them or hand them on:\n"
                f"{_site_url('/leads/team/')}\n")
    else:
        raise ValueError(f"Unknown notice kind {kind!r}.")
    return email_managers(org, subject=subject, body=body)


def leaking_leads_move(
    *, now: datetime | None = None, chunk: int = LEAK_CHUNK, actor: Actor = LEAKAGE_SCAN_ACTOR
) -> dict:
    """Handle each assigned lead whose owner has not acted past the leakage threshold:

    - it moves to the next SDR of its tier pool with room (never back to one it left);
    - when nobody else in the pool has room, it stays with an owner who is available, for
      another threshold, or goes to the unassigned queue when its owner is away (or no longer
      an SDR), to be drained to the first SDR who gets room;
    - once it has passed the threshold the tenant's maximum number of times (moved, kept or
      queued), it is escalated to the least-loaded manager, who is emailed.

    Each outcome is on the lead's timeline with its reason; moves and escalations are also
    assignments and audit events. Managers are never a silent overflow.

    The due leads are listed without locks, a page at a time, oldest threshold first, and
    handled tenant by tenant: each transaction claims at most ``chunk`` of one tenant's leads
    with ``SKIP LOCKED`` and moves them under that tenant's settings lock alone. Loading a
    tenant's routing state counts all its open leads, so it is done once per tenant per page
    rather than once per tenant per chunk of a mixed queue; and a transaction holds one
    tenant's routing lock, not every tenant's in the chunk. Each tenant's leads are still
    handled in threshold order, so the routing decisions are those of one global queue.
    Only the leakage job runs this, so its actor is that job unless a caller names another."""
    now = now or timezone.now()
    totals = dict.fromkeys(LEAK_OUTCOMES, 0)
    escalated_by_org: dict[int, int] = defaultdict(int)
    after: tuple[datetime, int] | None = None
    while True:
        page = list(leaking_leads_listed(now, after)[:LEAK_PAGE])
        if not page:
            break
        after = page[-1][:2]
        by_org: dict[int, list[int]] = defaultdict(list)
        for _due_at, pk, org_id in page:
            by_org[org_id].append(pk)
        for org in Organization.objects.filter(pk__in=by_org).order_by("pk"):
            ids = by_org[org.pk]
            for start in range(0, len(ids), chunk):
                counts = _leaking_chunk_move(org, ids[start:start + chunk], now, actor)
                for outcome, count in counts.items():
                    totals[outcome] += count
                escalated_by_org[org.pk] += counts["escalated"]
        if len(page) < LEAK_PAGE:
            break
    to_tell = {pk: n for pk, n in escalated_by_org.items() if n}
    if to_tell:
        _managers_tell_later(ESCALATIONS, to_tell)
    return totals


def leaking_leads_listed(now: datetime, after: tuple[datetime, int] | None = None):
    """``(leak_due_at, pk, organization_id)`` of the due leads after ``after``, oldest first,
    through the ``lead_leak_due`` partial index, without locks. The keyset moves past leads
    another run holds, so they are not listed again; leads already moved have a later
    threshold and leave the due range anyway."""
    due = Lead.objects.filter(leak_due_at__lte=now)
    if after is not None:
        due_at, pk = after
        due = due.filter(Q(leak_due_at__gt=due_at) | Q(leak_due_at=due_at, pk__gt=pk),
                         leak_due_at__gte=due_at)
    return due.order_by("leak_due_at", "pk").values_list("leak_due_at", "pk", "organization_id")


def _leaking_chunk_move(org: Organization, ids: list[int], now: datetime, actor: Actor) -> dict:
    """One transaction: claim those of ``ids`` still due and not held by another run, release
    the ones nobody owns any more (closed, or without an owner) and handle the rest."""
    with transaction.atomic():
        leads = list(leaking_leads(now).filter(pk__in=ids))
        stale = [lead.pk for lead in leads if not lead.is_open or lead.owner_id is None]
        if stale:
            Lead.objects.filter(pk__in=stale).update(leak_due_at=None)
        live = [lead for lead in leads if lead.is_open and lead.owner_id is not None]
        counts = (_move_org_leads(org, live, now, actor) if live
                  else dict.fromkeys(LEAK_OUTCOMES, 0))
    return {**counts, "released": len(stale)}


# What the leakage scan did with each due lead, as counted in its result.
MOVED, ESCALATED, QUEUED, KEPT = "moved", "escalated", "queued", "kept"
LEAK_OUTCOMES = (MOVED, ESCALATED, QUEUED, KEPT, "released")


def _move_org_leads(org: Organization, leads: list[Lead], now: datetime, actor: Actor) -> dict:
    lead_settings = settings_locked(org)
    router = OrgRouter(org, lead_settings)
    clock = BusinessClock(org, lead_settings)
    left_behind: dict[int, set[int]] = defaultdict(set)
    for lead_id, from_owner in LeadAssignment.objects.for_org(org).filter(
        lead_id__in=[lead.pk for lead in leads], from_owner__isnull=False
    ).values_list("lead_id", "from_owner_id"):
        left_behind[lead_id].add(from_owner)
    assignments, events, audit, handed = [], [], [], []
    counts = dict.fromkeys((MOVED, ESCALATED, QUEUED, KEPT), 0)
    for lead in leads:
        previous = lead.owner_id
        lead.updated_at = now  # bulk_update leaves auto_now fields alone
        lead.leak_moves += 1
        decision = None
        if lead.leak_moves > lead_settings.max_leak_moves:
            manager = router.least_loaded_manager()
            if manager is not None and manager != previous:
                decision = Decision(
                    manager, AssignmentReason.ESCALATION,
                    f"Passed the leakage threshold {lead.leak_moves} times without anyone "
                    "acting on it.",
                )
        if decision is None:
            decision = router.decide(
                lead.tier, exclude=frozenset({previous, *left_behind[lead.pk]})
            )
            if decision.owner_id is not None:
                decision = Decision(decision.owner_id, AssignmentReason.LEAKAGE,
                                    "The owner did not act in time.")
        if decision.owner_id is not None:
            router.release(previous)
            assignment, event = assignment_apply(org=org, lead=lead, decision=decision, at=now,
                                                 clock=clock, router=router)
            assignments.append(assignment)
            handed.append(lead)
            events.append(event)
            audit.append(("lead.reassigned", lead,
                          {"from": previous, "to": decision.owner_id, "reason": decision.reason}))
            counts[ESCALATED if decision.reason == AssignmentReason.ESCALATION else MOVED] += 1
            continue
        if router.is_available(previous):
            # An owner at work keeps it rather than nobody: the queue would hand it straight
            # back to them, the one SDR of the pool with room. It comes round again after
            # another threshold, and escalates after the tenant's maximum.
            lead.leak_due_at = clock.leak_due(now, lead.tier)
            events.append(timeline_event(
                org=org, lead=lead, kind=LeadEvent.Kind.LEAK_KEPT, at=now,
                data={"reason": "leakage", "owner": previous, "tier": lead.tier,
                      "detail": f"The owner did not act in time, and {decision.detail[0].lower()}"
                                f"{decision.detail[1:]} It stays with its owner."},
            ))
            counts[KEPT] += 1
            continue
        # The owner is away (or no longer takes leads): nobody would work it where it is.
        router.release(previous)
        lead.owner_id = None
        lead.assigned_at = None
        lead.leak_due_at = None
        why = "is away" if router.is_sdr(previous) else "no longer takes leads"
        events.append(timeline_event(
            org=org, lead=lead, kind=LeadEvent.Kind.QUEUED, at=now,
            data={"reason": "leakage", "from": previous, "tier": lead.tier,
                  "detail": f"The owner did not act in time and {why}; "
                            f"{decision.detail[0].lower()}{decision.detail[1:]}"},
        ))
        audit.append(("lead.queued", lead, {"from": previous, "reason": "leakage"}))
        counts[QUEUED] += 1
    Lead.objects.bulk_update(leads, ["owner", "assigned_at", "leak_due_at", "leak_moves",
                                     "updated_at"])
    LeadAssignment.objects.bulk_create(assignments)
    LeadEvent.objects.bulk_create(events)
    notices.leads_assigned_notify(org=org, assigned=zip(handed, assignments, strict=True))
    router.save()
    audit_events_record(org=org, actor=actor, events=audit)
    if counts[MOVED] or counts[ESCALATED] or counts[QUEUED]:
        # Leads left their owners: a slot freed may take a queued lead, and a lead queued
        # here is taken the moment someone has room.
        queue_drain_after_commit(org.pk)
    return counts


def breach_acknowledge(*, org: Organization, breach: SlaBreach, actor: Actor) -> SlaBreach:
    """A manager has seen the breach; it leaves the dashboard's list. Idempotent."""
    if breach.organization_id != org.pk:
        raise NotFound("No such SLA breach.")
    with transaction.atomic():
        updated = SlaBreach.objects.for_org(org).filter(
            pk=breach.pk, acknowledged_at__isnull=True
        ).update(acknowledged_at=timezone.now(), acknowledged_by=actor_membership(org, actor))
        if updated:
            audit_event_record(org=org, actor=actor, action="sla_breach.acknowledged",
                               target=breach)
    breach.refresh_from_db()
    return breach

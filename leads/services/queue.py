"""The unassigned queue: open leads that nobody holds because no SDR of their tier's pool had
room. They wait here, in view of managers and of the SDRs who may take them, soonest
first-response target first, and leave it the moment someone has room: drained by the same
weighted round-robin that routes new leads, or picked by hand.

Draining runs after every commit that may free room (a lead closes or moves away from its
owner, leakage moves, an SDR turns available or gets more capacity), through the
``flexoraa.leads.unassigned_queue_drain`` task, and every minute as a backstop over the
tenants that have queued leads.
"""

import logging

from django.db import connection, transaction
from django.utils import timezone

from flexoraa.actors import Actor
from flexoraa.errors import NotFound, PermissionDenied
from flexoraa.models import Membership, Organization, Role
from flexoraa.selectors import actor_membership
from flexoraa.services import audit_event_record, audit_events_record
from leads import selectors
from leads.errors import AtCapacity, LeadClosed, LeadTaken
from leads.models import (
    OPEN_STATUSES,
    AssignmentReason,
    Lead,
    LeadAssignment,
    LeadEvent,
    RoutingPoolMember,
    Tier,
)
from leads.services import notices
from leads.services.assignment import Decision, OrgRouter, assignment_apply
from leads.services.common import BusinessClock, settings_locked

logger = logging.getLogger(__name__)

QUEUE_DRAIN_ACTOR = Actor.system("job:leads.unassigned_queue_drain")
# At most this many queued leads are claimed per read; a drain reads again while room is left.
DRAIN_BATCH = 500


# --- triggers -------------------------------------------------------------------------------

class _DrainLater:
    """The after-commit enqueue of one tenant's drain; a value, so a transaction that frees
    room many times (a bulk reassignment) enqueues one drain, not one per lead."""

    def __init__(self, org_id: int):
        self.org_id = org_id

    def __call__(self):
        from leads.tasks import unassigned_queue_drain

        unassigned_queue_drain.delay(self.org_id)


def queue_drain_after_commit(org_id: int) -> None:
    """Drain ``org_id``'s unassigned queue once the current transaction commits: call it
    wherever a lead stops counting against someone's capacity (it closes, or it moves away
    from its owner). Nothing is enqueued for a rolled-back transaction. A failed enqueue (the
    broker down) is logged, not raised: the every-minute sweep drains the queue anyway."""
    if connection.in_atomic_block and any(
        isinstance(entry[1], _DrainLater) and entry[1].org_id == org_id
        for entry in connection.run_on_commit
    ):
        return
    transaction.on_commit(_DrainLater(org_id), robust=True)


def capacity_freed(org_id: int) -> None:
    """The core's capacity listener (registered in ``LeadsConfig.ready``): it calls this after
    the commit in which a member turned available, got more capacity or became an SDR."""
    from leads.tasks import unassigned_queue_drain

    unassigned_queue_drain.delay(org_id)


# --- draining -------------------------------------------------------------------------------

def _queue_head(org: Organization, tiers: list[str], limit: int) -> list[Lead]:
    """The first ``limit`` queued leads of ``tiers``, soonest target first, through the
    ``lead_unassigned_queue`` partial index, locked; rows another transaction holds (a claim
    under way, a drain running beside this one) are skipped, never waited for."""
    return list(
        selectors.unassigned_leads(org).filter(tier__in=tiers)
        .select_for_update(skip_locked=True, no_key=True, of=("self",))[:limit]
    )


def unassigned_queue_drain(*, org: Organization, actor: Actor = QUEUE_DRAIN_ACTOR) -> dict:
    """Give queued leads, soonest first-response target first, to the SDRs of each lead's tier
    pool who have room, by the weighted round-robin of routing, until nobody has room or the
    queue is empty. One transaction under the tenant's routing lock; returns
    ``{"assigned": n}``.

    Safe to run many times at once: the routing lock serialises the drains of a tenant, each
    reads the routing state (who holds what) only once it holds the lock, and a lead is taken
    only while its row is locked and it has no owner, so no lead is assigned twice and nobody
    goes over capacity.
    """
    assigned = 0
    with transaction.atomic():
        # The routing lock first, then the lead rows: the rows are taken with SKIP LOCKED and
        # never waited for, so this order cannot deadlock with the lead-first order of
        # intake, claims and reassignment, and the room read below is exact.
        lead_settings = settings_locked(org)
        router = OrgRouter(org, lead_settings)
        clock = BusinessClock(org, lead_settings)
        now = timezone.now()
        audit = []
        while True:
            open_tiers = [tier for tier in Tier.values if router.room(tier) > 0]
            if not open_tiers:
                break
            room = router.room_total(open_tiers)
            head = _queue_head(org, open_tiers, min(room, DRAIN_BATCH))
            placed, assignments, events = [], [], []
            for lead in head:
                decision = router.decide(lead.tier)
                if decision.owner_id is None:
                    continue  # earlier leads of this read filled its pool
                label = Tier(lead.tier).label
                rows = assignment_apply(
                    org=org, lead=lead, at=now, clock=clock, router=router,
                    decision=Decision(decision.owner_id, AssignmentReason.QUEUE,
                                      f"Room freed in the {label} pool."),
                )
                assignments.append(rows[0])
                events.append(rows[1])
                lead.updated_at = now  # bulk_update leaves auto_now fields alone
                placed.append(lead)
                audit.append(("lead.assigned", lead,
                              {"to": lead.owner_id, "reason": AssignmentReason.QUEUE}))
            if placed:
                Lead.objects.bulk_update(placed, ["owner", "assigned_at", "leak_due_at",
                                                  "updated_at"])
                LeadAssignment.objects.bulk_create(assignments)
                LeadEvent.objects.bulk_create(events)
                notices.leads_assigned_notify(org=org,
                                              assigned=zip(placed, assignments, strict=True))
                assigned += len(placed)
            # A short read means the queue (of the tiers with room) is empty; a read that
            # placed nothing means every lead in it waits for a pool that just filled.
            if not placed or len(head) < min(room, DRAIN_BATCH):
                break
        if assigned:
            router.save()
            audit_events_record(org=org, actor=actor, events=audit)
    if assigned:
        logger.info("unassigned queue drained",
                    extra={"organization_id": org.pk, "assigned": assigned})
    return {"assigned": assigned}


def organizations_with_queued_leads() -> list[int]:
    """Ids of the tenants that have at least one queued lead: one scan of the
    ``lead_unassigned_queue`` partial index, which holds queued leads only (empty queue,
    empty index)."""
    return list(
        Lead.objects.filter(owner__isnull=True, status__in=OPEN_STATUSES)
        .order_by("organization_id").values_list("organization_id", flat=True).distinct()
    )


def unassigned_queues_drain(*, actor: Actor = QUEUE_DRAIN_ACTOR) -> dict:
    """The every-minute backstop: drain the queue of every tenant that has queued leads, each
    tenant in its own transaction. Returns how many tenants had queued leads and how many
    leads were assigned."""
    org_ids = organizations_with_queued_leads()
    assigned = 0
    for org in Organization.objects.filter(pk__in=org_ids).order_by("pk"):
        assigned += unassigned_queue_drain(org=org, actor=actor)["assigned"]
    return {"organizations": len(org_ids), "assigned": assigned}


# --- picking by hand ------------------------------------------------------------------------

def queue_tiers_for(org: Organization, membership: Membership) -> list[str]:
    """The tiers whose queued leads ``membership`` may take: every tier for a manager; for an
    SDR, the tiers whose pool includes them (a tier with an empty pool includes every SDR)."""
    if membership.role != Role.SDR:
        return list(Tier.values)
    pools: dict[str, set[int]] = {}
    for tier, member_id in RoutingPoolMember.objects.for_org(org).values_list(
        "tier", "membership_id"
    ):
        pools.setdefault(tier, set()).add(member_id)
    return [tier for tier in Tier.values
            if tier not in pools or membership.pk in pools[tier]]


def lead_claim(*, org: Organization, lead: Lead, actor: Actor) -> Lead:
    """A member takes a lead from the unassigned queue for themself. Taking a lead one holds
    already changes nothing.

    Raises ``NotFound`` for a lead of another tenant; ``PermissionDenied`` for an actor who is
    no member (an integration assigns instead) or an SDR outside the lead's tier pool;
    ``LeadTaken`` when someone else holds the lead (taken a moment ago); ``LeadClosed`` for a
    closed lead; ``AtCapacity`` when the member holds as many open leads as their capacity.
    """
    if lead.organization_id != org.pk:
        raise NotFound("No such lead.")
    by = actor_membership(org, actor)
    if by is None:
        raise PermissionDenied(
            "Only a member of the team takes a lead from the queue; an integration assigns "
            "it to someone instead."
        )
    with transaction.atomic():
        lead = Lead.objects.for_org(org).select_for_update(of=("self",)).get(pk=lead.pk)
        if lead.owner_id == by.pk:
            return lead
        if lead.owner_id is not None:
            raise LeadTaken("Someone else took this lead a moment ago.")
        if not lead.is_open:
            raise LeadClosed(
                f"This lead is {lead.get_status_display().lower()}; only open leads are taken."
            )
        lead_settings = settings_locked(org)
        router = OrgRouter(org, lead_settings)
        label = Tier(lead.tier).label
        if router.is_sdr(by.pk) and not router.may_take(by.pk, lead.tier):
            raise PermissionDenied(f"Only SDRs in the {label} pool take {label} leads.")
        if not router.has_room(by.pk):
            held, capacity = router.open_leads.get(by.pk, 0), router.capacity.get(by.pk, 0)
            raise AtCapacity(
                f"You are at capacity: you hold {held} open lead{'s' if held != 1 else ''} "
                f"of a capacity of {capacity}. Close or hand on a lead before taking another."
            )
        now = timezone.now()
        assignment, event = assignment_apply(
            org=org, lead=lead, at=now, clock=BusinessClock(org, lead_settings), router=router,
            actor=by, decision=Decision(by.pk, AssignmentReason.CLAIM,
                                        "Picked from the unassigned queue."),
        )
        lead.save(update_fields=["owner", "assigned_at", "leak_due_at", "updated_at"])
        assignment.save()
        event.save()
        audit_event_record(org=org, actor=actor, action="lead.claimed", target=lead,
                           data={"to": by.pk, "reason": AssignmentReason.CLAIM})
    return lead

"""Who gets a lead: weighted round-robin over a tier's pool, the unassigned queue when nobody
in the pool has room, and a manager's reassignment by hand."""

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from flexoraa.actors import Actor
from flexoraa.errors import NotFound, ValidationFailed
from flexoraa.models import MANAGING_ROLES, Membership, Organization, Role
from flexoraa.selectors import actor_membership
from flexoraa.services import audit_event_record
from leads import routing
from leads.errors import LeadClosed
from leads.models import (
    OPEN_STATUSES,
    AssignmentReason,
    Lead,
    LeadAssignment,
    LeadEvent,
    LeadSettings,
    RoutingCredit,
    RoutingPoolMember,
    Tier,
)
from leads.services import notices
from leads.services.common import (
    BusinessClock,
    settings_locked,
    timeline_event,
)

# The reason of a decision that gives the lead to nobody: it waits in the unassigned queue.
# Not an AssignmentReason, since no assignment row is written for it.
QUEUED = "queued"


@dataclass(frozen=True)
class Decision:
    owner_id: int | None  # None: the lead waits in the unassigned queue
    reason: str
    detail: str = ""


class OrgRouter:
    """Routing state of one tenant, loaded once (four queries) and updated in memory, so a job
    can place many leads and save once. Use under ``settings_locked``."""

    def __init__(self, org: Organization, lead_settings: LeadSettings):
        self.org = org
        self.settings = lead_settings
        members = list(
            Membership.objects.for_org(org).values_list("pk", "role", "capacity", "is_available")
        )
        open_counts = dict(
            Lead.objects.for_org(org).filter(status__in=OPEN_STATUSES, owner__isnull=False)
            # COUNT(*) rather than COUNT(id): the (organization, owner, status) index answers
            # it alone (an index-only scan), without visiting each lead's row.
            .values("owner").annotate(n=Count("*")).order_by().values_list("owner", "n")
        )
        self.open_leads = {pk: open_counts.get(pk, 0) for pk, *_ in members}
        self.capacity = {pk: capacity for pk, _role, capacity, _available in members}
        self.sdrs = {pk: (capacity, available) for pk, role, capacity, available in members
                     if role == Role.SDR}
        self.managers = [pk for pk, role, *_ in members if role in MANAGING_ROLES]
        self.pools: dict[str, set[int]] = {}
        for tier, membership_id in RoutingPoolMember.objects.for_org(org).values_list(
            "tier", "membership_id"
        ):
            self.pools.setdefault(tier, set()).add(membership_id)
        self.credits = {
            (tier, membership_id): finish
            for tier, membership_id, finish in RoutingCredit.objects.for_org(org).values_list(
                "tier", "membership_id", "finish"
            )
        }
        self.clock = {tier: float(value)
                      for tier, value in (lead_settings.routing_clock or {}).items()}
        self._stored_credits = set(self.credits)
        self._dirty: set[tuple[str, int]] = set()

    def pool(self, tier: str) -> list[int]:
        members = self.pools.get(tier)
        # A tier with no pool configured routes to every SDR.
        return sorted(members & self.sdrs.keys() if members else self.sdrs)

    def decide(self, tier: str, *, exclude: frozenset[int] = frozenset()) -> Decision:
        candidates = [
            routing.Candidate(
                membership_id=pk, capacity=self.sdrs[pk][0], is_available=self.sdrs[pk][1],
                open_leads=self.open_leads[pk], last_finish=self.credits.get((tier, pk), 0.0),
            )
            for pk in self.pool(tier)
        ]
        picked = routing.pick(candidates, clock=self.clock.get(tier, 0.0), exclude=exclude)
        if picked is not None:
            self.credits[(tier, picked.membership_id)] = picked.finish
            self.clock[tier] = picked.clock
            self._dirty.add((tier, picked.membership_id))
            self.open_leads[picked.membership_id] += 1
            return Decision(picked.membership_id, AssignmentReason.ROUTING)
        # Nobody in the pool has room: the lead waits, visibly, in the unassigned queue and is
        # drained to the first SDR who gets room. Managers are no silent overflow.
        label = Tier(tier).label
        if not candidates:
            return Decision(None, QUEUED, f"The {label} pool has no SDR.")
        others = " other" if exclude & {c.membership_id for c in candidates} else ""
        return Decision(None, QUEUED, f"No{others} SDR in the {label} pool has room.")

    def has_room(self, membership_id: int) -> bool:
        """Whether the member holds fewer open leads than their capacity (available or not:
        someone picking a lead by hand is evidently at work)."""
        capacity = self.capacity.get(membership_id, 0)
        return self.open_leads.get(membership_id, 0) < capacity

    def room(self, tier: str) -> int:
        """Free slots of the SDRs routing could give a ``tier`` lead to now."""
        return self.room_total([tier])

    def room_total(self, tiers: list[str]) -> int:
        """Free slots of the SDRs routing could give a lead of any of ``tiers`` to now (an SDR
        in several pools counts once)."""
        members = set().union(*(self.pool(tier) for tier in tiers))
        return sum(
            self.sdrs[pk][0] - self.open_leads[pk] for pk in members
            if self.sdrs[pk][1] and self.open_leads[pk] < self.sdrs[pk][0]
        )

    def may_take(self, membership_id: int, tier: str) -> bool:
        """Whether routing would ever give this member a ``tier`` lead (in its pool)."""
        return membership_id in self.pool(tier)

    def is_available(self, membership_id: int | None) -> bool:
        return membership_id in self.sdrs and self.sdrs[membership_id][1]

    def least_loaded_manager(self) -> int | None:
        if not self.managers:
            return None
        return min(self.managers, key=lambda pk: (self.open_leads[pk], pk))

    def is_sdr(self, membership_id: int | None) -> bool:
        return membership_id in self.sdrs

    def release(self, membership_id: int | None) -> None:
        """The member no longer holds one of their open leads."""
        if membership_id in self.open_leads:
            self.open_leads[membership_id] = max(0, self.open_leads[membership_id] - 1)

    def save(self) -> None:
        if not self._dirty:
            return
        new = [key for key in self._dirty if key not in self._stored_credits]
        RoutingCredit.objects.bulk_create([
            RoutingCredit(organization=self.org, tier=tier, membership_id=pk,
                          finish=self.credits[(tier, pk)])
            for tier, pk in new
        ])
        existing = [key for key in self._dirty if key in self._stored_credits]
        for tier, pk in existing:
            RoutingCredit.objects.for_org(self.org).filter(tier=tier, membership_id=pk).update(
                finish=self.credits[(tier, pk)]
            )
        self._stored_credits |= set(new)
        self._dirty.clear()
        self.settings.routing_clock = dict(self.clock)
        self.settings.save(update_fields=["routing_clock"])


def assignment_apply(
    *, org: Organization, lead: Lead, decision: Decision, at: datetime, clock: BusinessClock,
    router: OrgRouter, actor: Membership | None = None,
) -> tuple[LeadAssignment, LeadEvent] | None:
    """Set the owner on the (unsaved) lead and return the history rows to save with it.

    An SDR owner must act before the leakage threshold; a manager owner is not moved on.
    """
    if decision.owner_id is None:
        return None
    previous = lead.owner_id
    lead.owner_id = decision.owner_id
    lead.assigned_at = at
    lead.leak_due_at = (
        clock.leak_due(at, lead.tier) if router.is_sdr(decision.owner_id) and lead.is_open
        else None
    )
    assignment = LeadAssignment(
        organization=org, lead=lead, from_owner_id=previous, to_owner_id=decision.owner_id,
        reason=decision.reason, detail=decision.detail, actor=actor, created_at=at,
    )
    event = timeline_event(
        org=org, lead=lead, kind=LeadEvent.Kind.ASSIGNED, at=at, actor=actor,
        data={"reason": decision.reason, "from": previous, "to": decision.owner_id,
              "detail": decision.detail},
    )
    return assignment, event


def lead_reassign(
    *, org: Organization, lead: Lead, owner_id: int, actor: Actor, note: str = ""
) -> Lead:
    """A manager hands the lead to another member by hand.

    Raises ``NotFound`` for a lead of another tenant, ``ValidationFailed`` for an owner who is
    not a member of this tenant, ``LeadClosed`` for a closed lead.
    """
    if lead.organization_id != org.pk:
        raise NotFound("No such lead.")
    with transaction.atomic():
        lead = Lead.objects.for_org(org).select_for_update(of=("self",)).get(pk=lead.pk)
        if not lead.is_open:
            raise LeadClosed(
                f"This lead is {lead.get_status_display().lower()}; only open leads are "
                "reassigned."
            )
        if not Membership.objects.for_org(org).filter(pk=owner_id).exists():
            raise ValidationFailed(
                "owner: No member of this organization has that id.",
                fields={"owner": ["No member of this organization has that id."]},
            )
        if lead.owner_id == owner_id:
            return lead
        lead_settings = settings_locked(org)
        router = OrgRouter(org, lead_settings)
        now = timezone.now()
        by = actor_membership(org, actor)
        rows = assignment_apply(
            org=org, lead=lead,
            decision=Decision(owner_id, AssignmentReason.MANUAL, note.strip()[:200]),
            at=now, clock=BusinessClock(org, lead_settings), router=router, actor=by,
        )
        lead.save(update_fields=["owner", "assigned_at", "leak_due_at", "updated_at"])
        assignment, event = rows
        assignment.save()
        event.save()
        notices.leads_assigned_notify(org=org, assigned=[(lead, assignment)], by=by)
        audit_event_record(
            org=org, actor=actor, action="lead.reassigned", target=lead,
            data={"to": owner_id, "from": assignment.from_owner_id, "reason": "manual"},
        )
        if assignment.from_owner_id is not None:
            # Imported here: the queue's drain routes through this module.
            from leads.services.queue import queue_drain_after_commit

            queue_drain_after_commit(org.pk)  # the previous owner has a slot free now
    return lead


@dataclass(frozen=True)
class BulkReassignResult:
    moved: int  # handed to the new owner (or already theirs)
    closed: int  # closed leads, left as they were
    not_found: int  # ids that name no lead of this tenant


def leads_reassign_bulk(
    *, org: Organization, lead_ids: list[int], owner_id: int, actor: Actor, note: str = ""
) -> BulkReassignResult:
    """A manager hands many leads to one member at once: all of them in one transaction, each
    with its history row, timeline event and audit event, as ``lead_reassign`` writes them.
    Closed leads are left as they are; ids of another tenant count as not found.

    Raises ``ValidationFailed`` for an owner who is not a member of this tenant (and then
    nothing moves).
    """
    wanted = set(lead_ids)
    with transaction.atomic():
        # All the rows first, in id order: the routing lock that each reassignment takes
        # comes after every lead lock, the order the leakage job uses too.
        leads = list(
            Lead.objects.for_org(org).select_for_update(of=("self",))
            .filter(pk__in=wanted).order_by("pk")
        )
        moved = closed = 0
        for lead in leads:
            if not lead.is_open:
                closed += 1
                continue
            lead_reassign(org=org, lead=lead, owner_id=owner_id, actor=actor, note=note)
            moved += 1
    return BulkReassignResult(moved=moved, closed=closed, not_found=len(wanted) - len(leads))

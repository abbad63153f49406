"""Scoring a lead again when what it reads changes, and what a rise in tier sets off: the
first-response clock tightens to the new tier's target from the message that raised it, and
the lead moves to the new tier's pool when its owner is not in it. Nothing loosens: a lead
that cools keeps its owner and its clock. Runs inside the caller's transaction, with the
lead's row locked (the routing lock comes after it, the order every router takes)."""

from datetime import datetime

from flexoraa.models import Membership, Organization
from leads import selectors
from leads.models import AssignmentReason, Lead, LeadEvent, Tier
from leads.services import notices, sla_warning
from leads.services.assignment import Decision, OrgRouter, assignment_apply
from leads.services.common import (
    BusinessClock,
    score_apply,
    settings_locked,
    timeline_event,
)
from leads.services.queue import queue_drain_after_commit

TIER_RANK = {Tier.COLD: 0, Tier.WARM: 1, Tier.HOT: 2}


def rescore(
    org: Organization, lead: Lead, now: datetime, *, reason: str,
    at: datetime | None = None, by: Membership | None = None,
) -> list[str]:
    """Score again and record the change with ``reason`` (words for the timeline: "a message
    from the lead", "an edit by a rep"). ``at`` is when what raised it happened (the
    message's time); a tier that rose restarts the clock from then. Returns the fields it
    changed; the caller saves the lead."""
    lead_settings = selectors.lead_settings_for(org)
    old_tier, old_score = lead.tier, lead.score
    result = score_apply(lead, lead_settings)
    changed = ["score", "tier", "score_breakdown"]
    if (result.total, result.tier) != (old_score, old_tier):
        timeline_event(org=org, lead=lead, kind=LeadEvent.Kind.SCORED, at=now, actor=by,
                       data={"score": result.total, "tier": result.tier, "reason": reason,
                             "was": {"score": old_score, "tier": old_tier}}).save()
    if lead.is_open and TIER_RANK.get(result.tier, 0) > TIER_RANK.get(old_tier, 0):
        changed += _tier_rose(org, lead, old_tier=old_tier, start=min(at or now, now), now=now,
                              by=by)
        if lead.tier == Tier.HOT:
            notices.lead_hot_notify(org=org, lead=lead, at=now, by=by)
    return changed


def _tier_rose(org: Organization, lead: Lead, *, old_tier: str, start: datetime,
               now: datetime, by: Membership | None) -> list[str]:
    lead_settings = settings_locked(org)
    clock = BusinessClock(org, lead_settings)
    rose = f"Tier rose from {Tier(old_tier).label} to {Tier(lead.tier).label}"
    changed = []
    if lead.first_response_at is None and lead.sla_breached_at is None:
        # A breached lead keeps its breach: it has been escalated already.
        due = clock.first_response_due(start, lead.tier)
        running = lead.first_response_due_at
        if running is None or due < running:
            lead.first_response_due_at = due
            lead.first_response_warn_at = sla_warning.warn_at(clock, start, lead.tier)
            changed += ["first_response_due_at", "first_response_warn_at"]
            timeline_event(
                org=org, lead=lead, kind=LeadEvent.Kind.SLA_CHANGED, at=now, actor=by,
                data={"tier": lead.tier, "due_at": due.isoformat(),
                      "was": running.isoformat() if running else None,
                      "reason": f"{rose}: a first response is due within "
                                f"{lead_settings.sla_minutes(lead.tier)} minutes."},
            ).save()
    router = OrgRouter(org, lead_settings)
    owner = lead.owner_id
    if owner is not None and not (router.is_sdr(owner)
                                  and owner not in router.pool(lead.tier)):
        return changed  # already in the new tier's pool, or placed by hand with a manager
    decision = router.decide(lead.tier, exclude=frozenset({owner} if owner else ()))
    if decision.owner_id is None or not router.is_sdr(decision.owner_id):
        return changed  # nobody in the new pool has room: it stays where it is
    router.release(owner)
    label = Tier(lead.tier).label
    detail = (f"{rose}; the {label} pool does not include its owner." if owner
              else f"{rose}; someone in the {label} pool has room.")
    assignment, event = assignment_apply(
        org=org, lead=lead, decision=Decision(decision.owner_id, AssignmentReason.UPGRADE, detail),
        at=now, clock=clock, router=router, actor=by,
    )
    router.save()
    assignment.save()
    event.save()
    if lead.tier != Tier.HOT:  # a HOT lead's owner hears of it as HOT (``rescore``)
        notices.leads_assigned_notify(org=org, assigned=[(lead, assignment)], by=by)
    if owner is not None:
        queue_drain_after_commit(org.pk)  # the owner it left has room for a queued lead
    return [*changed, "owner", "assigned_at", "leak_due_at"]

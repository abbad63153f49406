"""What LeadOS tells people in their notification centre (``flexoraa.notifications``): a
lead assigned to them, a HOT lead. Each use case calls these inside its transaction; the
notifications are created once it commits, so a rolled-back change tells nobody. Nobody is
told what they did themselves (a rep who takes a lead from the queue knows it is theirs).

A notification holds what the rep needs to act on (the lead's name, channel and budget);
logs hold ids only.
"""

from collections.abc import Iterable
from datetime import datetime

from django.urls import reverse

from flexoraa.models import MANAGING_ROLES, Membership, NotificationKind, Organization
from flexoraa.notifications import NotificationDraft, notify_many_after_commit
from leads.models import AssignmentReason, Lead, LeadAssignment, Source, Tier, Timeline
from leads.scoring import PERIOD_WORDS, money_words

NEED_WORDS = 160


def lead_path(lead_id: int) -> str:
    return reverse("leads:detail", args=[lead_id])


def lead_label(lead: Lead) -> str:
    """The lead as a rep recognises it: "Priya Sharma (WhatsApp)"."""
    try:
        channel = Source(lead.source).label
    except ValueError:
        channel = lead.source
    return f"{lead} ({channel})"


def budget_words(lead: Lead) -> str:
    if lead.budget_amount is None or not lead.budget_currency:
        return ""
    words = money_words(lead.budget_amount, lead.budget_currency)
    period = PERIOD_WORDS.get(lead.budget_period)
    return f"{words} {period}" if period else words


def lead_facts(lead: Lead) -> str:
    """A line of what the lead said: score, budget, need and timeline."""
    facts = [f"{Tier(lead.tier).label} · score {lead.score}"]
    budget = budget_words(lead)
    if budget:
        facts.append(f"budget {budget}")
    if lead.timeline:
        facts.append(f"timeline: {Timeline(lead.timeline).label.lower()}")
    need = " ".join((lead.need or "").split())
    if need:
        facts.append(f"needs: {need[:NEED_WORDS]}{'…' if len(need) > NEED_WORDS else ''}")
    return " · ".join(facts)


def _due_words(lead: Lead, at: datetime) -> str:
    due = lead.first_response_due_at
    if due is None or lead.first_response_at is not None:
        return ""
    minutes = max(0, round((due - at).total_seconds() / 60))
    return f"First response due within {minutes} min." if minutes < 120 else ""


def manager_ids(org: Organization) -> list[int]:
    return list(
        Membership.objects.for_org(org).filter(role__in=MANAGING_ROLES).order_by("pk")
        .values_list("pk", flat=True)
    )


def lead_hot_notify(
    *, org: Organization, lead: Lead, at: datetime, by: Membership | None = None,
    managers: Iterable[int] | None = None,
) -> None:
    """The lead is HOT now (it came in HOT, or its tier rose to HOT): tell its owner, or,
    while nobody holds it, the managers (``managers`` when the caller has them loaded). Once
    per rise: a lead that cools and heats up again is told again."""
    if lead.owner_id is not None:
        recipients = [lead.owner_id]
    else:
        recipients = list(managers) if managers is not None else manager_ids(org)
    recipients = [pk for pk in recipients if by is None or pk != by.pk]
    budget = budget_words(lead)
    title = f"HOT lead: {lead_label(lead)}" + (f" — budget {budget}" if budget else "")
    body = "\n".join(filter(None, (
        lead_facts(lead),
        _due_words(lead, at),
        "" if lead.owner_id else "Nobody in the HOT pool has room: it waits in the "
                                 "unassigned queue.",
    )))
    notify_many_after_commit(org=org, drafts=[
        NotificationDraft(recipient_id=pk, kind=NotificationKind.LEAD_HOT, title=title,
                          body=body, url=lead_path(lead.pk),
                          dedupe_key=f"lead:{lead.pk}:hot:{at.isoformat()}")
        for pk in recipients
    ])


def leads_assigned_notify(
    *, org: Organization, assigned: Iterable[tuple[Lead, LeadAssignment]],
    by: Membership | None = None,
) -> None:
    """Each new owner hears of each lead given to them (routed, re-routed, drained from the
    queue, moved by leakage, escalated, reassigned by hand); one creation after the commit
    however many. Not the person who gave it to themself."""
    drafts = []
    for lead, assignment in assigned:
        owner = assignment.to_owner_id
        if owner == assignment.actor_id or (by is not None and owner == by.pk):
            continue
        if assignment.pk is not None:
            event = str(assignment.pk)
        else:  # a backend that does not return the ids of a bulk insert
            event = f"{owner}:{assignment.created_at.isoformat()}"
        escalated = assignment.reason == AssignmentReason.ESCALATION
        title = (f"Lead {'escalated' if escalated else 'assigned'} to you: "
                 f"{lead_label(lead)}")
        why = AssignmentReason(assignment.reason).label
        if assignment.detail:
            why = f"{why}: {assignment.detail}"
        body = "\n".join(filter(None, (why, lead_facts(lead),
                                       _due_words(lead, assignment.created_at))))
        drafts.append(NotificationDraft(
            recipient_id=owner, kind=NotificationKind.LEAD_ASSIGNED, title=title, body=body,
            url=lead_path(lead.pk), dedupe_key=f"lead:{lead.pk}:assigned:{event}",
        ))
    notify_many_after_commit(org=org, drafts=drafts)

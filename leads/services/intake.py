"""Leads coming in: validation, verification, dedupe and merge, scoring, routing and the SLA
clock, in one transaction."""

from dataclasses import dataclass, fields, replace
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from flexoraa.actors import Actor
from flexoraa.errors import Conflict, ValidationFailed
from flexoraa.models import Organization
from flexoraa.selectors import actor_membership
from flexoraa.services import audit_event_record
from leads.errors import InvalidContact
from leads.models import (
    Lead,
    LeadEvent,
    Source,
    Tier,
    VerificationStatus,
)
from leads.services import notices, sla_warning
from leads.services.assignment import OrgRouter, assignment_apply
from leads.services.common import (
    BusinessClock,
    qualification_problems,
    refuse,
    score_apply,
    settings_locked,
    timeline_event,
)
from leads.services.reading import (
    MessageReading,
    analysed_event,
    first_message_apply,
    reading_check,
)
from leads.services.rescoring import rescore
from leads.verification import ContactCheck, contact_check

QUALIFICATION_FIELDS = ("need", "budget_amount", "budget_currency", "authority", "timeline")
# Sources whose answers may replace what a lead already holds: authenticated integrations, the
# team itself, and messaging channels that prove the sender. The public web form does not.
OVERWRITING_SOURCES = frozenset(Source.values) - {Source.WEB_FORM}


@dataclass(frozen=True)
class LeadInput:
    """What an intake channel knows about a lead. Blank means "not known"."""

    name: str = ""
    phone: str = ""
    email: str = ""
    need: str = ""
    budget_amount: Decimal | None = None
    budget_currency: str = ""
    authority: str = ""
    timeline: str = ""


@dataclass(frozen=True)
class IntakeResult:
    lead: Lead
    created: bool  # False: merged into an existing lead with the same phone or email


def verification_status(stored: dict) -> str:
    checks = [stored[key]["ok"] for key in ("phone", "email") if key in stored]
    if not checks or not any(checks):
        return VerificationStatus.FAILED
    return VerificationStatus.VERIFIED if all(checks) else VerificationStatus.PARTIAL


def _normalized(data: LeadInput) -> LeadInput:
    currency = (data.budget_currency or "").strip().upper()
    amount = data.budget_amount
    return LeadInput(
        name=(data.name or "").strip(), phone=(data.phone or "").strip(),
        email=(data.email or "").strip(), need=(data.need or "").strip(),
        budget_amount=None if amount in (None, "") else amount,
        budget_currency=currency, authority=(data.authority or "").strip(),
        timeline=(data.timeline or "").strip(),
    )


def lead_input_check(
    *, org: Organization, data: LeadInput, contact_required: bool = True
) -> tuple[LeadInput, ContactCheck]:
    """Validate an intake without writing. Raises ``InvalidContact`` for a phone or email that
    cannot be real and ``ValidationFailed`` for other fields, naming each field and why."""
    data = _normalized(data)
    problems = qualification_problems({f.name: getattr(data, f.name) for f in fields(data)})
    checked = None
    if not {"phone", "email"} & set(problems):
        checked = contact_check(phone=data.phone, email=data.email, region=org.country or "IN",
                                required=contact_required)
        # Every problem is told at once: contacts first, as people read the form.
        problems = {**checked.problems, **problems}
    if problems:
        only_contacts = checked is not None and set(problems) == set(checked.problems)
        refuse(problems, InvalidContact if only_contacts else ValidationFailed)
    if data.budget_amount is not None:
        data = replace(data, budget_amount=Decimal(str(data.budget_amount)))
    return data, checked


class _DuplicateRace(Exception):
    """Another intake inserted the same phone or email first; start over and merge."""


def lead_intake(
    *, org: Organization, data: LeadInput, source: str, actor: Actor,
    contact_required: bool = True, first_message: MessageReading | None = None,
) -> IntakeResult:
    """Take in a lead from any channel: verify, dedupe, score, route and start the SLA clock.

    A lead that a message creates comes with that message's reading (``first_message``): it
    is scored with what the message said before it is routed, and its clock starts at the
    message. When the lead already exists (a merge), the reading is not applied here: the
    caller records the message on the lead as any later one.

    The same phone or email in the tenant merges into the existing lead (recorded on its
    timeline). ``contact_required=False`` is for a messaging channel that reaches the person
    by its own id (an Instagram or Messenger sender): such a lead may have neither phone nor
    email, and the channel's conversation is what finds it again.
    Raises ``InvalidContact`` / ``ValidationFailed`` naming the field.
    """
    if source not in Source.values:
        refuse({"source": f"Unknown source '{source}'; choose one of {', '.join(Source.values)}."})
    data, checked = lead_input_check(org=org, data=data, contact_required=contact_required)
    if first_message is not None:
        reading_check(first_message)
    for _attempt in range(3):
        try:
            with transaction.atomic():
                return _intake_once(org=org, data=data, checked=checked, source=source,
                                    actor=actor, first_message=first_message)
        except _DuplicateRace:
            continue
    raise Conflict("This lead is being created by another request right now; try again.")


def _duplicates(org: Organization, *, phone: str, email: str):
    match = Q()
    if phone:
        match |= Q(phone=phone)
    if email:
        match |= Q(email=email)
    return Lead.objects.for_org(org).filter(match).order_by("pk")


def _intake_once(*, org, data: LeadInput, checked: ContactCheck, source: str, actor: Actor,
                 first_message: MessageReading | None):
    phone = checked.phone.e164 if checked.phone else ""
    email = checked.email.address if checked.email else ""
    # A lead known only by a channel id (Instagram, Messenger) has nothing to merge on here;
    # the channel's conversation is what finds it again.
    existing = list(
        _duplicates(org, phone=phone, email=email).select_for_update(of=("self",))
    ) if phone or email else []
    if existing:
        lead = _merge(org=org, lead=existing[0], others=existing[1:], data=data, phone=phone,
                      email=email, checked=checked, source=source, actor=actor)
        return IntakeResult(lead=lead, created=False)

    now = timezone.now()
    lead_settings = settings_locked(org)
    verification = checked.as_stored()
    lead = Lead(
        organization=org, name=data.name, phone=phone, email=email, source=source,
        need=data.need, budget_amount=data.budget_amount, budget_currency=data.budget_currency,
        authority=data.authority, timeline=data.timeline, verification=verification,
        verification_status=verification_status(verification),
    )
    start = now
    if first_message is not None:
        first_message_apply(lead, first_message)
        # The lead has waited since it wrote (a delivery retried late), never since the future.
        start = min(first_message.at, now)
    result = score_apply(lead, lead_settings)
    clock = BusinessClock(org, lead_settings)
    lead.first_response_due_at = clock.first_response_due(start, lead.tier)
    lead.first_response_warn_at = sla_warning.warn_at(clock, start, lead.tier)
    router = OrgRouter(org, lead_settings)
    decision = router.decide(lead.tier)
    rows = assignment_apply(org=org, lead=lead, decision=decision, at=now, clock=clock,
                            router=router)
    try:
        with transaction.atomic():
            lead.save(force_insert=True)
    except IntegrityError as exc:
        raise _DuplicateRace from exc
    router.save()
    by = actor_membership(org, actor)
    events = [
        timeline_event(org=org, lead=lead, kind=LeadEvent.Kind.CREATED, at=now, actor=by,
                       data={"source": source, "verification": lead.verification_status}),
    ]
    read = None if first_message is None else analysed_event(
        org=org, lead=lead, reading=first_message, at=now)
    if read is not None:
        events.append(read)
    events.append(timeline_event(
        org=org, lead=lead, kind=LeadEvent.Kind.SCORED, at=now,
        data={"score": result.total, "tier": result.tier,
              "reason": "its first message" if first_message else "what it came in with"}))
    if rows is not None:
        assignment, assigned_event = rows
        assignment.save()
        events.append(assigned_event)
    else:
        events.append(timeline_event(
            org=org, lead=lead, kind=LeadEvent.Kind.QUEUED, at=now,
            data={"tier": lead.tier, "detail": decision.detail}))
    LeadEvent.objects.bulk_create(events)
    audit_event_record(
        org=org, actor=actor, action="lead.created", target=lead,
        data={"source": source, "tier": lead.tier, "score": lead.score, "owner": lead.owner_id,
              "reason": decision.reason},
    )
    # A HOT lead is told as HOT (to its owner, or the managers while nobody holds it), which
    # says it is theirs too: one notification, not two.
    if lead.tier == Tier.HOT:
        notices.lead_hot_notify(org=org, lead=lead, at=now, by=by, managers=router.managers)
    elif rows is not None:
        notices.leads_assigned_notify(org=org, assigned=[(lead, rows[0])], by=by)
    return IntakeResult(lead=lead, created=True)


def _merge(*, org, lead: Lead, others: list[Lead], data: LeadInput, phone: str, email: str,
           checked: ContactCheck, source: str, actor: Actor) -> Lead:
    changed: list[str] = []
    notes: dict = {"source": source}
    if data.name and not lead.name:
        lead.name = data.name
        changed.append("name")
    verification = dict(lead.verification or {})
    stored = checked.as_stored()
    for field, value in (("phone", phone), ("email", email)):
        if not value or getattr(lead, field):
            continue
        if others and any(getattr(other, field) == value for other in others):
            # That contact already belongs to another lead; leads are not fused silently.
            notes.setdefault("also_matches", []).extend(
                other.pk for other in others if getattr(other, field) == value
            )
            continue
        setattr(lead, field, value)
        verification[field] = stored[field]
        changed.append(field)
    # Newer answers replace older ones, except from the anonymous web form: anyone who knows
    # a person's phone or email could otherwise rewrite (and cool down) their lead. Its
    # answers only fill blanks; the rest is kept on the timeline for the SDR to read.
    overwrite = source in OVERWRITING_SOURCES
    for field in QUALIFICATION_FIELDS:
        value = getattr(data, field)
        if value in ("", None) or getattr(lead, field) == value:
            continue
        if overwrite or getattr(lead, field) in ("", None):
            setattr(lead, field, value)
            changed.append(field)
        else:
            notes.setdefault("not_applied", []).append(field)
    if "phone" in changed or "email" in changed:
        lead.verification = verification
        lead.verification_status = verification_status(verification)
        changed += ["verification", "verification_status"]
    now = timezone.now()
    by_member = actor_membership(org, actor)
    if set(changed) & set(QUALIFICATION_FIELDS):
        changed += rescore(org, lead, now, reason=f"details from {source}", by=by_member)
    if changed:
        lead.save(update_fields=sorted({*changed, "updated_at"}))
    timeline_event(org=org, lead=lead, kind=LeadEvent.Kind.MERGED, at=now, actor=by_member,
                   data={**notes, "fields": sorted(set(changed))}).save()
    audit_event_record(
        org=org, actor=actor, action="lead.merged", target=lead,
        data={"source": source, "fields": sorted(set(changed)),
              "also_matches": notes.get("also_matches", [])},
    )
    return lead

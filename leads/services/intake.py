"""Leads coming in, and changing: intake with verification and dedupe, edits and status,
the first response, message activity and the NLU's reading."""

import re
from dataclasses import dataclass, fields, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from flexoraa.errors import Conflict, NotFound, ValidationFailed
from flexoraa.models import Organization
from flexoraa.services import audit_event_record
from leads import selectors
from leads.errors import InvalidContact, StatusChangeRefused
from leads.models import (
    OPEN_STATUSES,
    Authority,
    Intent,
    Lead,
    LeadEvent,
    Source,
    Status,
    Timeline,
    VerificationStatus,
)
from leads.services.assignment import OrgRouter, assignment_apply
from leads.services.common import (
    BusinessClock,
    actor_membership,
    audit_actor,
    score_apply,
    settings_locked,
    timeline_event,
)
from leads.verification import ContactCheck, contact_check

MAX_BUDGET = Decimal("999999999999.99")
CURRENCY_PATTERN = re.compile(r"^[A-Z]{3}$")
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


TEXT_FIELDS = ("name", "phone", "email", "need", "budget_currency")


def _qualification_problems(values: dict) -> dict[str, str]:
    problems = {}
    for field in TEXT_FIELDS:
        value = values.get(field)
        if isinstance(value, str) and "\x00" in value:
            problems[field] = "Remove the null character from this text."
    if "name" in values and len(values["name"] or "") > 200:
        problems["name"] = "Keep the name to 200 characters."
    if "need" in values and len(values["need"] or "") > 5000:
        problems["need"] = "Keep the need to 5,000 characters."
    if values.get("authority") not in (None, *Authority.values):
        problems["authority"] = (f"Unknown authority '{values['authority']}'; choose one of "
                                 f"{', '.join(v for v in Authority.values if v)}.")
    if values.get("timeline") not in (None, *Timeline.values):
        problems["timeline"] = (f"Unknown timeline '{values['timeline']}'; choose one of "
                                f"{', '.join(v for v in Timeline.values if v)}.")
    amount = values.get("budget_amount")
    if amount is not None:
        try:
            amount = Decimal(str(amount))
        except InvalidOperation:
            problems["budget_amount"] = "Give the budget as a number, like 250000."
        else:
            if not amount.is_finite() or amount < 0 or amount > MAX_BUDGET:
                problems["budget_amount"] = "Give a budget from 0 up to 999,999,999,999.99."
    currency = values.get("budget_currency")
    if currency and not CURRENCY_PATTERN.match(currency):
        problems["budget_currency"] = "Give a three-letter ISO currency code, like INR or USD."
    if amount is not None and "budget_amount" not in problems and not currency:
        problems["budget_currency"] = "Say which currency the budget is in, like INR or USD."
    return problems


def _refuse(problems: dict[str, str], error=ValidationFailed):
    field, reason = next(iter(problems.items()))
    raise error(f"{field}: {reason}", fields={name: [text] for name, text in problems.items()})


def _verification_status(stored: dict) -> str:
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


def lead_input_check(*, org: Organization, data: LeadInput) -> tuple[LeadInput, ContactCheck]:
    """Validate an intake without writing. Raises ``InvalidContact`` for a phone or email that
    cannot be real and ``ValidationFailed`` for other fields, naming each field and why."""
    data = _normalized(data)
    problems = _qualification_problems({f.name: getattr(data, f.name) for f in fields(data)})
    checked = None
    if not {"phone", "email"} & set(problems):
        checked = contact_check(phone=data.phone, email=data.email, region=org.country or "IN")
        # Every problem is told at once: contacts first, as people read the form.
        problems = {**checked.problems, **problems}
    if problems:
        only_contacts = checked is not None and set(problems) == set(checked.problems)
        _refuse(problems, InvalidContact if only_contacts else ValidationFailed)
    if data.budget_amount is not None:
        data = replace(data, budget_amount=Decimal(str(data.budget_amount)))
    return data, checked


class _DuplicateRace(Exception):
    """Another intake inserted the same phone or email first; start over and merge."""


def lead_intake(
    *, org: Organization, data: LeadInput, source: str, actor=None
) -> IntakeResult:
    """Take in a lead from any channel: verify, dedupe, score, route and start the SLA clock.

    The same phone or email in the tenant merges into the existing lead (recorded on its
    timeline). Raises ``InvalidContact`` / ``ValidationFailed`` naming the field.
    """
    if source not in Source.values:
        _refuse({"source": f"Unknown source '{source}'; choose one of {', '.join(Source.values)}."})
    data, checked = lead_input_check(org=org, data=data)
    for _attempt in range(3):
        try:
            with transaction.atomic():
                return _intake_once(org=org, data=data, checked=checked, source=source,
                                    actor=actor)
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


def _intake_once(*, org, data: LeadInput, checked: ContactCheck, source: str, actor):
    phone = checked.phone.e164 if checked.phone else ""
    email = checked.email.address if checked.email else ""
    existing = list(_duplicates(org, phone=phone, email=email).select_for_update(of=("self",)))
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
        verification_status=_verification_status(verification),
    )
    result = score_apply(lead, lead_settings)
    clock = BusinessClock(org, lead_settings)
    lead.first_response_due_at = clock.first_response_due(now, lead.tier)
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
        timeline_event(org=org, lead=lead, kind=LeadEvent.Kind.SCORED, at=now,
                       data={"score": result.total, "tier": result.tier}),
    ]
    if rows is not None:
        assignment, assigned_event = rows
        assignment.save()
        events.append(assigned_event)
    LeadEvent.objects.bulk_create(events)
    audit_event_record(
        org=org, actor=audit_actor(actor), action="lead.created", target=lead,
        data={"source": source, "tier": lead.tier, "score": lead.score, "owner": lead.owner_id,
              "reason": decision.reason},
    )
    return IntakeResult(lead=lead, created=True)


def _merge(*, org, lead: Lead, others: list[Lead], data: LeadInput, phone: str, email: str,
           checked: ContactCheck, source: str, actor) -> Lead:
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
        lead.verification_status = _verification_status(verification)
        changed += ["verification", "verification_status"]
    now = timezone.now()
    changed += _rescore(org, lead, now) if set(changed) & set(QUALIFICATION_FIELDS) else []
    if changed:
        lead.save(update_fields=sorted({*changed, "updated_at"}))
    by = actor_membership(org, actor)
    timeline_event(org=org, lead=lead, kind=LeadEvent.Kind.MERGED, at=now, actor=by,
                   data={**notes, "fields": sorted(set(changed))}).save()
    audit_event_record(
        org=org, actor=audit_actor(actor), action="lead.merged", target=lead,
        data={"source": source, "fields": sorted(set(changed)),
              "also_matches": notes.get("also_matches", [])},
    )
    return lead


def _rescore(org: Organization, lead: Lead, now: datetime) -> list[str]:
    """Score again; a lead that turned hotter before its first response gets the faster target
    from now on. Returns the fields it changed."""
    lead_settings = selectors.lead_settings_for(org)
    old_tier, old_score = lead.tier, lead.score
    result = score_apply(lead, lead_settings)
    changed = ["score", "tier", "score_breakdown"]
    if (result.tier != old_tier and lead.first_response_at is None
            and lead.sla_breached_at is None and lead.first_response_due_at is not None):
        sooner = BusinessClock(org, lead_settings).first_response_due(now, result.tier)
        if sooner < lead.first_response_due_at:
            lead.first_response_due_at = sooner
            changed.append("first_response_due_at")
    if (result.total, result.tier) != (old_score, old_tier):
        timeline_event(org=org, lead=lead, kind=LeadEvent.Kind.SCORED, at=now,
                       data={"score": result.total, "tier": result.tier,
                             "was": {"score": old_score, "tier": old_tier}}).save()
    return changed


# Where a status may go by hand. Opting out and anonymizing have their own use cases.
STATUS_FLOW = {
    Status.NEW: {Status.QUALIFYING, Status.QUALIFIED, Status.WON, Status.LOST},
    Status.QUALIFYING: {Status.QUALIFIED, Status.WON, Status.LOST},
    Status.QUALIFIED: {Status.QUALIFYING, Status.WON, Status.LOST},
    Status.LOST: {Status.QUALIFYING},
    Status.WON: set(),
    Status.OPTED_OUT: set(),
    Status.ANONYMIZED: set(),
}


def allowed_status_changes(lead: Lead) -> list[str]:
    """The statuses a person may move this lead to, in the order of the flow."""
    return [value for value in Status.values if value in STATUS_FLOW[lead.status]]


EDITABLE_FIELDS = frozenset({"name", "phone", "email", "status", *QUALIFICATION_FIELDS})


def lead_update(*, org: Organization, lead: Lead, actor, **changes) -> Lead:
    """Edit a lead's details, qualification or status; the owner's edit counts as acting on
    it (leakage stops). Rescoring follows a change of qualification.

    Raises ``ValidationFailed`` for an unknown field or value, ``InvalidContact`` for a bad
    phone or email, ``Conflict`` when another lead has that phone or email, and
    ``StatusChangeRefused`` for a status the lead cannot move to.
    """
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        _refuse({name: "This field cannot be changed here." for name in sorted(unknown)})
    if lead.organization_id != org.pk:
        raise NotFound("No such lead.")
    if "budget_currency" in changes:
        changes["budget_currency"] = (changes["budget_currency"] or "").strip().upper()
    elif changes.get("budget_amount") not in (None, "") and lead.budget_currency:
        changes["budget_currency"] = lead.budget_currency  # a new amount in the same currency
    problems = _qualification_problems(changes)
    if "status" in changes and changes["status"] not in Status.values:
        problems["status"] = (f"Unknown status '{changes['status']}'; choose one of "
                              f"{', '.join(Status.values)}.")
    if problems:
        _refuse(problems)
    contact = {k: (changes[k] or "").strip() for k in ("phone", "email") if k in changes}
    checked = contact_check(**contact, region=org.country or "IN") if any(
        contact.values()) else None
    if checked is not None:
        bad = {k: v for k, v in checked.problems.items() if contact.get(k)}
        if bad:
            _refuse(bad, InvalidContact)
        if checked.phone:
            changes["phone"] = checked.phone.e164
        if checked.email:
            changes["email"] = checked.email.address
    if changes.get("budget_amount") not in (None, ""):
        changes["budget_amount"] = Decimal(str(changes["budget_amount"]))

    with transaction.atomic():
        lead = Lead.objects.for_org(org).select_for_update(of=("self",)).get(pk=lead.pk)
        now = timezone.now()
        by = actor_membership(org, actor)
        changes = {k: v for k, v in changes.items() if getattr(lead, k) != v}
        new_status = changes.get("status")
        if new_status is not None and new_status not in STATUS_FLOW[lead.status]:
            allowed = ", ".join(Status(value).label.lower()
                                for value in allowed_status_changes(lead))
            raise StatusChangeRefused(
                f"A {lead.get_status_display().lower()} lead cannot become "
                f"{Status(new_status).label.lower()}; it can become "
                f"{allowed or 'nothing else (it is final)'}.",
                fields={"status": ["Not allowed from the current status."]},
            )
        for field in ("phone", "email"):
            value = changes.get(field)
            if value and Lead.objects.for_org(org).filter(**{field: value}).exclude(
                pk=lead.pk
            ).exists():
                raise Conflict(f"Another lead already has this {field}.",
                               fields={field: [f"Another lead already has this {field}."]})
        updated = set(changes)
        for field, value in changes.items():
            setattr(lead, field, value)
        if "phone" in changes or "email" in changes:
            verification = dict(lead.verification or {})
            for field, value in (("phone", lead.phone), ("email", lead.email)):
                if field in changes:
                    if value:
                        verification[field] = checked.as_stored()[field]
                    else:
                        verification.pop(field, None)
            lead.verification = verification
            lead.verification_status = _verification_status(verification)
            updated |= {"verification", "verification_status"}
        if new_status is not None:
            updated |= _status_effects(lead)
            timeline_event(org=org, lead=lead, kind=LeadEvent.Kind.STATUS, at=now, actor=by,
                           data={"to": new_status}).save()
        if set(changes) & set(QUALIFICATION_FIELDS):
            updated |= set(_rescore(org, lead, now))
        if by is not None and by.pk == lead.owner_id and lead.leak_due_at is not None:
            lead.leak_due_at = None  # the owner is working it
            updated.add("leak_due_at")
        if not updated:
            return lead
        lead.save(update_fields=sorted(updated | {"updated_at"}))
        details = sorted(set(changes) - {"status"})
        if details:
            timeline_event(org=org, lead=lead, kind=LeadEvent.Kind.UPDATED, at=now, actor=by,
                           data={"fields": details}).save()
        audit_event_record(org=org, actor=audit_actor(actor), action="lead.updated",
                           target=lead, data={"fields": sorted(changes)})
    return lead


def _status_effects(lead: Lead) -> set[str]:
    """A closed lead leaves the SLA and leakage watches; a reopened one does not rejoin them."""
    if lead.status in OPEN_STATUSES:
        return set()
    lead.leak_due_at = None
    touched = {"leak_due_at"}
    if lead.first_response_at is None:
        lead.first_response_due_at = None
        touched.add("first_response_due_at")
    return touched


def lead_mark_first_response(
    *, org: Organization, lead: Lead, at: datetime | None = None, actor=None
) -> Lead:
    """Record the first reply to the lead (the inbox calls this when an SDR replies). Later
    calls change nothing. Stops the leakage clock. Raises ``NotFound`` across tenants."""
    if lead.organization_id != org.pk:
        raise NotFound("No such lead.")
    at = at or timezone.now()
    with transaction.atomic():
        lead = Lead.objects.for_org(org).select_for_update(of=("self",)).get(pk=lead.pk)
        if lead.first_response_at is not None:
            return lead
        lead.first_response_at = at
        lead.leak_due_at = None
        lead.last_outbound_at = max(filter(None, (lead.last_outbound_at, at)))
        lead.save(update_fields=["first_response_at", "leak_due_at", "last_outbound_at",
                                 "updated_at"])
        # A closed lead has no target any more: its reply neither met nor missed one.
        met = None if lead.first_response_due_at is None else at <= lead.first_response_due_at
        timeline_event(org=org, lead=lead, kind=LeadEvent.Kind.FIRST_RESPONSE, at=at,
                       actor=actor_membership(org, actor),
                       data={"met_sla": met}).save()
        audit_event_record(org=org, actor=audit_actor(actor), action="lead.first_response",
                           target=lead, data={"met_sla": met})
    return lead


def lead_message_record(
    *, org: Organization, lead: Lead, direction: str, at: datetime
) -> Lead:
    """Keep engagement up to date as messages pass (``direction`` is "inbound" or
    "outbound"); an inbound message rescores the lead. Raises ``ValidationFailed``."""
    if direction not in ("inbound", "outbound"):
        _refuse({"direction": "Say 'inbound' or 'outbound'."})
    if lead.organization_id != org.pk:
        raise NotFound("No such lead.")
    with transaction.atomic():
        lead = Lead.objects.for_org(org).select_for_update(of=("self",)).get(pk=lead.pk)
        if direction == "outbound":
            if lead.last_outbound_at is None or at > lead.last_outbound_at:
                lead.last_outbound_at = at
                lead.save(update_fields=["last_outbound_at", "updated_at"])
            return lead
        lead.inbound_count += 1
        updated = {"inbound_count", "last_inbound_at"}
        if lead.last_outbound_at is not None and (
            lead.last_inbound_at is None or lead.last_inbound_at <= lead.last_outbound_at
        ) and at >= lead.last_outbound_at:
            lead.last_reply_seconds = int((at - lead.last_outbound_at).total_seconds())
            updated.add("last_reply_seconds")
        if lead.last_inbound_at is None or at > lead.last_inbound_at:
            lead.last_inbound_at = at
        updated |= set(_rescore(org, lead, timezone.now()))
        lead.save(update_fields=sorted(updated | {"updated_at"}))
    return lead


def lead_analysis_record(
    *, org: Organization, lead: Lead, intent: str, confidence: float | None = None,
    budget_amount: Decimal | None = None, budget_currency: str = "",
) -> Lead:
    """Take the NLU's reading of the lead's messages (intent, and a budget when it found one)
    and rescore. Raises ``ValidationFailed`` for an unknown intent or a bad budget."""
    problems = {}
    if intent not in Intent.values or not intent:
        problems["intent"] = "Say high, medium or low."
    if confidence is not None and not 0 <= confidence <= 1:
        problems["confidence"] = "Give a confidence from 0 to 1."
    if budget_amount is not None:
        problems.update(_qualification_problems(
            {"budget_amount": budget_amount, "budget_currency": budget_currency.upper()}
        ))
    if problems:
        _refuse(problems)
    if lead.organization_id != org.pk:
        raise NotFound("No such lead.")
    with transaction.atomic():
        lead = Lead.objects.for_org(org).select_for_update(of=("self",)).get(pk=lead.pk)
        lead.intent, lead.intent_confidence = intent, confidence
        updated = {"intent", "intent_confidence"}
        if budget_amount is not None:
            lead.budget_amount = Decimal(str(budget_amount))
            lead.budget_currency = budget_currency.upper()
            updated |= {"budget_amount", "budget_currency"}
        now = timezone.now()
        updated |= set(_rescore(org, lead, now))
        lead.save(update_fields=sorted(updated | {"updated_at"}))
        timeline_event(org=org, lead=lead, kind=LeadEvent.Kind.ANALYSED, at=now,
                       data={"intent": intent, "confidence": confidence,
                             "budget_found": budget_amount is not None}).save()
    return lead

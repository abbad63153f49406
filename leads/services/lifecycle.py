"""A lead's life after intake: edits and status, the first response, message activity and the
NLU's reading, each rescoring when it changes what the score reads."""

from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from flexoraa.actors import Actor
from flexoraa.errors import Conflict, NotFound
from flexoraa.models import Organization
from flexoraa.selectors import actor_membership
from flexoraa.services import audit_event_record
from leads.errors import InvalidContact, StatusChangeRefused
from leads.models import (
    OPEN_STATUSES,
    Lead,
    LeadEvent,
    Status,
)
from leads.services.common import (
    qualification_problems,
    refuse,
    timeline_event,
)
from leads.services.intake import QUALIFICATION_FIELDS, verification_status
from leads.services.lost_reasons import lost_reason_resolve
from leads.services.queue import queue_drain_after_commit
from leads.services.reading import (
    MessageReading,
    analysed_event,
    reading_apply,
    reading_check,
)
from leads.services.rescoring import rescore
from leads.verification import contact_check

# Where a status may go by hand. Opting out and anonymizing have their own use cases.
STATUS_FLOW = {
    Status.NEW: {Status.CONTACTED, Status.QUALIFYING, Status.QUALIFIED, Status.WON, Status.LOST},
    Status.CONTACTED: {Status.QUALIFYING, Status.QUALIFIED, Status.WON, Status.LOST},
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


def lead_update(*, org: Organization, lead: Lead, actor: Actor, lost_reason=None,
                **changes) -> Lead:
    """Edit a lead's details, qualification or status; the owner's edit counts as acting on
    it (leakage stops). Rescoring follows a change of qualification. Moving to lost takes a
    ``lost_reason`` (one of the tenant's active reasons, or its id); a lost lead may be given
    another; reopening clears it.

    Raises ``ValidationFailed`` for an unknown field or value (``lost_reason`` missing on the
    way to lost, another tenant's or retired, or given without lost), ``InvalidContact`` for
    a bad phone or email, ``Conflict`` when another lead has that phone or email, and
    ``StatusChangeRefused`` for a status the lead cannot move to.
    """
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        refuse({name: "This field cannot be changed here." for name in sorted(unknown)})
    if lead.organization_id != org.pk:
        raise NotFound("No such lead.")
    if "budget_currency" in changes:
        changes["budget_currency"] = (changes["budget_currency"] or "").strip().upper()
    elif changes.get("budget_amount") not in (None, "") and lead.budget_currency:
        changes["budget_currency"] = lead.budget_currency  # a new amount in the same currency
    problems = qualification_problems(changes)
    if "status" in changes and changes["status"] not in Status.values:
        problems["status"] = (f"Unknown status '{changes['status']}'; choose one of "
                              f"{', '.join(Status.values)}.")
    if problems:
        refuse(problems)
    contact = {k: (changes[k] or "").strip() for k in ("phone", "email") if k in changes}
    checked = contact_check(**contact, region=org.country or "IN") if any(
        contact.values()) else None
    if checked is not None:
        bad = {k: v for k, v in checked.problems.items() if contact.get(k)}
        if bad:
            refuse(bad, InvalidContact)
        if checked.phone:
            changes["phone"] = checked.phone.e164
        if checked.email:
            changes["email"] = checked.email.address
    if changes.get("budget_amount") not in (None, ""):
        changes["budget_amount"] = Decimal(str(changes["budget_amount"]))
    reason = None
    if changes.get("status") == Status.LOST or lost_reason not in (None, ""):
        reason = lost_reason_resolve(org=org, value=lost_reason)

    with transaction.atomic():
        lead = Lead.objects.for_org(org).select_for_update(of=("self",)).get(pk=lead.pk)
        now = timezone.now()
        by = actor_membership(org, actor)
        if reason is not None and changes.get("status", lead.status) != Status.LOST:
            refuse({"lost_reason": "Only a lead that is or becomes lost takes a lost reason."})
        changes = {k: v for k, v in changes.items() if getattr(lead, k) != v}
        if reason is not None and reason.pk != lead.lost_reason_id:
            changes["lost_reason"] = reason
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
            lead.verification_status = verification_status(verification)
            updated |= {"verification", "verification_status"}
        if new_status is not None:
            updated |= _status_effects(lead)
            if lead.owner_id is not None and not lead.is_open:
                queue_drain_after_commit(org.pk)  # its owner has room for a queued lead
            if new_status != Status.LOST and lead.lost_reason_id is not None:
                lead.lost_reason = None  # reopened: the reason no longer holds
                updated.add("lost_reason")
            data = {"to": new_status}
            if new_status == Status.LOST:
                # The label as it was chosen: a later rename does not rewrite history.
                data.update(lost_reason=reason.pk, lost_reason_label=reason.label)
            timeline_event(org=org, lead=lead, kind=LeadEvent.Kind.STATUS, at=now, actor=by,
                           data=data).save()
        stated = set(changes) & {"budget_amount", "timeline", "authority"}
        if stated:
            # A value set by hand is no longer the lead's words; a budget typed in is in all.
            evidence = {k: v for k, v in (lead.evidence or {}).items() if k not in stated}
            if evidence != (lead.evidence or {}):
                lead.evidence = evidence
                updated.add("evidence")
            if "budget_amount" in stated and lead.budget_period:
                lead.budget_period = ""
                updated.add("budget_period")
        if set(changes) & set(QUALIFICATION_FIELDS):
            updated |= set(rescore(org, lead, now, reason="an edit by a person", by=by))
        if by is not None and by.pk == lead.owner_id and lead.leak_due_at is not None:
            lead.leak_due_at = None  # the owner is working it
            updated.add("leak_due_at")
        if not updated:
            return lead
        lead.save(update_fields=sorted(updated | {"updated_at"}))
        details = sorted(set(changes) - {"status"} - ({"lost_reason"} if new_status else set()))
        if details:
            data = {"fields": details}
            if "lost_reason" in details:
                data.update(lost_reason=reason.pk, lost_reason_label=reason.label)
            timeline_event(org=org, lead=lead, kind=LeadEvent.Kind.UPDATED, at=now, actor=by,
                           data=data).save()
        audit_event_record(org=org, actor=actor, action="lead.updated",
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
    *, org: Organization, lead: Lead, actor: Actor, at: datetime | None = None
) -> Lead:
    """Record the first reply to the lead (the inbox calls this when an SDR replies). Later
    calls change nothing. Stops the leakage clock, and a new lead becomes contacted. Raises
    ``NotFound`` across tenants."""
    if lead.organization_id != org.pk:
        raise NotFound("No such lead.")
    at = at or timezone.now()
    with transaction.atomic():
        lead = Lead.objects.for_org(org).select_for_update(of=("self",)).get(pk=lead.pk)
        if lead.first_response_at is not None:
            return lead
        by = actor_membership(org, actor)
        lead.first_response_at = at
        lead.leak_due_at = None
        lead.last_outbound_at = max(filter(None, (lead.last_outbound_at, at)))
        updated = ["first_response_at", "leak_due_at", "last_outbound_at", "updated_at"]
        contacted = lead.status == Status.NEW
        if contacted:
            lead.status = Status.CONTACTED
            updated.append("status")
        lead.save(update_fields=updated)
        # A closed lead has no target any more: its reply neither met nor missed one.
        met = None if lead.first_response_due_at is None else at <= lead.first_response_due_at
        timeline_event(org=org, lead=lead, kind=LeadEvent.Kind.FIRST_RESPONSE, at=at,
                       actor=by, data={"met_sla": met}).save()
        if contacted:
            timeline_event(org=org, lead=lead, kind=LeadEvent.Kind.STATUS, at=at, actor=by,
                           data={"to": Status.CONTACTED, "on": "first_response"}).save()
        audit_event_record(org=org, actor=actor, action="lead.first_response",
                           target=lead, data={"met_sla": met, "contacted": contacted})
    return lead


def lead_lock(*, org: Organization, lead: Lead) -> Lead:
    """Lock the lead's row for the rest of the caller's transaction and return it fresh.
    Whoever writes a lead and its conversations takes the lead first, so no two writers wait
    on each other in opposite orders. Raises ``NotFound`` across tenants."""
    if lead.organization_id != org.pk:
        raise NotFound("No such lead.")
    return Lead.objects.for_org(org).select_for_update(of=("self",)).get(pk=lead.pk)


def lead_message_record(
    *, org: Organization, lead: Lead, direction: str, at: datetime,
    reading: MessageReading | None = None,
) -> Lead:
    """Keep engagement up to date as messages pass (``direction`` is "inbound" or
    "outbound"). An inbound message rescores the lead with what it said (``reading``, the
    NLU's reading handed over by the agent): a rise in tier tightens the clock from the
    message and re-routes (see ``rescore``). A message older than the newest one already
    counted does not overwrite what the newer one said. Raises ``ValidationFailed``."""
    if direction not in ("inbound", "outbound"):
        refuse({"direction": "Say 'inbound' or 'outbound'."})
    if reading is not None:
        reading_check(reading)
    if lead.organization_id != org.pk:
        raise NotFound("No such lead.")
    with transaction.atomic():
        lead = Lead.objects.for_org(org).select_for_update(of=("self",)).get(pk=lead.pk)
        if direction == "outbound":
            if lead.last_outbound_at is None or at > lead.last_outbound_at:
                lead.last_outbound_at = at
                lead.save(update_fields=["last_outbound_at", "updated_at"])
            return lead
        now = timezone.now()
        lead.inbound_count += 1
        updated = {"inbound_count", "last_inbound_at"}
        if lead.last_outbound_at is not None and (
            lead.last_inbound_at is None or lead.last_inbound_at <= lead.last_outbound_at
        ) and at >= lead.last_outbound_at:
            lead.last_reply_seconds = int((at - lead.last_outbound_at).total_seconds())
            updated.add("last_reply_seconds")
        newest = lead.last_inbound_at is None or at >= lead.last_inbound_at
        if newest:
            lead.last_inbound_at = at
        if reading is not None and newest:
            updated |= reading_apply(lead, reading)
            read = analysed_event(org=org, lead=lead, reading=reading, at=now)
            if read is not None:
                read.save()
        updated |= set(rescore(org, lead, now, reason="a message from the lead", at=at))
        lead.save(update_fields=sorted(updated | {"updated_at"}))
    return lead


def lead_opt_out(*, org: Organization, lead: Lead, at: datetime, channel: str,
                 actor: Actor, evidence: str = "") -> Lead:
    """The lead withdrew consent (an inbound STOP or unsubscribe): mark it opted out, record
    the withdrawal on its timeline and in the audit log. No marketing or AI message may go to
    it afterwards. Repeating it changes nothing. ``evidence`` is a short code such as the
    channel message id, never the text. ``actor`` is whoever carried the message in (a
    webhook, a mailbox poll). Raises ``NotFound`` across tenants."""
    if lead.organization_id != org.pk:
        raise NotFound("No such lead.")
    with transaction.atomic():
        lead = Lead.objects.for_org(org).select_for_update(of=("self",)).get(pk=lead.pk)
        if lead.status in (Status.OPTED_OUT, Status.ANONYMIZED):
            return lead
        previous = lead.status
        lead.status = Status.OPTED_OUT
        touched = {"status"} | _status_effects(lead)
        if lead.owner_id is not None and previous in OPEN_STATUSES:
            queue_drain_after_commit(org.pk)  # its owner has room for a queued lead
        lead.save(update_fields=sorted(touched | {"updated_at"}))
        data = {"channel": channel, "from": previous, "evidence": evidence[:200]}
        timeline_event(org=org, lead=lead, kind=LeadEvent.Kind.OPTED_OUT, at=at,
                       data=data).save()
        audit_event_record(org=org, actor=actor, action="lead.consent_withdrawn", target=lead,
                           data=data)
    return lead

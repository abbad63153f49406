"""What one inbound message told us, applied to its lead: the NLU's reading (intent, budget,
timeline, authority and the lead's words for each), handed over by the agent so that leads
never imports it."""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from leads import scoring, selectors
from leads.models import (
    Authority,
    BudgetPeriod,
    Intent,
    Lead,
    LeadEvent,
    LeadSettings,
    Timeline,
)
from leads.services.common import (
    qualification_problems,
    refuse,
    score_apply,
    timeline_event,
)

# Acts that carry nothing about buying: a "thanks" or a "hi" after "book me tomorrow" does not
# cool the lead down. They may still raise the intent of a lead nobody has read yet.
CONTENT_FREE_ACTS = frozenset({"greeting", "other"})
INTENT_RANK = {"": -1, Intent.LOW: 0, Intent.MEDIUM: 1, Intent.HIGH: 2}
EVIDENCE_MAX = 120


@dataclass(frozen=True)
class MessageReading:
    """One inbound message as the lead's record needs it. Blank means "the message did not
    say"; ``evidence`` holds the lead's own words by factor ({"timeline": "tonight"})."""

    at: datetime
    intent: str = ""
    confidence: float | None = None
    act: str = ""
    budget_amount: Decimal | None = None
    budget_currency: str = ""
    budget_period: str = ""
    timeline: str = ""
    authority: str = ""
    evidence: dict = field(default_factory=dict)


def reading_check(reading: MessageReading) -> None:
    """Raises ``ValidationFailed`` naming each field the reading got wrong."""
    problems = {}
    if reading.intent not in Intent.values:
        problems["intent"] = "Say high, medium or low."
    if reading.confidence is not None and not 0 <= reading.confidence <= 1:
        problems["confidence"] = "Give a confidence from 0 to 1."
    if reading.budget_period not in BudgetPeriod.values:
        problems["budget_period"] = "Say day, week, month or year, or leave it blank."
    problems.update(qualification_problems({
        "timeline": reading.timeline, "authority": reading.authority,
        **({"budget_amount": reading.budget_amount,
            "budget_currency": reading.budget_currency.upper()}
           if reading.budget_amount is not None else {}),
    }))
    if problems:
        refuse(problems)


def analysed_event(*, org, lead: Lead, reading: MessageReading, at: datetime):
    """The timeline's "message read" entry for a reading (unsaved), or None when the NLU read
    nothing (an opt-out, or no model on this machine). Codes only, never the words."""
    if not reading.intent:
        return None
    return timeline_event(
        org=org, lead=lead, kind=LeadEvent.Kind.ANALYSED, at=at,
        data={"intent": reading.intent, "confidence": reading.confidence,
              "budget_found": reading.budget_amount is not None,
              "timeline": reading.timeline, "authority": reading.authority})


def first_message_apply(lead: Lead, reading: MessageReading) -> None:
    """A new (unsaved) lead takes its first message: what it said, and that it came."""
    reading_apply(lead, reading)
    lead.inbound_count = 1
    lead.last_inbound_at = reading.at


def first_touch_score(*, org, source: str, reading: MessageReading) -> scoring.Score:
    """The score a new lead from ``source`` would start with on this first message, with the
    tenant's settings; nothing is written (for reports such as ``evaluate_nlu --first-touch``).
    Raises ``ValidationFailed`` for a reading with a wrong field."""
    reading_check(reading)
    lead = Lead(organization=org, source=source)
    first_message_apply(lead, reading)
    # A tenant not saved (a report on the defaults) has the default settings.
    lead_settings = (selectors.lead_settings_for(org) if org.pk is not None
                     else LeadSettings(organization=org))
    return score_apply(lead, lead_settings)


def reading_apply(lead: Lead, reading: MessageReading) -> set[str]:
    """Set on the (locked or unsaved) lead what the message stated; returns the fields it
    changed. What a message does not state is kept from earlier ones."""
    changed: set[str] = set()
    evidence = dict(lead.evidence or {})
    if reading.intent and (
        reading.act not in CONTENT_FREE_ACTS
        or INTENT_RANK[reading.intent] > INTENT_RANK[lead.intent]
    ):
        lead.intent, lead.intent_confidence = reading.intent, reading.confidence
        changed |= {"intent", "intent_confidence"}
    if reading.budget_amount is not None:
        lead.budget_amount = Decimal(str(reading.budget_amount))
        lead.budget_currency = reading.budget_currency.upper()
        lead.budget_period = reading.budget_period
        changed |= {"budget_amount", "budget_currency", "budget_period"}
        _evidence_set(evidence, "budget", reading.evidence.get("budget"))
    for name, values in (("timeline", Timeline.values), ("authority", Authority.values)):
        value = getattr(reading, name)
        if value and value in values:
            setattr(lead, name, value)
            changed.add(name)
            _evidence_set(evidence, name, reading.evidence.get(name))
    if evidence != (lead.evidence or {}):
        lead.evidence = evidence
        changed.add("evidence")
    return changed


def _evidence_set(evidence: dict, name: str, words: str | None) -> None:
    words = " ".join((words or "").split())[:EVIDENCE_MAX]
    if words:
        evidence[name] = words
    else:
        evidence.pop(name, None)  # stated without words we can quote: the old quote is stale

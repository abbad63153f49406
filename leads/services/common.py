"""Pieces the LeadOS use cases share: the tenant's settings under lock, scoring a lead,
due times in business hours, and the timeline."""

import re
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction

from flexoraa.business_hours import add_business_time, parse_business_hours
from flexoraa.errors import ValidationFailed
from flexoraa.models import Membership, Organization
from leads import scoring
from leads.models import Authority, Lead, LeadEvent, LeadSettings, Timeline

MAX_BUDGET = Decimal("999999999999.99")
CURRENCY_PATTERN = re.compile(r"^[A-Z]{3}$")


TEXT_FIELDS = ("name", "phone", "email", "need", "budget_currency")


def qualification_problems(values: dict) -> dict[str, str]:
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


def refuse(problems: dict[str, str], error=ValidationFailed):
    field, reason = next(iter(problems.items()))
    raise error(f"{field}: {reason}", fields={name: [text] for name, text in problems.items()})


def settings_locked(org: Organization) -> LeadSettings:
    """The tenant's settings row, created on first use, locked until the transaction ends.

    The lock serialises routing per tenant (it holds the round-robin clock). Take it after
    any lead row locks and before the audit append, so lock order is always the same.
    """
    locked = LeadSettings.objects.for_org(org).select_for_update(no_key=True).first()
    if locked is not None:
        return locked
    try:
        with transaction.atomic():
            LeadSettings.objects.create(organization=org)
    except IntegrityError:
        pass  # created by a concurrent first use
    return LeadSettings.objects.for_org(org).select_for_update(no_key=True).get()


def scoring_input(lead: Lead, lead_settings: LeadSettings) -> scoring.ScoringInput:
    return scoring.ScoringInput(
        intent=lead.intent,
        intent_confidence=lead.intent_confidence,
        need=lead.need,
        budget_amount=lead.budget_amount,
        budget_currency=lead.budget_currency,
        target_deal_amount=lead_settings.target_deal_amount,
        target_deal_currency=lead_settings.target_deal_currency,
        budget_period=lead.budget_period,
        authority=lead.authority,
        timeline=lead.timeline,
        channel=lead.source,
        inbound_count=lead.inbound_count,
        last_reply_seconds=lead.last_reply_seconds,
        we_wrote=lead.last_outbound_at is not None,
        evidence=dict(lead.evidence or {}),
    )


def score_apply(lead: Lead, lead_settings: LeadSettings) -> scoring.Score:
    """Score the lead with the tenant's weights and thresholds; sets score, tier, breakdown."""
    result = scoring.score(
        scoring_input(lead, lead_settings),
        weights=scoring.Weights(
            intent=lead_settings.weight_intent, budget=lead_settings.weight_budget,
            authority=lead_settings.weight_authority, timeline=lead_settings.weight_timeline,
            engagement=lead_settings.weight_engagement,
        ),
        thresholds=scoring.Thresholds(
            hot=lead_settings.hot_threshold, warm=lead_settings.warm_threshold
        ),
    )
    lead.score = result.total
    lead.tier = result.tier
    lead.score_breakdown = result.as_breakdown()
    return result


class BusinessClock:
    """Due times counted in the tenant's business hours and time zone."""

    def __init__(self, org: Organization, lead_settings: LeadSettings):
        self.hours = parse_business_hours(org.business_hours or {})
        self.tz = ZoneInfo(org.timezone)
        self.settings = lead_settings

    def after(self, start: datetime, minutes: Decimal | int) -> datetime:
        return add_business_time(start, timedelta(minutes=float(minutes)), self.hours, self.tz)

    def first_response_due(self, start: datetime, tier: str) -> datetime:
        return self.after(start, self.settings.sla_minutes(tier))

    def leak_due(self, start: datetime, tier: str) -> datetime:
        return self.after(start, self.settings.sla_minutes(tier) * self.settings.leak_multiplier)


def timeline_event(
    *, org: Organization, lead: Lead, kind: str, at: datetime, actor: Membership | None = None,
    data: dict | None = None,
) -> LeadEvent:
    """A timeline entry, unsaved: callers save or bulk-create it."""
    return LeadEvent(
        organization=org, lead=lead, kind=kind, actor=actor, data=dict(data or {}), created_at=at
    )

"""Pieces the LeadOS use cases share: the tenant's settings under lock, scoring a lead,
due times in business hours, and the timeline."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction

from flexoraa.business_hours import add_business_time, parse_business_hours
from flexoraa.models import Membership, Organization
from leads import scoring
from leads.models import Lead, LeadEvent, LeadSettings


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
        authority=lead.authority,
        timeline=lead.timeline,
        channel=lead.source,
        inbound_count=lead.inbound_count,
        last_reply_seconds=lead.last_reply_seconds,
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

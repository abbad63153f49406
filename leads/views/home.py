"""LeadOS on the home page: the manager's pipeline, unassigned queue and 30-day trend; the
SDR's follow-ups due today, own queue and the team's room. Registered with the core's home
(``flexoraa.home``) from ``LeadsConfig.ready()``, so the core never imports LeadOS.

Each context function reads through ``leads.selectors`` in a fixed number of queries.
"""

from dataclasses import dataclass
from datetime import datetime

from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from flexoraa import charts, home
from flexoraa.models import Membership, Organization
from flexoraa.navigation import MANAGERS, SDRS
from leads import selectors
from leads.models import Status, Tier
from leads.views.common import duration_words, member_name, sla_state, span_words

UNASSIGNED_SHOWN = 5
QUEUE_SHOWN = 50
TREND_DAYS = 30


@dataclass(frozen=True)
class Due:
    words: str
    tone: str  # a CSS class: bad when past due, else due


def due_words(item: selectors.QueueItem, now: datetime) -> Due:
    """What falls due next on a row of an SDR's queue, and how long is left."""
    if item.due_at is None:
        return Due("nothing due", "muted")
    left = (item.due_at - now).total_seconds()
    if item.due == selectors.QueueItem.FIRST_RESPONSE:
        if left >= 0:
            return Due(f"first response due in {span_words(left)}", "due")
        return Due(f"first response overdue by {span_words(-left)}", "bad")
    if left >= 0:
        return Due(f"moves to someone else in {span_words(left)} unless you act", "due")
    return Due(f"moving to someone else: no action for {span_words(-left)} past the limit",
               "bad")


@dataclass(frozen=True)
class ResponseRow:
    tier: str
    label: str
    answered: int
    met: int
    target: str
    p50: str
    p90: str
    p50_tone: str
    p90_tone: str


def _tone(seconds: float | None, target_minutes: int) -> str:
    if seconds is None:
        return "muted"
    return "ok" if seconds <= target_minutes * 60 else "bad"


def _response_row(response: selectors.TierResponse) -> ResponseRow:
    return ResponseRow(
        tier=response.tier, label=Tier(response.tier).label, answered=response.answered,
        met=response.met, target=span_words(response.target_minutes * 60),
        p50=duration_words(response.p50_seconds), p90=duration_words(response.p90_seconds),
        p50_tone=_tone(response.p50_seconds, response.target_minutes),
        p90_tone=_tone(response.p90_seconds, response.target_minutes),
    )


def _queue_url() -> str:
    """The unassigned queue's own page, or the team queue filtered to nobody's leads where
    that page is not installed."""
    try:
        return reverse("leads:queue")
    except NoReverseMatch:
        return reverse("leads:team") + "?owner=none"


# --- the context of each section -----------------------------------------------------------

def team_room_context(org: Organization, membership: Membership) -> dict:
    return {"room": selectors.team_room(org)}


def pipeline_context(org: Organization, membership: Membership) -> dict:
    pipeline = selectors.pipeline_counts(org)
    return {
        "pipeline": pipeline,
        "tiers": [(tier, Tier(tier).label, count) for tier, count in pipeline.by_tier.items()],
        "stages": [(status, Status(status).label, count)
                   for status, count in pipeline.by_status.items()],
        "responses": [_response_row(response)
                      for response in selectors.first_responses_today(org)],
        "breaches": selectors.breach_counts(org),
        "room": selectors.team_room(org),
    }


def unassigned_context(org: Organization, membership: Membership) -> dict:
    queue = selectors.unassigned_leads(org)
    now = timezone.now()
    head = list(queue[:UNASSIGNED_SHOWN])
    for lead in head:
        lead.sla = sla_state(lead, now)
    return {"unassigned_count": queue.count(), "unassigned": head, "queue_url": _queue_url()}


def trend_context(org: Organization, membership: Membership) -> dict:
    trend = selectors.lead_trend(org, days=TREND_DAYS)
    tiers = selectors.TIERS_HOT_FIRST
    chart = charts.stacked_chart(
        [(day.day, [day.created[tier] for tier in tiers]) for day in trend.days],
        series=tiers, line=[day.breaches for day in trend.days],
    )
    busiest = max(trend.days, key=lambda day: day.total) if trend.created else None
    return {
        "trend": trend, "chart": chart, "busiest": busiest,
        "middle_day": trend.days[len(trend.days) // 2].day,
        "created_by_tier": [(tier, Tier(tier).label,
                             sum(day.created[tier] for day in trend.days)) for tier in tiers],
    }


def my_queue_context(org: Organization, membership: Membership) -> dict:
    now = timezone.now()
    items = selectors.sdr_queue(org, membership, limit=QUEUE_SHOWN)
    counts = selectors.owner_tier_counts(org, membership)
    return {
        "queue": [(item, due_words(item, now)) for item in items],
        "tier_counts": [(tier, Tier(tier).label, count) for tier, count in counts.items()],
        "open_total": sum(counts.values()),
        "queue_shown": QUEUE_SHOWN,
        "member_name": member_name(membership),
    }


def follow_ups_context(org: Organization, membership: Membership) -> dict:
    now = timezone.now()
    follow_ups = selectors.follow_ups_due_today(org, membership, now=now)
    rows = []
    for follow_up in follow_ups:
        left = (follow_up.due_at - now).total_seconds()
        due = (Due(f"due in {span_words(left)}", "due") if left > 0
               else Due(f"due {span_words(-left)} ago", "bad"))
        rows.append((follow_up, due))
    return {"follow_ups": rows, "follow_ups_shown": selectors.FOLLOW_UPS_SHOWN}


def register_home_sections() -> None:
    home.home_section_register(home.HomeSection(
        key="leads-team-room", template="leads/home/_team_room.html",
        context_fn=team_room_context, roles=SDRS, order=10, slot="figures",
        refresh_on=frozenset({home.AVAILABILITY}),
    ))
    home.home_section_register(home.HomeSection(
        key="leads-pipeline", template="leads/home/_pipeline.html",
        context_fn=pipeline_context, roles=MANAGERS, order=10,
    ))
    home.home_section_register(home.HomeSection(
        key="leads-unassigned", template="leads/home/_unassigned.html",
        context_fn=unassigned_context, roles=MANAGERS, order=20,
    ))
    home.home_section_register(home.HomeSection(
        key="leads-trend", template="leads/home/_trend.html",
        context_fn=trend_context, roles=MANAGERS, order=30,
    ))
    home.home_section_register(home.HomeSection(
        key="leads-my-queue", template="leads/home/_my_queue.html",
        context_fn=my_queue_context, roles=SDRS, order=10,
    ))
    home.home_section_register(home.HomeSection(
        key="leads-follow-ups", template="leads/home/_follow_ups.html",
        context_fn=follow_ups_context, roles=SDRS, order=5,
    ))

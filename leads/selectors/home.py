"""The home pages' figures and an SDR's queue."""


from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import (
    Case,
    Count,
    DateTimeField,
    F,
    IntegerField,
    Q,
    Value,
    When,
)
from django.db.models.functions import TruncDate
from django.utils import timezone

from flexoraa.models import Membership, Organization, Role
from leads.models import (
    OPEN_STATUSES,
    Lead,
    SlaBreach,
    Tier,
)

# OPEN_STATUSES and Status are also how other apps read lead statuses (never leads.models).
from leads.selectors.core import lead_settings_for, p50_p90, team_load

# --- the home pages ------------------------------------------------------------------------
# Each read below is one or two aggregate queries, whatever the number of leads, members or
# days, so the home page's query count stays fixed.

TIERS_HOT_FIRST = (Tier.HOT, Tier.WARM, Tier.COLD)


def tenant_day_bounds(org: Organization, now: datetime) -> tuple[datetime, datetime]:
    """Midnight to midnight of ``now``'s day in the tenant's time zone."""
    zone = ZoneInfo(org.timezone)
    day = now.astimezone(zone).date()
    return (datetime.combine(day, time.min, tzinfo=zone),
            datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone))


@dataclass(frozen=True)
class Pipeline:
    """The tenant's open leads by tier and by stage, and how many of them nobody holds."""

    by_tier: dict[str, int]
    by_status: dict[str, int]  # the open statuses only
    unassigned: int

    @property
    def total(self) -> int:
        return sum(self.by_tier.values())


def pipeline_counts(org: Organization) -> Pipeline:
    """Open leads by tier, by stage and unassigned, in one query."""
    tiers = {f"tier_{tier}": Count("pk", filter=Q(tier=tier)) for tier in Tier.values}
    statuses = {f"status_{status}": Count("pk", filter=Q(status=status))
                for status in OPEN_STATUSES}
    row = Lead.objects.for_org(org).filter(status__in=OPEN_STATUSES).aggregate(
        unassigned=Count("pk", filter=Q(owner__isnull=True)), **tiers, **statuses
    )
    return Pipeline(
        by_tier={tier: row[f"tier_{tier}"] for tier in TIERS_HOT_FIRST},
        by_status={status: row[f"status_{status}"] for status in OPEN_STATUSES},
        unassigned=row["unassigned"],
    )


@dataclass(frozen=True)
class TierResponse:
    """First responses of one tier given today, against the tier's target."""

    tier: str
    target_minutes: int
    answered: int
    met: int  # answered by their due time (which counts business hours only)
    p50_seconds: float | None
    p90_seconds: float | None


def first_responses_today(org: Organization, *, now: datetime | None = None
                          ) -> list[TierResponse]:
    """p50 / p90 first-response time per tier (HOT, WARM, COLD) of the first responses given
    today in the tenant's time zone, with each tier's target: two queries (the settings and the
    answered leads). A lead without a target (closed before anyone answered) is left out, as
    in ``sla_report``."""
    now = now or timezone.now()
    start, end = tenant_day_bounds(org, now)
    lead_settings = lead_settings_for(org)
    durations: dict[str, list[float]] = {tier: [] for tier in Tier.values}
    met: dict[str, int] = dict.fromkeys(Tier.values, 0)
    for tier, created, answered, due in (
        Lead.objects.for_org(org)
        .filter(first_response_at__gte=start, first_response_at__lt=end,
                first_response_due_at__isnull=False)
        .values_list("tier", "created_at", "first_response_at", "first_response_due_at")
        .iterator(2000)
    ):
        durations[tier].append((answered - created).total_seconds())
        met[tier] += answered <= due
    responses = []
    for tier in TIERS_HOT_FIRST:
        p50, p90 = p50_p90(durations[tier])
        responses.append(TierResponse(
            tier=tier, target_minutes=lead_settings.sla_minutes(tier),
            answered=len(durations[tier]), met=met[tier], p50_seconds=p50, p90_seconds=p90,
        ))
    return responses


@dataclass(frozen=True)
class BreachCounts:
    today: int  # breached today in the tenant's time zone, acknowledged or not
    unacknowledged: int  # every breach still waiting for a manager, whenever it happened


def breach_counts(org: Organization, *, now: datetime | None = None) -> BreachCounts:
    start, end = tenant_day_bounds(org, now or timezone.now())
    row = SlaBreach.objects.for_org(org).aggregate(
        today=Count("pk", filter=Q(breached_at__gte=start, breached_at__lt=end)),
        unacknowledged=Count("pk", filter=Q(acknowledged_at__isnull=True)),
    )
    return BreachCounts(**row)


@dataclass(frozen=True)
class MemberLoad:
    membership: Membership
    open_leads: int

    @property
    def capacity(self) -> int:
        return self.membership.capacity

    @property
    def has_room(self) -> bool:
        """Routing can give them a lead: available and under capacity."""
        return self.membership.is_available and self.open_leads < self.capacity

    @property
    def room(self) -> int:
        return max(0, self.capacity - self.open_leads) if self.membership.is_available else 0

    @property
    def full(self) -> bool:
        return self.open_leads >= self.capacity

    @property
    def over_capacity(self) -> bool:
        return self.open_leads > self.capacity

    @property
    def load_percent(self) -> int:
        """How full they are, capped at 100 for a bar (``over_capacity`` says the rest)."""
        if self.capacity <= 0:
            return 100 if self.open_leads else 0
        return min(100, round(100 * self.open_leads / self.capacity))


@dataclass(frozen=True)
class TeamRoom:
    """Every member's load, and the SDRs routing can still give a lead to."""

    members: tuple[MemberLoad, ...]

    @property
    def sdrs(self) -> tuple[MemberLoad, ...]:
        return tuple(load for load in self.members if load.membership.role == Role.SDR)

    @property
    def sdrs_with_room(self) -> int:
        return sum(load.has_room for load in self.sdrs)

    @property
    def room(self) -> int:
        """Open leads the SDRs with room can still take before they are full."""
        return sum(load.room for load in self.sdrs)

    @property
    def over_capacity(self) -> int:
        return sum(load.over_capacity for load in self.members)


def team_room(org: Organization) -> TeamRoom:
    """Each member with their open leads (``team_load``), in one query."""
    return TeamRoom(members=tuple(MemberLoad(membership=member, open_leads=member.open_leads)
                                  for member in team_load(org)))


@dataclass(frozen=True)
class TrendDay:
    day: date
    created: dict[str, int]  # leads that came in that day, by tier
    breaches: int  # first-response targets missed that day

    @property
    def total(self) -> int:
        return sum(self.created.values())


@dataclass(frozen=True)
class LeadTrend:
    first_day: date
    last_day: date
    days: tuple[TrendDay, ...]  # every day of the window, oldest first, zero when idle

    @property
    def created(self) -> int:
        return sum(day.total for day in self.days)

    @property
    def breaches(self) -> int:
        return sum(day.breaches for day in self.days)


def lead_trend(org: Organization, *, days: int = 30, now: datetime | None = None) -> LeadTrend:
    """Leads created per day by tier, and SLA breaches per day, over the last ``days`` days
    (today included) in the tenant's time zone: two grouped queries."""
    zone = ZoneInfo(org.timezone)
    today_start, tomorrow = tenant_day_bounds(org, now or timezone.now())
    last_day = today_start.date()
    first_day = last_day - timedelta(days=days - 1)
    since = datetime.combine(first_day, time.min, tzinfo=zone)
    created: dict[date, dict[str, int]] = {}
    for row in (
        Lead.objects.for_org(org).filter(created_at__gte=since, created_at__lt=tomorrow)
        .annotate(day=TruncDate("created_at", tzinfo=zone))
        .values("day", "tier").annotate(n=Count("pk")).order_by()
    ):
        created.setdefault(row["day"], {})[row["tier"]] = row["n"]
    breached = dict(
        SlaBreach.objects.for_org(org).filter(breached_at__gte=since, breached_at__lt=tomorrow)
        .annotate(day=TruncDate("breached_at", tzinfo=zone))
        .values("day").annotate(n=Count("pk")).order_by().values_list("day", "n")
    )
    trend = []
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        by_tier = created.get(day, {})
        trend.append(TrendDay(day=day, created={tier: by_tier.get(tier, 0)
                                                for tier in TIERS_HOT_FIRST},
                              breaches=breached.get(day, 0)))
    return LeadTrend(first_day=first_day, last_day=last_day, days=tuple(trend))


# --- an SDR's queue ------------------------------------------------------------------------

@dataclass(frozen=True)
class QueueItem:
    """One row of an SDR's work queue and what falls due on it next. Every row is an open lead
    today; other work (follow-ups) joins the queue by becoming rows of this shape in
    ``sdr_queue``."""

    lead: Lead
    due_at: datetime | None
    due: str  # what falls due at ``due_at``: FIRST_RESPONSE, LEAKAGE or "" (nothing)

    FIRST_RESPONSE = "first_response"
    LEAKAGE = "leakage"


def sdr_queue(org: Organization, membership: Membership, *, limit: int = 50
              ) -> list[QueueItem]:
    """The member's open leads, HOT first, then whatever falls due soonest (the first-response
    target while nobody has answered, else the leakage deadline), in one query."""
    waiting = Q(first_response_at__isnull=True, first_response_due_at__isnull=False)
    # The first-response target comes first unless the leakage deadline is earlier.
    response_first = waiting & (Q(leak_due_at__isnull=True)
                                | Q(first_response_due_at__lte=F("leak_due_at")))
    leads = (
        Lead.objects.for_org(org).filter(owner=membership, status__in=OPEN_STATUSES)
        .annotate(
            tier_rank=Case(When(tier=Tier.HOT, then=Value(0)),
                           When(tier=Tier.WARM, then=Value(1)),
                           default=Value(2), output_field=IntegerField()),
            next_due_at=Case(When(response_first, then=F("first_response_due_at")),
                             default=F("leak_due_at"), output_field=DateTimeField()),
        )
        .order_by("tier_rank", F("next_due_at").asc(nulls_last=True), "id")[:limit]
    )
    items = []
    for lead in leads:
        if lead.next_due_at is None:
            due = ""
        elif (lead.first_response_at is None
              and lead.next_due_at == lead.first_response_due_at):
            due = QueueItem.FIRST_RESPONSE
        else:
            due = QueueItem.LEAKAGE
        items.append(QueueItem(lead=lead, due_at=lead.next_due_at, due=due))
    return items


def owner_tier_counts(org: Organization, membership: Membership) -> dict[str, int]:
    """The member's open leads by tier (HOT, WARM, COLD), in one query."""
    row = Lead.objects.for_org(org).filter(owner=membership, status__in=OPEN_STATUSES).aggregate(
        **{tier: Count("pk", filter=Q(tier=tier)) for tier in Tier.values}
    )
    return {tier: row[tier] for tier in TIERS_HOT_FIRST}

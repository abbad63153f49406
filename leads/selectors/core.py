"""The leads, their timelines, the team and the SLA report."""


from dataclasses import dataclass
from datetime import timedelta
from statistics import quantiles

from django.db.models import (
    Case,
    Count,
    F,
    IntegerField,
    Q,
    Value,
    When,
)
from django.utils import timezone

from flexoraa.models import MANAGING_ROLES, Membership, Organization, Role

# OPEN_STATUSES and Status are also how other apps read lead statuses (never leads.models).
from leads.models import (
    OPEN_STATUSES,
    Lead,
    LeadAssignment,
    LeadEvent,
    LeadSettings,
    RoutingPoolMember,
    SlaBreach,
    Status,
    Tier,
)


def lead_settings_for(org: Organization) -> LeadSettings:
    """The tenant's settings, or the defaults (unsaved) when it never changed them."""
    found = LeadSettings.objects.for_org(org).first()
    return found if found is not None else LeadSettings(organization=org)


def leads_for_org(org: Organization):
    return Lead.objects.for_org(org).select_related("owner__user")


def leads_for_owner(org: Organization, membership: Membership):
    return leads_for_org(org).filter(owner=membership)


def leads_by_urgency(queryset):
    """Open leads first; among them the HOT ones, then the earliest SLA due."""
    return queryset.annotate(
        open_rank=Case(When(status__in=OPEN_STATUSES, then=Value(0)), default=Value(1),
                       output_field=IntegerField()),
        tier_rank=Case(When(tier=Tier.HOT, then=Value(0)), When(tier=Tier.WARM, then=Value(1)),
                       default=Value(2), output_field=IntegerField()),
    ).order_by("open_rank", "tier_rank", F("first_response_due_at").asc(nulls_last=True), "-id")


def unassigned_leads(org: Organization):
    """The unassigned queue: open leads nobody holds, soonest first-response target first
    (through the ``lead_unassigned_queue`` partial index)."""
    return (
        Lead.objects.for_org(org).filter(owner__isnull=True, status__in=OPEN_STATUSES)
        .order_by(F("first_response_due_at").asc(nulls_last=True), "id")
    )


def lead_search(queryset, text: str):
    text = text.strip()
    if not text:
        return queryset
    return queryset.filter(
        Q(name__icontains=text) | Q(email__icontains=text) | Q(phone__icontains=text)
    )


def lead_timeline(org: Organization, lead: Lead):
    return LeadEvent.objects.for_org(org).filter(lead=lead).select_related("actor__user")


def lead_assignments(org: Organization, lead: Lead):
    return LeadAssignment.objects.for_org(org).filter(lead=lead).select_related(
        "from_owner__user", "to_owner__user", "actor__user"
    )


def open_breaches(org: Organization):
    return SlaBreach.objects.for_org(org).filter(acknowledged_at__isnull=True).select_related(
        "lead", "owner__user"
    )


def assignable_members(org: Organization):
    """Who a manager can hand a lead to: every SDR and manager of the tenant."""
    return Membership.objects.for_org(org).select_related("user").order_by(
        "role", "user__username"
    )


def pool_members(org: Organization):
    return RoutingPoolMember.objects.for_org(org).select_related("membership__user")


def team_load(org: Organization):
    """Each member with their open leads, for the team queue."""
    return assignable_members(org).annotate(
        open_leads=Count("owned_leads", filter=Q(owned_leads__status__in=OPEN_STATUSES))
    )


def managers_of(org: Organization):
    return Membership.objects.for_org(org).filter(role__in=MANAGING_ROLES)


@dataclass(frozen=True)
class SlaReport:
    since: object
    answered: int  # leads with a first response
    met: int  # of those, answered by their due time
    overdue: int  # unanswered past their due time
    waiting: int  # unanswered, still inside their target
    p50_seconds: float | None
    p90_seconds: float | None

    @property
    def decided(self) -> int:
        """Leads whose target is settled: answered, or past due unanswered."""
        return self.answered + self.overdue

    @property
    def met_percent(self) -> float | None:
        return None if self.decided == 0 else round(100 * self.met / self.decided, 1)


def status_counts(queryset) -> dict[str, int]:
    rows = queryset.values("status").annotate(n=Count("pk")).order_by()
    counts = {status: 0 for status in Status.values}
    counts.update({row["status"]: row["n"] for row in rows})
    return counts


def sdr_members(org: Organization):
    return Membership.objects.for_org(org).filter(role=Role.SDR).select_related("user")


def open_leads_for_org(org: Organization):
    """The tenant's leads someone still has to work, with their owners (the team queue)."""
    return leads_for_org(org).filter(status__in=OPEN_STATUSES)


def breaches_for_org(org: Organization):
    """Every SLA breach of the tenant, acknowledged or not."""
    return SlaBreach.objects.for_org(org).select_related("lead", "owner__user")


def breach_for_lead(org: Organization, lead: Lead) -> SlaBreach | None:
    return (
        SlaBreach.objects.for_org(org).filter(lead=lead)
        .select_related("acknowledged_by__user").first()
    )


def p50_p90(durations: list[float]) -> tuple[float | None, float | None]:
    if not durations:
        return None, None
    if len(durations) == 1:
        return durations[0], durations[0]
    cuts = quantiles(sorted(durations), n=10, method="inclusive")
    return cuts[4], cuts[8]


def _sla_window(org: Organization, days: int):
    """The leads an SLA report covers (created in the last ``days`` days, with a target) and
    the report's counts as aggregates."""
    now = timezone.now()
    since = now - timedelta(days=days)
    leads = Lead.objects.for_org(org).filter(
        created_at__gte=since, first_response_due_at__isnull=False
    )
    counts = {
        "answered": Count("pk", filter=Q(first_response_at__isnull=False)),
        "met": Count("pk", filter=Q(first_response_at__isnull=False,
                                    first_response_at__lte=F("first_response_due_at"))),
        "overdue": Count("pk", filter=Q(first_response_at__isnull=True,
                                        first_response_due_at__lt=now)),
        "waiting": Count("pk", filter=Q(first_response_at__isnull=True,
                                        first_response_due_at__gte=now)),
    }
    return leads, since, counts


def sla_report(org: Organization, *, owner: Membership | None = None, days: int = 30) -> SlaReport:
    """% of first-response targets met and p50 / p90 first-response time over the leads created
    in the last ``days`` days, of one owner or of the whole team."""
    leads, since, counts = _sla_window(org, days)
    if owner is not None:
        leads = leads.filter(owner=owner)
    durations = [
        (answered - created).total_seconds()
        for created, answered in leads.filter(first_response_at__isnull=False)
        .values_list("created_at", "first_response_at").iterator(2000)
    ]
    p50, p90 = p50_p90(durations)
    return SlaReport(since=since, p50_seconds=p50, p90_seconds=p90, **leads.aggregate(**counts))


def sla_reports_by_owner(org: Organization, *, days: int = 30) -> dict[int, SlaReport]:
    """``sla_report`` of every owner at once (two queries, whatever the team's size): owner id
    to their report. An owner with no lead in the window is absent."""
    leads, since, counts = _sla_window(org, days)
    leads = leads.filter(owner__isnull=False)
    rows = leads.values("owner").annotate(**counts).order_by()
    durations: dict[int, list[float]] = {}
    for owner_id, created, answered in (
        leads.filter(first_response_at__isnull=False)
        .values_list("owner_id", "created_at", "first_response_at").iterator(2000)
    ):
        durations.setdefault(owner_id, []).append((answered - created).total_seconds())
    reports = {}
    for row in rows:
        owner_id = row.pop("owner")
        p50, p90 = p50_p90(durations.get(owner_id, []))
        reports[owner_id] = SlaReport(since=since, p50_seconds=p50, p90_seconds=p90, **row)
    return reports

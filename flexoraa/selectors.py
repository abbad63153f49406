"""Reads of the platform core shared by pages, API, admin and jobs."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, OuterRef, Q, Subquery, Sum
from django.utils import timezone

from flexoraa import api_keys, audit_chain
from flexoraa.actors import Actor
from flexoraa.jobs import describe_every
from flexoraa.models import (
    ApiKey,
    AuditEvent,
    JobRun,
    Membership,
    Notification,
    Organization,
    Role,
)


def api_key_for_raw(raw_key: str) -> ApiKey | None:
    """The key matching ``raw_key`` (revoked or not), or None. The key names its own tenant."""
    prefix = api_keys.split_key(raw_key)
    if prefix is None:
        return None
    api_key = ApiKey.objects.select_related("organization").filter(prefix=prefix).first()
    if api_key is None or not api_keys.keys_match(raw_key, api_key.key_hash):
        return None
    return api_key


def memberships_for_user(user):
    if not getattr(user, "is_authenticated", False):
        return Membership.objects.none()
    return Membership.objects.filter(user=user).select_related("organization").order_by(
        "organization__name"
    )


def actor_membership(org: Organization, actor: Actor) -> Membership | None:
    """The membership of the person acting in ``org`` (for timelines and role checks);
    None for an API key, the system, or a superuser who is no member of ``org``."""
    if not actor.is_user:
        return None
    membership = actor.membership
    if membership is not None and membership.organization_id == org.pk:
        return membership
    return Membership.objects.for_org(org).filter(user_id=actor.user_id).first()


def membership_for_session(user, organization_id: int | None) -> Membership | None:
    """The membership a signed-in person works in: the one chosen in the session, else the first."""
    memberships = memberships_for_user(user)
    if organization_id is not None:
        chosen = memberships.filter(organization_id=organization_id).first()
        if chosen is not None:
            return chosen
    return memberships.first()


def team_for_org(org: Organization):
    return Membership.objects.for_org(org).select_related("user").order_by("role", "user__username")


def audit_chain_first_break(org: Organization) -> audit_chain.ChainBreak | None:
    rows = (
        AuditEvent.objects.for_org(org)
        .order_by("id")
        .values("id", "prev_hash", "hash", *audit_chain.CONTENT_FIELDS)
    )
    return audit_chain.first_break(audit_chain.ChainLink(**row) for row in rows.iterator(2000))


def audit_chain_breaks() -> dict[str, audit_chain.ChainBreak]:
    """Every tenant whose chain is broken, by slug, with its first broken event."""
    breaks = {}
    for org in Organization.objects.order_by("pk").iterator():
        found = audit_chain_first_break(org)
        if found is not None:
            breaks[org.slug] = found
    return breaks


def dashboard_counts(org: Organization) -> dict:
    """The home dashboard's figures for a tenant, in two queries."""
    team = Membership.objects.for_org(org).aggregate(
        members=Count("pk"),
        managers=Count("pk", filter=~Q(role=Role.SDR)),
        sdrs=Count("pk", filter=Q(role=Role.SDR)),
        sdrs_available=Count("pk", filter=Q(role=Role.SDR, is_available=True)),
        sdr_capacity=Sum("capacity", filter=Q(role=Role.SDR, is_available=True), default=0),
    )
    since = timezone.now() - timedelta(days=1)
    keys_and_events = ApiKey.objects.for_org(org).aggregate(
        api_keys_active=Count("pk", filter=Q(revoked_at__isnull=True)),
    )
    keys_and_events["audit_events_24h"] = (
        AuditEvent.objects.for_org(org).filter(created_at__gte=since).count()
    )
    return {**team, **keys_and_events}


@dataclass(frozen=True)
class JobOverview:
    name: str
    enabled: bool
    schedule: str
    last_started_at: datetime | None
    last_outcome: str | None


def periodic_jobs_overview() -> list[JobOverview]:
    """Each beat job with its schedule and its latest run's start and outcome (one query)."""
    from django_celery_beat.models import PeriodicTask

    latest = JobRun.objects.filter(name=OuterRef("name")).order_by("-started_at")
    tasks = (
        PeriodicTask.objects.exclude(name__startswith="celery.")
        .select_related("interval", "crontab", "clocked", "solar")
        .annotate(
            last_started_at=Subquery(latest.values("started_at")[:1]),
            last_outcome=Subquery(latest.values("outcome")[:1]),
        )
        .order_by("name")
    )
    return [
        JobOverview(
            name=task.name, enabled=task.enabled, schedule=_describe_schedule(task),
            last_started_at=task.last_started_at, last_outcome=task.last_outcome,
        )
        for task in tasks
    ]


def _describe_schedule(task) -> str:
    if task.interval is not None:
        return describe_every(task.interval.schedule.run_every)
    if task.crontab is not None:
        cron = task.crontab
        fields = (cron.minute, cron.hour, cron.day_of_month, cron.month_of_year, cron.day_of_week)
        return f"cron {' '.join(fields)} ({cron.timezone})"
    return str(task.scheduler)


def organization_for_slug(slug: str) -> Organization | None:
    """A tenant by its public slug (the web form's URL), or None."""
    return Organization.objects.filter(slug=slug).first()


# --- the notification centre ---------------------------------------------------------------

# The bell counts this far and then says "99+": the count stays one short index scan however
# many notifications a person leaves unread.
UNREAD_COUNT_CAP = 100


def notifications_for(org: Organization, membership: Membership | None):
    """A person's own notifications, newest first (nothing for no person: an API key)."""
    if membership is None or membership.organization_id != getattr(org, "pk", None):
        return Notification.objects.none()
    return Notification.objects.for_org(org).filter(recipient=membership).order_by(
        "-created_at", "-id")


def notification_unread_count(org: Organization, membership: Membership | None,
                              cap: int = UNREAD_COUNT_CAP) -> int:
    """How many of the person's notifications are unread, counted up to ``cap`` (one query,
    by the ``notification_unread`` index)."""
    unread = notifications_for(org, membership).filter(read_at__isnull=True).order_by()
    return unread[:cap].count()

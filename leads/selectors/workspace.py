"""A lead's workspace: notes, follow-ups, lost reasons and who may read the lead."""


from datetime import datetime

from django.db.models import (
    Case,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    Value,
    When,
)
from django.utils import timezone

from flexoraa.models import Membership, Organization
from leads.models import (
    FollowUp,
    Lead,
    LostReason,
    Note,
)

# OPEN_STATUSES and Status are also how other apps read lead statuses (never leads.models).
from leads.selectors.core import leads_for_org
from leads.selectors.home import tenant_day_bounds

# --- a lead's workspace: notes, follow-ups, lost reasons -----------------------------------

NOTES_SHOWN = 50
FOLLOW_UPS_SHOWN = 50


def lead_notes(org: Organization, lead: Lead):
    """The lead's notes, newest first, with their authors."""
    return Note.objects.for_org(org).filter(lead=lead).select_related("author__user")


def notes_for_org(org: Organization):
    return Note.objects.for_org(org).select_related("author__user").prefetch_related(
        "mentions")


def lead_follow_ups(org: Organization, lead: Lead):
    """The lead's follow-ups: open ones first, soonest due first, then the done ones, most
    recently done first."""
    return (
        FollowUp.objects.for_org(org).filter(lead=lead).select_related("owner__user")
        .annotate(done_rank=Case(When(done_at__isnull=True, then=Value(0)), default=Value(1),
                                 output_field=IntegerField()))
        .order_by("done_rank", "due_at", F("done_at").desc(nulls_last=True), "id")
    )


def follow_ups_for_org(org: Organization):
    return FollowUp.objects.for_org(org).select_related("lead", "owner__user")


def follow_ups_due_today(org: Organization, membership: Membership, *,
                         now: datetime | None = None, limit: int = FOLLOW_UPS_SHOWN):
    """The member's open follow-ups due before tonight's midnight in the tenant's time zone
    (overdue ones included), soonest first, with their leads: one query through the
    ``follow_up_owner_open`` index."""
    _start, end = tenant_day_bounds(org, now or timezone.now())
    return list(
        FollowUp.objects.for_org(org)
        .filter(owner=membership, done_at__isnull=True, due_at__lt=end)
        .select_related("lead").order_by("due_at", "id")[:limit]
    )


def lost_reasons_for_org(org: Organization):
    """Every lost reason of the tenant, active or retired, in the tenant's order."""
    return LostReason.objects.for_org(org)


def leads_for_reader(org: Organization, membership: Membership):
    """The leads an SDR may read: their own, and those whose notes mention them (a colleague
    asked them in)."""
    mentioned = Note.objects.filter(lead=OuterRef("pk"), mentions=membership)
    return leads_for_org(org).filter(Q(owner=membership) | Exists(mentioned))

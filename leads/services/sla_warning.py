"""The SLA warning: when 80 % of a lead's first-response time has passed without a response,
its owner is told in their notification centre, once per clock.

The time is set on the lead with its first-response target (``warn_at``, in business hours
like the target) and read by the every-minute job through the ``lead_sla_warn`` partial
index; the job clears it as it goes, so the index holds only the warnings still to send and
a run costs what is due, not what is open. Two runs at once split the due rows (``SKIP
LOCKED``), and the notification's dedupe key (the lead and its deadline) tells each clock
once whatever runs again.
"""

import logging
from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from flexoraa.models import NotificationKind, Organization
from flexoraa.notifications import NotificationDraft, notifications_create_many
from leads.models import OPEN_STATUSES, Lead
from leads.services.common import BusinessClock
from leads.services.notices import lead_facts, lead_label, lead_path

logger = logging.getLogger(__name__)

# The share of the first-response time after which the owner is warned.
WARN_SHARE = Decimal("0.8")
WARN_CHUNK = 5_000


def warn_at(clock: BusinessClock, start: datetime, tier: str) -> datetime:
    """When 80 % of the first-response time of a ``tier`` lead whose clock started at
    ``start`` has passed, in the tenant's business hours."""
    return clock.after(start, Decimal(clock.settings.sla_minutes(tier)) * WARN_SHARE)


def _due_leads(now: datetime):
    return (
        Lead.objects.filter(first_response_warn_at__lte=now)
        .order_by("first_response_warn_at", "pk")
        .select_for_update(skip_locked=True, of=("self",))
    )


def _warning(lead: Lead, org: Organization, now: datetime) -> NotificationDraft:
    due = lead.first_response_due_at
    left = max(0, round((due - now).total_seconds() / 60))
    local = timezone.localtime(due, ZoneInfo(org.timezone))
    body = (f"80 % of its first-response time has passed without a reply: answer by "
            f"{local:%H:%M} ({org.timezone}), in {left} min.\n{lead_facts(lead)}")
    return NotificationDraft(
        recipient_id=lead.owner_id, kind=NotificationKind.SLA_WARNING,
        title=f"First response due soon: {lead_label(lead)}", body=body,
        url=lead_path(lead.pk), dedupe_key=f"lead:{lead.pk}:sla80:{due.isoformat()}",
    )


def sla_warnings_send(*, now: datetime | None = None, chunk: int = WARN_CHUNK) -> dict:
    """Warn the owner of each lead whose warning time has come while it still waits for a
    first response (open, not answered, not breached, held by someone); clear the warning
    time of every lead read. Each chunk commits with its notifications; emails follow. A
    lead nobody holds is not warned here: it waits in the unassigned queue, in managers' view,
    and its breach is told to them. Returns how many were warned."""
    now = now or timezone.now()
    warned = 0
    while True:
        with transaction.atomic():
            due = list(_due_leads(now)[:chunk])
            if not due:
                break
            Lead.objects.filter(pk__in=[lead.pk for lead in due]).update(
                first_response_warn_at=None)
            waiting: dict[int, list[Lead]] = defaultdict(list)
            for lead in due:
                if (lead.status in OPEN_STATUSES and lead.owner_id is not None
                        and lead.first_response_at is None and lead.sla_breached_at is None
                        and lead.first_response_due_at is not None
                        and lead.first_response_due_at > now):
                    waiting[lead.organization_id].append(lead)
            for org in Organization.objects.filter(pk__in=waiting).order_by("pk"):
                created = notifications_create_many(
                    org=org, drafts=[_warning(lead, org, now) for lead in waiting[org.pk]])
                warned += len(created)
        if len(due) < chunk:
            break
    if warned:
        logger.info("sla warnings sent", extra={"warned": warned})
    return {"warned": warned}

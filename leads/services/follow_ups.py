"""Follow-ups: a member means to do something about a lead by a time. Set, reschedule and
complete them; the every-minute job tells each owner once when theirs comes due.

The job is set-based: it claims due rows through the ``follow_up_due`` partial index with one
conditional UPDATE (its pick locked with SKIP LOCKED on PostgreSQL), so two runs at once
split the rows instead of both telling; the notification's dedupe key (one per follow-up and
due time) is the second guard. Claim and notifications commit together.
"""

import logging
from collections import defaultdict
from datetime import datetime

from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as format_date

from flexoraa.actors import Actor
from flexoraa.errors import Conflict, NotFound, PermissionDenied
from flexoraa.models import Membership, NotificationKind, Organization
from flexoraa.notifications import NotificationDraft, notifications_create_many
from flexoraa.selectors import actor_membership
from flexoraa.services import audit_event_record
from flexoraa.storable import unstorable_text_reason
from flexoraa.tenancy import role_is_managing
from leads.models import FollowUp, Lead, LeadEvent
from leads.services.common import refuse, timeline_event

logger = logging.getLogger(__name__)

NOTE_MAX = FollowUp._meta.get_field("note").max_length
DUE_CHUNK = 500
DUE_JOB_ACTOR = Actor.system("job:leads.follow_ups_due")


def _local_words(moment: datetime, org: Organization) -> str:
    from zoneinfo import ZoneInfo

    return format_date(moment.astimezone(ZoneInfo(org.timezone)), "j M Y, H:i")


def _due_checked(org: Organization, due_at, now: datetime) -> datetime:
    if not isinstance(due_at, datetime):
        refuse({"due_at": "Give the date and time it is due."})
    if timezone.is_naive(due_at):
        refuse({"due_at": "Give the time with its time zone."})
    if due_at <= now:
        refuse({"due_at": f"{_local_words(due_at, org)} has passed; choose a time in the "
                          f"future."})
    return due_at


def _note_checked(note: str) -> str:
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        refuse({"note": f"Keep the note to {NOTE_MAX} characters."})
    problem = unstorable_text_reason(note)
    if problem is not None:
        refuse({"note": problem})
    return note


def _owner_checked(org: Organization, owner, by: Membership | None, lead: Lead) -> Membership:
    if owner in (None, ""):
        owner = by or lead.owner
        if owner is None:
            refuse({"owner": "Say who follows up: nobody holds this lead."})
        return owner
    owner_id = owner.pk if isinstance(owner, Membership) else owner
    try:
        owner_id = int(owner_id)
    except (TypeError, ValueError):
        owner_id = None
    found = (None if owner_id is None or not 0 < owner_id < 2**63 else
             Membership.objects.for_org(org).select_related("user").filter(pk=owner_id).first())
    if found is None:
        refuse({"owner": "No member of this organization has that id."})
    if by is not None and not role_is_managing(by.role) and found.pk != by.pk:
        raise PermissionDenied("A sales rep sets follow-ups for themself; a manager may set "
                               "one for anyone.", fields={"owner": ["Only yourself."]})
    return found


def _may_change(by: Membership | None, follow_up: FollowUp) -> bool:
    if by is None:  # an integration's key, or the platform
        return True
    return role_is_managing(by.role) or by.pk in (follow_up.owner_id, follow_up.lead.owner_id)


def _event(org, follow_up, action, at, by):
    timeline_event(org=org, lead=follow_up.lead, kind=LeadEvent.Kind.FOLLOW_UP, at=at, actor=by,
                   data={"follow_up": follow_up.pk, "action": action, "owner": follow_up.owner_id,
                         "due_at": follow_up.due_at.isoformat()}).save()


def follow_up_set(*, org: Organization, lead: Lead, due_at: datetime, actor: Actor,
                  note: str = "", owner=None) -> FollowUp:
    """Set a follow-up on ``lead`` due at ``due_at`` (in the future) for ``owner`` (a member
    or their id): the person acting by default, or the lead's owner when an integration sets
    it. An SDR sets them for themself only.

    Raises ``NotFound`` across tenants, ``ValidationFailed`` naming ``due_at`` (missing,
    without a zone, or past), ``note`` or ``owner``, and ``PermissionDenied`` for an SDR
    setting one for someone else."""
    if lead.organization_id != org.pk:
        raise NotFound("No such lead.")
    now = timezone.now()
    due_at = _due_checked(org, due_at, now)
    note = _note_checked(note)
    by = actor_membership(org, actor)
    owner = _owner_checked(org, owner, by, lead)
    with transaction.atomic():
        follow_up = FollowUp.objects.create(
            organization=org, lead=lead, owner=owner, due_at=due_at, note=note, created_by=by,
            created_at=now,
        )
        _event(org, follow_up, "set", now, by)
        audit_event_record(org=org, actor=actor, action="lead.follow_up_set", target=lead,
                           data={"follow_up": follow_up.pk, "owner": owner.pk})
    return follow_up


def _locked(org: Organization, follow_up: FollowUp) -> FollowUp:
    if follow_up.organization_id != org.pk:
        raise NotFound("No such follow-up.")
    return (FollowUp.objects.for_org(org).select_related("lead", "owner__user")
            .select_for_update(of=("self",)).get(pk=follow_up.pk))


def follow_up_complete(*, org: Organization, follow_up: FollowUp, actor: Actor) -> FollowUp:
    """Mark a follow-up done (done again changes nothing). Its owner, the lead's owner and
    managers may. Raises ``NotFound`` across tenants and ``PermissionDenied``."""
    now = timezone.now()
    by = actor_membership(org, actor)
    with transaction.atomic():
        follow_up = _locked(org, follow_up)
        if not _may_change(by, follow_up):
            raise PermissionDenied("Only its owner, the lead's owner or a manager completes "
                                   "this follow-up.")
        if follow_up.done_at is not None:
            return follow_up
        follow_up.done_at = now
        follow_up.save(update_fields=["done_at"])
        _event(org, follow_up, "done", now, by)
        audit_event_record(org=org, actor=actor, action="lead.follow_up_done",
                           target=follow_up.lead, data={"follow_up": follow_up.pk})
    return follow_up


def follow_up_reschedule(*, org: Organization, follow_up: FollowUp, due_at: datetime,
                         actor: Actor, note: str | None = None) -> FollowUp:
    """Move an open follow-up to a new time in the future (and change its note when given);
    its owner is told again when the new time comes. Raises ``NotFound`` across tenants,
    ``ValidationFailed`` naming ``due_at`` or ``note``, ``PermissionDenied``, and
    ``Conflict`` for a follow-up that is done."""
    now = timezone.now()
    due_at = _due_checked(org, due_at, now)
    if note is not None:
        note = _note_checked(note)
    by = actor_membership(org, actor)
    with transaction.atomic():
        follow_up = _locked(org, follow_up)
        if not _may_change(by, follow_up):
            raise PermissionDenied("Only its owner, the lead's owner or a manager reschedules "
                                   "this follow-up.")
        if follow_up.done_at is not None:
            raise Conflict("This follow-up is done; set a new one instead.",
                           fields={"due_at": ["The follow-up is done."]})
        follow_up.due_at = due_at
        follow_up.notified_at = None  # the new time is told when it comes
        fields = ["due_at", "notified_at"]
        if note is not None:
            follow_up.note = note
            fields.append("note")
        follow_up.save(update_fields=fields)
        _event(org, follow_up, "rescheduled", now, by)
        audit_event_record(org=org, actor=actor, action="lead.follow_up_rescheduled",
                           target=follow_up.lead, data={"follow_up": follow_up.pk})
    return follow_up


# --- the due job -------------------------------------------------------------------------------

def _claim_due(now: datetime, chunk: int) -> list[int]:
    """Stamp up to ``chunk`` due, open, untold follow-ups as told; their ids. A row another
    run holds is skipped, and one it stamped meanwhile is not stamped again."""
    table = connection.ops.quote_name(FollowUp._meta.db_table)
    lock = " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked \
        else ""
    stamp = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        # The pick is a CTE so it runs once (as a plain "id IN (SELECT … LIMIT n)" subquery,
        # PostgreSQL may run it again per row and claim more than n).
        cursor.execute(
            f"WITH picked AS (SELECT id FROM {table} "  # noqa: S608  (quoted table name)
            f"WHERE done_at IS NULL AND notified_at IS NULL AND due_at <= %s "
            f"ORDER BY due_at, id LIMIT %s{lock}) "
            f"UPDATE {table} SET notified_at = %s "
            f"WHERE done_at IS NULL AND notified_at IS NULL AND id IN (SELECT id FROM picked) "
            f"RETURNING id",
            [stamp, chunk, stamp],
        )
        return [row[0] for row in cursor.fetchall()]


def _draft(follow_up: FollowUp) -> NotificationDraft:
    lead = follow_up.lead
    return NotificationDraft(
        recipient_id=follow_up.owner_id, kind=NotificationKind.FOLLOW_UP_DUE,
        title=f"Follow-up due: {lead}",
        url=f"{reverse('leads:detail', args=[lead.pk])}#follow-up-{follow_up.pk}",
        body=follow_up.note,
        # One per follow-up and due time: a run twice tells once, a reschedule tells again.
        dedupe_key=f"follow_up:{follow_up.pk}:due:{follow_up.due_at.isoformat()}",
    )


def follow_ups_due_notify(*, now: datetime | None = None, chunk: int = DUE_CHUNK) -> dict:
    """Tell the owner of every open follow-up whose time has come, once: each chunk of due
    rows is claimed and notified in one transaction, so a run that fails midway leaves its
    rows for the next run and one run's rows never reach another."""
    now = now or timezone.now()
    told = 0
    organizations: set[int] = set()
    while True:
        with transaction.atomic():
            ids = _claim_due(now, chunk)
            if not ids:
                break
            by_org: dict[int, list[FollowUp]] = defaultdict(list)
            for follow_up in FollowUp.objects.filter(pk__in=ids).select_related("lead"):
                by_org[follow_up.organization_id].append(follow_up)
            for org in Organization.objects.filter(pk__in=by_org).order_by("pk"):
                notifications_create_many(
                    org=org, drafts=[_draft(follow_up) for follow_up in by_org[org.pk]])
                audit_event_record(org=org, actor=DUE_JOB_ACTOR, action="lead.follow_ups_due",
                                   data={"follow_ups": sorted(f.pk for f in by_org[org.pk])})
            organizations |= set(by_org)
            told += len(ids)
        if len(ids) < chunk:
            break
    if told:
        logger.info("follow-ups due told", extra={"count": told,
                                                  "organizations": len(organizations)})
    return {"follow_ups": told, "organizations": len(organizations)}

"""Internal notes on a lead, and the colleagues they mention (@username or @First), each told
once through the core's notification centre after the note commits."""

import logging

from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone

from flexoraa.actors import Actor
from flexoraa.errors import NotFound
from flexoraa.models import Membership, NotificationKind, Organization
from flexoraa.notifications import notify_after_commit
from flexoraa.selectors import actor_membership
from flexoraa.services import audit_event_record
from flexoraa.storable import unstorable_text_reason
from leads import mentions
from leads.models import Lead, LeadEvent, Note
from leads.services.common import refuse, timeline_event

logger = logging.getLogger(__name__)

NOTE_MAX = 5000
# How much of the note a mention's notification quotes.
EXCERPT_CHARS = 280


def _member_name(membership: Membership | None) -> str:
    if membership is None:
        return "An integration"
    return membership.user.get_full_name() or membership.user.get_username()


def mentioned_member_ids(org: Organization, body: str) -> list[int]:
    """The active members of ``org`` the note names, in the order it names them: one query
    over the tenant's members whose username or first name is one of the note's handles."""
    handles = mentions.mentioned_handles(body)
    if not handles:
        return []
    rows = (
        Membership.objects.for_org(org).filter(user__is_active=True)
        .annotate(handle_username=Lower("user__username"), handle_first=Lower("user__first_name"))
        .filter(Q(handle_username__in=handles) | Q(handle_first__in=handles))
        .values_list("pk", "user__username", "user__first_name")
    )
    return mentions.mentioned_members(
        handles, [mentions.Member(id=pk, username=username, first_name=first or "")
                  for pk, username, first in rows])


def note_add(*, org: Organization, lead: Lead, body: str, actor: Actor) -> Note:
    """Write an internal note on ``lead``. Each colleague it mentions (not the author) gets
    one ``mention`` notification after the commit; a handle that names nobody of this tenant
    stays text. The timeline and the audit log record the note's id, never its words.

    Raises ``NotFound`` across tenants and ``ValidationFailed`` naming ``body`` for an empty,
    too long or unstorable note."""
    if lead.organization_id != org.pk:
        raise NotFound("No such lead.")
    body = (body or "").strip()
    if not body:
        refuse({"body": "Write something in the note."})
    if len(body) > NOTE_MAX:
        refuse({"body": f"Keep a note to {NOTE_MAX:,} characters."})
    problem = unstorable_text_reason(body)
    if problem is not None:
        refuse({"body": problem})
    author = actor_membership(org, actor)
    mentioned = [pk for pk in mentioned_member_ids(org, body)
                 if author is None or pk != author.pk]
    now = timezone.now()
    with transaction.atomic():
        note = Note.objects.create(organization=org, lead=lead, author=author, body=body,
                                   created_at=now)
        if mentioned:
            note.mentions.set(mentioned)
        timeline_event(org=org, lead=lead, kind=LeadEvent.Kind.NOTE, at=now, actor=author,
                       data={"note": note.pk, "mentions": mentioned}).save()
        audit_event_record(org=org, actor=actor, action="lead.note_added", target=lead,
                           data={"note": note.pk, "mentions": mentioned})
        url = f"{reverse('leads:detail', args=[lead.pk])}#note-{note.pk}"
        title = f"{_member_name(author)} mentioned you on {lead}"
        excerpt = body if len(body) <= EXCERPT_CHARS else body[:EXCERPT_CHARS - 1] + "…"
        for membership_id in mentioned:
            notify_after_commit(
                org=org, recipient_ids=[membership_id], kind=NotificationKind.MENTION,
                title=title, url=url, body=excerpt,
                dedupe_key=f"note:{note.pk}:mention:{membership_id}",
            )
    logger.info("note added", extra={"organization_id": org.pk, "lead_id": lead.pk,
                                     "note_id": note.pk, "mentions": len(mentioned)})
    return note

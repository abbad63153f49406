"""The notification centre's use cases: create a person's notifications once per event, mark
them read, choose which kinds also come by email.

Callers create notifications after their own transaction commits (``notify_after_commit``):
a rolled-back change tells nobody, and a notification never holds a caller's transaction
open. Jobs already outside a transaction create them at once (``notifications_create``).
Emails follow after the notifications' own commit, through a task; a failing mail server
leaves the notification in place.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from flexoraa.actors import Actor
from flexoraa.errors import NotFound, PermissionDenied, ValidationFailed
from flexoraa.models import Membership, Notification, NotificationKind, Organization
from flexoraa.services import audit_event_record

logger = logging.getLogger(__name__)

TITLE_MAX = Notification._meta.get_field("title").max_length
URL_MAX = Notification._meta.get_field("url").max_length
DEDUPE_KEY_MAX = Notification._meta.get_field("dedupe_key").max_length
BODY_MAX = 2000


@dataclass(frozen=True)
class NotificationDraft:
    """One notification to create for one person (a membership id)."""

    recipient_id: int
    kind: str
    title: str
    dedupe_key: str
    url: str = ""
    body: str = ""


def _checked(draft: NotificationDraft) -> NotificationDraft:
    # A bad kind or key is a bug in the calling service, not something a user can fix.
    if draft.kind not in NotificationKind.values:
        raise ValueError(f"Unknown notification kind {draft.kind!r}.")
    if not draft.dedupe_key or len(draft.dedupe_key) > DEDUPE_KEY_MAX:
        raise ValueError(f"A dedupe key of 1 to {DEDUPE_KEY_MAX} characters is required.")
    if draft.url and (not draft.url.startswith("/") or draft.url.startswith("//")
                      or len(draft.url) > URL_MAX):
        raise ValueError(f"A notification links to a path on this site of at most {URL_MAX} "
                         "characters.")
    title = " ".join(draft.title.split())
    if len(title) > TITLE_MAX:
        title = title[:TITLE_MAX - 1].rstrip() + "…"
    body = draft.body.strip()
    if len(body) > BODY_MAX:
        body = body[:BODY_MAX - 1].rstrip() + "…"
    return NotificationDraft(recipient_id=int(draft.recipient_id), kind=draft.kind, title=title,
                             dedupe_key=draft.dedupe_key, url=draft.url, body=body)


def notifications_create_many(
    *, org: Organization, drafts: Iterable[NotificationDraft]
) -> list[Notification]:
    """Create each draft's notification unless its person already has one with that dedupe
    key; returns only the ones created now. Recipients who are no members of ``org`` get
    nothing. Those who chose email for a created notification's kind are emailed after the
    commit. Four queries however many drafts; safe to run twice at once (the database holds
    one row per person and key, and only the run that inserted a row emails it).

    Raises ``ValueError`` for an unknown kind, a missing or too long dedupe key or a URL that
    is not a path on this site (a caller's bug)."""
    drafts = [_checked(draft) for draft in drafts]
    if not drafts:
        return []
    with transaction.atomic():
        members = dict(
            Membership.objects.for_org(org)
            .filter(pk__in={draft.recipient_id for draft in drafts})
            .values_list("pk", "notify_by_email")
        )
        wanted: dict[tuple[int, str], NotificationDraft] = {}
        for draft in drafts:
            if draft.recipient_id in members:
                wanted.setdefault((draft.recipient_id, draft.dedupe_key), draft)
        if not wanted:
            return []
        recipients = {recipient for recipient, _key in wanted}
        keys = {key for _recipient, key in wanted}
        existing = set(
            Notification.objects.for_org(org)
            .filter(recipient_id__in=recipients, dedupe_key__in=keys)
            .values_list("recipient_id", "dedupe_key")
        )
        now = timezone.now()
        Notification.objects.bulk_create(
            [Notification(organization=org, recipient_id=draft.recipient_id, kind=draft.kind,
                          title=draft.title, body=draft.body, url=draft.url,
                          dedupe_key=draft.dedupe_key, created_at=now)
             for pair, draft in wanted.items() if pair not in existing],
            # Another run inserting the same pair meanwhile wins; this one skips it.
            ignore_conflicts=True,
        )
        # The rows this call inserted carry its own timestamp; a row of a concurrent run of
        # the same event carries that run's.
        created = [
            row for row in Notification.objects.for_org(org).filter(
                recipient_id__in=recipients, dedupe_key__in=keys, created_at=now)
            if (row.recipient_id, row.dedupe_key) in wanted
        ] if len(wanted) > len(existing) else []
        to_email = [row.pk for row in created if row.kind in (members[row.recipient_id] or ())]
        if to_email:
            transaction.on_commit(_email_later(to_email), robust=True)
    if created:
        logger.info("notifications created", extra={
            "organization_id": org.pk, "count": len(created),
            "kinds": sorted({row.kind for row in created})})
    return created


def notifications_create(
    *, org: Organization, recipient_ids: Iterable[int], kind: str, title: str, url: str = "",
    dedupe_key: str, body: str = "",
) -> list[Notification]:
    """The same notification for each of ``recipient_ids`` (memberships of ``org``), now: for
    jobs already outside a transaction, or inside one whose rows it belongs with. Returns
    only the ones created (none twice for the same person and ``dedupe_key``); emails those
    who chose email for ``kind`` after the commit. Raises ``ValueError`` as
    ``notifications_create_many``."""
    return notifications_create_many(org=org, drafts=[
        NotificationDraft(recipient_id=recipient_id, kind=kind, title=title,
                          dedupe_key=dedupe_key, url=url, body=body)
        for recipient_id in dict.fromkeys(recipient_ids)
    ])


def _create_later(org: Organization, drafts: list[NotificationDraft]):
    """The after-commit half of ``notify_after_commit``: it holds ids and text, so it never
    reaches back into the caller's rows."""

    def create_notifications():
        notifications_create_many(org=org, drafts=drafts)

    return create_notifications


def notify_many_after_commit(*, org: Organization, drafts: Iterable[NotificationDraft]) -> None:
    """``notify_after_commit`` for many notifications at once (a job that assigned many
    leads): one creation after the commit, however many drafts. Raises ``ValueError`` now,
    in the caller, for a draft that could never be created."""
    drafts = [_checked(draft) for draft in drafts]
    if drafts:
        # Robust: a notification that fails to be created is logged and never stops the
        # caller's other after-commit work (its drains, its emails).
        transaction.on_commit(_create_later(org, drafts), robust=True)


def notify_after_commit(
    *, org: Organization, recipient_ids: Iterable[int], kind: str, title: str, url: str = "",
    dedupe_key: str, body: str = "",
) -> None:
    """After the current transaction commits, create one notification per recipient
    membership (none twice for the same recipient and ``dedupe_key``: a job run twice, a
    retried task), then email those recipients who chose email for this kind. A rolled-back
    transaction notifies nobody; outside a transaction it happens at once."""
    notify_many_after_commit(org=org, drafts=[
        NotificationDraft(recipient_id=recipient_id, kind=kind, title=title,
                          dedupe_key=dedupe_key, url=url, body=body)
        for recipient_id in dict.fromkeys(recipient_ids)
    ])


def _email_later(notification_ids: list[int]):
    def enqueue_emails():
        from flexoraa.tasks import notifications_email

        notifications_email.delay(notification_ids)

    return enqueue_emails


def _recipient_checked(org: Organization, recipient: Membership) -> None:
    if recipient is None or recipient.organization_id != org.pk:
        raise NotFound("No such member.")


def notifications_mark_read(
    *, org: Organization, recipient: Membership, ids: Iterable[int] | None = None,
    at: datetime | None = None,
) -> int:
    """Mark ``recipient``'s unread notifications read: those of ``ids``, or all of them
    (``None``). Ids of anyone else's notifications change nothing. Returns how many it marked.
    Read state is the person's own view of their centre, so it is not audited.
    Raises ``NotFound`` for a recipient of another tenant."""
    _recipient_checked(org, recipient)
    unread = Notification.objects.for_org(org).filter(recipient=recipient, read_at__isnull=True)
    if ids is not None:
        ids = {int(pk) for pk in ids}
        if not ids:
            return 0
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=at or timezone.now())


def notification_open(*, org: Organization, recipient: Membership, notification_id: int
                      ) -> Notification:
    """The person opens one of their notifications: it is read from now on. Raises
    ``NotFound`` for a notification that is not theirs (another person's, another tenant's,
    or none)."""
    _recipient_checked(org, recipient)
    notification = Notification.objects.for_org(org).filter(
        recipient=recipient, pk=notification_id).first()
    if notification is None:
        raise NotFound("No such notification.")
    if notification.read_at is None:
        notification.read_at = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
            read_at=notification.read_at)
    return notification


def membership_email_kinds_set(
    *, org: Organization, membership: Membership, kinds: Iterable[str], actor: Actor
) -> Membership:
    """The person chooses which notification kinds also come to them by email. Only they
    choose (or the platform, for a seed). Raises ``NotFound`` across tenants,
    ``PermissionDenied`` for anyone else, ``ValidationFailed`` naming an unknown kind."""
    if membership.organization_id != org.pk:
        raise NotFound("No such member.")
    if not actor.is_system and actor.membership_id != membership.pk:
        raise PermissionDenied("Each person chooses their own notification emails.")
    kinds = list(dict.fromkeys(kinds))
    unknown = sorted(set(kinds) - set(NotificationKind.values))
    if unknown:
        message = (f"Unknown notification kind {', '.join(unknown)}; choose among "
                   f"{', '.join(NotificationKind.values)}.")
        raise ValidationFailed(f"notify_by_email: {message}",
                               fields={"notify_by_email": [message]})
    # Kept in the order of the kinds, so the stored list reads the same whatever was ticked.
    chosen = [kind for kind in NotificationKind.values if kind in kinds]
    with transaction.atomic():
        locked = Membership.objects.for_org(org).select_for_update().get(pk=membership.pk)
        if locked.notify_by_email == chosen:
            return locked
        before = locked.notify_by_email
        locked.notify_by_email = chosen
        locked.save(update_fields=["notify_by_email"])
        audit_event_record(org=org, actor=actor, action="membership.email_notifications",
                           target=locked, data={"kinds": chosen, "was": before})
    return locked


ERASED_TITLE = "About someone whose personal data was erased"


def notifications_redact(*, org: Organization, url_prefixes: Iterable[str]) -> int:
    """Overwrite the title and body of every notification of ``org`` that links under one
    of ``url_prefixes`` (a lead's page ``/leads/42/``, a conversation's ``/inbox/7/``): they
    name the person. For anonymization, inside its transaction; the rows, their kind, link
    and read state stay. Returns how many it overwrote."""
    prefixes = [prefix for prefix in url_prefixes if prefix.startswith("/")]
    if not prefixes:
        return 0
    match = Q()
    for prefix in prefixes:
        # A prefix ends at a path segment: /leads/4/ is not /leads/42/.
        match |= Q(url__startswith=prefix if prefix.endswith("/") else f"{prefix}/")
        match |= Q(url=prefix.rstrip("/"))
    return Notification.objects.for_org(org).filter(match).exclude(
        title=ERASED_TITLE, body="").update(title=ERASED_TITLE, body="")

"""Telling people things: a person's notification centre (stored notifications, read or
unread per person, some also by email) and emails to a tenant's managers.

Services create notifications after their transaction commits, never through signals:

    from flexoraa.notifications import notify_after_commit

    notify_after_commit(org=org, recipient_ids=[lead.owner_id], kind=NotificationKind.LEAD_HOT,
                        title=f"HOT lead: {lead}", url=f"/leads/{lead.pk}/",
                        dedupe_key=f"lead:{lead.pk}:hot:{at.isoformat()}")
"""

from flexoraa.notifications.managers import email_managers, manager_emails
from flexoraa.notifications.services import (
    NotificationDraft,
    membership_email_kinds_set,
    notification_open,
    notifications_create,
    notifications_create_many,
    notifications_mark_read,
    notifications_redact,
    notify_after_commit,
    notify_many_after_commit,
)

__all__ = [
    "NotificationDraft",
    "email_managers",
    "manager_emails",
    "membership_email_kinds_set",
    "notification_open",
    "notifications_create",
    "notifications_create_many",
    "notifications_mark_read",
    "notifications_redact",
    "notify_after_commit",
    "notify_many_after_commit",
]

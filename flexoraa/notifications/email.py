"""A person's notifications by email, for the kinds they chose. Sent by a worker after the
notifications' commit; a failure leaves the notification in the centre, unmailed, for the
task's retries."""

import logging
from datetime import datetime

from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone

from flexoraa.models import Notification, NotificationKind

logger = logging.getLogger(__name__)


def _site_url(path: str) -> str:
    return f"{settings.SITE_URL.rstrip('/')}{path}"


def email_text(notification: Notification) -> tuple[str, str]:
    """Subject and body of one notification's email."""
    org = notification.organization
    lines = [notification.title]
    if notification.body:
        lines += ["", notification.body]
    if notification.url:
        lines += ["", f"Open it: {_site_url(notification.url)}"]
    label = NotificationKind(notification.kind).label
    lines += ["", f"You get this by email because you chose \"{label}\". Change what comes "
                  f"by email on your notifications page: {_site_url('/notifications/')}"]
    return f"[{org.name}] {notification.title}", "\n".join(lines) + "\n"


def notifications_email(*, notification_ids: list[int], now: datetime | None = None) -> int:
    """Email each of these notifications not emailed yet to its person, when they still want
    its kind by email and have an address; returns how many went out. Each is claimed
    (``emailed_at``) before it is sent, so two runs never send one twice; a send that fails
    gives its claim back and raises, for the task to retry."""
    rows = (
        Notification.objects.filter(pk__in=notification_ids, emailed_at__isnull=True)
        .select_related("recipient__user", "organization").order_by("pk")
    )
    sent = 0
    for notification in rows:
        user = notification.recipient.user
        if (notification.kind not in (notification.recipient.notify_by_email or ())
                or not user.is_active or not user.email):
            continue
        claimed_at = now or timezone.now()
        claimed = Notification.objects.filter(
            pk=notification.pk, emailed_at__isnull=True).update(emailed_at=claimed_at)
        if not claimed:
            continue  # another run has it
        subject, body = email_text(notification)
        try:
            send_mail(subject=subject, message=body, from_email=settings.DEFAULT_FROM_EMAIL,
                      recipient_list=[user.email])
        except Exception:
            Notification.objects.filter(pk=notification.pk, emailed_at=claimed_at).update(
                emailed_at=None)
            logger.warning("notification email failed",
                           extra={"notification_id": notification.pk,
                                  "organization_id": notification.organization_id})
            raise
        sent += 1
    return sent

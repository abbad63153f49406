"""Telling a tenant's managers something by email. Callers send after their transaction has
committed (``transaction.on_commit``), so a rolled-back change never mails anyone."""

import logging

from django.conf import settings
from django.core.mail import send_mail

from flexoraa.models import MANAGING_ROLES, Membership, Organization

logger = logging.getLogger(__name__)


def manager_emails(org: Organization) -> list[str]:
    return sorted(
        Membership.objects.for_org(org)
        .filter(role__in=MANAGING_ROLES, user__is_active=True)
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )


def email_managers(org: Organization, *, subject: str, body: str) -> int:
    """Email the tenant's owners and managers; returns how many were addressed."""
    recipients = manager_emails(org)
    if not recipients:
        logger.warning("no manager to email", extra={"organization_id": org.pk})
        return 0
    send_mail(
        subject=f"[{org.name}] {subject}", message=body,
        from_email=settings.DEFAULT_FROM_EMAIL, recipient_list=recipients,
    )
    return len(recipients)

"""Low-balance alerts and the threshold they watch."""

import logging
from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from billing.models import TokenWallet
from billing.services.wallet import wallet_ensure
from flexoraa.actors import Actor
from flexoraa.errors import ValidationFailed
from flexoraa.models import Organization
from flexoraa.notifications import email_managers
from flexoraa.services import audit_event_record

logger = logging.getLogger(__name__)


LOW_BALANCE_ALERTS_ACTOR = Actor.system("job:billing.low_balance_alerts")


def low_balance_alerts_send(
    *, now: datetime | None = None, actor: Actor = LOW_BALANCE_ALERTS_ACTOR
) -> dict:
    """Tell each tenant whose balance has dropped below its threshold, once per crossing.
    Only the hourly job runs this, so its actor is that job unless a caller names another.

    One conditional UPDATE claims the wallets (below threshold, not yet told); a credit or a
    lower threshold that brings the balance back re-arms the alert for the next crossing.
    """
    now = now or timezone.now()
    with transaction.atomic():
        rearmed = TokenWallet.objects.filter(
            low_balance_alerted_at__isnull=False, balance__gte=F("low_balance_threshold")
        ).update(low_balance_alerted_at=None)
        due = list(
            TokenWallet.objects.filter(
                low_balance_alerted_at__isnull=True, balance__lt=F("low_balance_threshold")
            ).select_for_update(skip_locked=True).values_list(
                "pk", "organization_id", "balance", "low_balance_threshold")
        )
        TokenWallet.objects.filter(pk__in=[row[0] for row in due]).update(
            low_balance_alerted_at=now
        )
        orgs = Organization.objects.in_bulk([row[1] for row in due])
        for _pk, org_id, balance, threshold in due:
            audit_event_record(org=orgs[org_id], actor=actor, action="wallet.low_balance_alerted",
                               data={"balance": balance, "threshold": threshold})
        transaction.on_commit(lambda: _tell(orgs, due))
    return {"alerted": len(due), "rearmed": rearmed}


def _tell(orgs: dict, due: list) -> None:
    from django.conf import settings

    for _pk, org_id, balance, threshold in due:
        try:
            email_managers(
                orgs[org_id], subject="AI tokens are running low",
                body=(f"Your token balance is {balance:,}, below your alert level of "
                      f"{threshold:,}. When it reaches zero the AI agent stops replying.\n"
                      f"Buy tokens: {settings.SITE_URL.rstrip('/')}/billing/\n"),
            )
        except Exception:
            # The alert is recorded and shown on the dashboard; a mail outage must not undo it.
            logger.exception("low balance email failed", extra={"organization_id": org_id})


def wallet_threshold_update(*, org: Organization, threshold: int, actor: Actor) -> TokenWallet:
    """Set the low-balance alert level. Raises ``ValidationFailed`` for a negative or
    non-integer value."""
    if not isinstance(threshold, int) or isinstance(threshold, bool) or not (
        0 <= threshold <= 10**12
    ):
        raise ValidationFailed("low_balance_threshold: Give a whole number of tokens, 0 or more.",
                               fields={"low_balance_threshold": ["0 or more."]})
    wallet = wallet_ensure(org)
    with transaction.atomic():
        TokenWallet.objects.filter(pk=wallet.pk).update(low_balance_threshold=threshold)
        # A threshold now below the balance re-arms the alert for the next crossing.
        TokenWallet.objects.filter(pk=wallet.pk, balance__gte=threshold).update(
            low_balance_alerted_at=None
        )
        audit_event_record(org=org, actor=actor, action="wallet.threshold_updated",
                           target=wallet, data={"threshold": threshold})
    wallet.refresh_from_db()
    return wallet

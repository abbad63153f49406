import logging
from smtplib import SMTPException

from celery import shared_task

from flexoraa import selectors
from flexoraa.jobs import PERIODIC_QUEUE, job_run
from flexoraa.notifications import email as notification_emails
from flexoraa.webhooks import services as webhook_services
from flexoraa.webhooks.services import TRANSIENT_DB_ERRORS

logger = logging.getLogger(__name__)


def _check_audit_chains() -> dict:
    breaks = selectors.audit_chain_breaks()
    for slug, found in breaks.items():
        logger.error(
            "audit chain broken", extra={"organization": slug, "event_id": found.event_id}
        )
    return {"broken": {slug: found.event_id for slug, found in breaks.items()}}


@shared_task(name="flexoraa.audit_chain_check", queue=PERIODIC_QUEUE)
def audit_chain_check():
    return job_run("flexoraa.audit_chain_check", _check_audit_chains)


# --- the webhook inbox -----------------------------------------------------------------------

WEBHOOKS_QUEUE = "webhooks"


@shared_task(name="flexoraa.process_webhook_deliveries", queue=WEBHOOKS_QUEUE,
             autoretry_for=TRANSIENT_DB_ERRORS, max_retries=5, retry_backoff=5,
             retry_backoff_max=300, retry_jitter=True)
def process_webhook_deliveries(delivery_ids: list[int]) -> dict:
    """Apply stored webhook deliveries of any provider, each once."""
    return webhook_services.deliveries_process(delivery_ids=delivery_ids)


@shared_task(name="flexoraa.webhook_deliveries_redrive", queue=PERIODIC_QUEUE)
def webhook_deliveries_redrive():
    return job_run("flexoraa.webhook_deliveries_redrive", webhook_services.deliveries_redrive)


# --- the notification centre -----------------------------------------------------------------

@shared_task(name="flexoraa.notifications_email", autoretry_for=(SMTPException, OSError),
             retry_backoff=True, max_retries=5)
def notifications_email(notification_ids: list[int]) -> int:
    """Email the notifications of these ids to their people, each once (queued after the
    commit that created them)."""
    return notification_emails.notifications_email(notification_ids=notification_ids)

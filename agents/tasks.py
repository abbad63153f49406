"""Thin Celery tasks: load ids, call one service."""

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from agents.errors import ProviderUnavailable
from agents.services import gmail, outbound
from flexoraa.jobs import PERIODIC_QUEUE, job_run

# A lost connection, a lock timeout or a deadlock victim: worth another try.
TRANSIENT_ERRORS = (OperationalError, InterfaceError)


# --- Outbound --------------------------------------------------------------------------------

@shared_task(name="agents.send_message", bind=True, max_retries=None)
def send_message(self, message_id: int) -> str:
    """Hand one queued message to its provider. Timeouts and 5xx are retried with growing
    waits up to MESSAGE_SEND_MAX_RETRIES; then the message is marked failed."""
    try:
        return outbound.message_deliver(message_id=message_id)
    except (ProviderUnavailable, *TRANSIENT_ERRORS) as exc:
        if self.request.retries >= settings.MESSAGE_SEND_MAX_RETRIES:
            return outbound.message_give_up(message_id=message_id, reason=str(exc))
        raise self.retry(exc=exc, countdown=outbound.retry_delay(self.request.retries)) from exc


@shared_task(name="agents.scheduled_messages_send", queue=PERIODIC_QUEUE)
def scheduled_messages_send():
    return job_run("agents.scheduled_messages_send", outbound.scheduled_messages_release)


@shared_task(name="agents.cold_recovery", queue=PERIODIC_QUEUE)
def cold_recovery():
    return job_run("agents.cold_recovery", outbound.cold_recovery_run)


# --- Gmail -----------------------------------------------------------------------------------

@shared_task(name="agents.gmail_poll_all", queue=PERIODIC_QUEUE)
def gmail_poll_all():
    return job_run("agents.gmail_poll_all", gmail.mailboxes_poll_enqueue)


@shared_task(name="agents.gmail_poll", autoretry_for=TRANSIENT_ERRORS, max_retries=3,
             retry_backoff=10)
def gmail_poll(channel_id: int) -> dict:
    """Fetch one mailbox's new emails since its stored historyId."""
    return gmail.mailbox_poll(channel_id=channel_id)

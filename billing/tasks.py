"""Thin Celery tasks of the token economy."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from billing import services
from flexoraa.jobs import PERIODIC_QUEUE, job_run

WEBHOOKS_QUEUE = "webhooks"
# A lost connection, a lock timeout or a deadlock victim: worth another try. Anything else
# is counted on the delivery and left to the redrive job, which gives up after a few.
TRANSIENT_ERRORS = (OperationalError, InterfaceError)


@shared_task(name="billing.low_balance_alerts", queue=PERIODIC_QUEUE)
def low_balance_alerts():
    return job_run("billing.low_balance_alerts", services.low_balance_alerts_send)


@shared_task(name="billing.process_razorpay_event", queue=WEBHOOKS_QUEUE,
             autoretry_for=TRANSIENT_ERRORS, max_retries=5, retry_backoff=5,
             retry_backoff_max=300, retry_jitter=True)
def process_razorpay_event(delivery_id: int) -> str:
    """Act on one stored Razorpay webhook. Safe to run twice: the second run finds the
    delivery processed and does nothing."""
    return services.payment_event_process(delivery_id=delivery_id)


@shared_task(name="billing.razorpay_events_redrive", queue=PERIODIC_QUEUE)
def razorpay_events_redrive():
    return job_run("billing.razorpay_events_redrive", services.razorpay_events_redrive)
